-- Upsert Kolada's units (registered relation units). A unit listed again is no longer retired.
INSERT INTO core.municipality (municipality_id, title, type, is_retired)
SELECT id, title, type, false FROM units
ON CONFLICT (municipality_id) DO UPDATE SET
    title = excluded.title, type = excluded.type, is_retired = false
