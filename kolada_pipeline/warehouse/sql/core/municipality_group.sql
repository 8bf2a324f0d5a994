-- Kolada's municipality groups (G…), e.g. G33615 Östergötlands läns kommuner, with members.
CREATE TABLE IF NOT EXISTS core.municipality_group (
    municipality_group_id VARCHAR PRIMARY KEY,
    title                 VARCHAR NOT NULL
);
CREATE TABLE IF NOT EXISTS core.municipality_group_member (
    municipality_group_id VARCHAR NOT NULL,
    municipality_id       VARCHAR NOT NULL,
    member_title          VARCHAR,
    PRIMARY KEY (municipality_group_id, municipality_id)
);
COMMENT ON TABLE core.municipality_group IS 'Kolada municipality groups (G…) and their members';
