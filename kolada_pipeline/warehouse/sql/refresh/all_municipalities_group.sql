-- Kolada's group of all municipalities (G2328 "Alla kommuner" today): the smallest municipality
-- group that has every municipality (type K) the warehouse knows as a member. Its data objects
-- carry Kolada's own count of municipalities with a value, for quality/completeness.sql.
SELECT g.municipality_group_id
FROM core.municipality_group_member g
JOIN core.municipality m USING (municipality_id)
GROUP BY g.municipality_group_id
HAVING count(DISTINCT m.municipality_id) FILTER (WHERE m.type = 'K')
       = (SELECT count(*) FROM core.municipality WHERE type = 'K')
ORDER BY count(*), g.municipality_group_id
LIMIT 1
