-- Kolada's municipality groups (G…), e.g. G33615 Östergötlands läns kommuner, with members.
-- Key columns are not null by being the key.
CREATE TABLE IF NOT EXISTS core.municipality_group (
    municipality_group_id VARCHAR PRIMARY KEY,
    title                 VARCHAR NOT NULL
);
CREATE TABLE IF NOT EXISTS core.municipality_group_member (
    municipality_group_id VARCHAR,
    municipality_id       VARCHAR,
    member_title          VARCHAR,
    PRIMARY KEY (municipality_group_id, municipality_id)
);
COMMENT ON TABLE core.municipality_group IS 'Kolada municipality groups (G…) and their members';
-- Kolada's group of all municipalities (G2328 "Alla kommuner" today): the smallest municipality
-- group that has every municipality (type K) the warehouse knows as a member. Its data objects
-- carry Kolada's own count of municipalities with a value (quality/completeness.sql), and it is
-- the "all" comparison group (mart/comparison_group.sql).
CREATE OR REPLACE VIEW core.all_municipalities_group AS
SELECT g.municipality_group_id
FROM core.municipality_group_member g
JOIN core.municipality m USING (municipality_id)
GROUP BY g.municipality_group_id
HAVING count(DISTINCT m.municipality_id) FILTER (WHERE m.type = 'K')
       = (SELECT count(*) FROM core.municipality WHERE type = 'K')
ORDER BY count(*), g.municipality_group_id
LIMIT 1;
