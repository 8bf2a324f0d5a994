-- Kolada's municipality groups' members, as the warehouse holds them.
SELECT municipality_group_id, municipality_id, member_title
FROM core.municipality_group_member
ORDER BY municipality_group_id, municipality_id
