-- Mark as retired the units Kolada no longer lists (registered relation listed_units: every unit
-- id in Kolada's answer, rejected records included). Their values stay. Returns the ids and
-- titles newly retired.
UPDATE core.municipality SET is_retired = true
WHERE NOT coalesce(is_retired, false) AND municipality_id NOT IN (SELECT municipality_id FROM listed_units)
RETURNING municipality_id, title
