-- The model's ($focus) organisation: every unit with its parent, kind and title.
SELECT unit_id, parent_id, title, kind
FROM mapping.org_unit
WHERE focus_municipality_id = $focus
ORDER BY unit_id;
