-- Kolada's group of all municipalities, if it lists one (the view core.all_municipalities_group).
SELECT municipality_group_id FROM core.all_municipalities_group
