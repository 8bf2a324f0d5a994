-- Kolada's municipality groups, as the warehouse holds them.
SELECT municipality_group_id, title FROM core.municipality_group ORDER BY municipality_group_id
