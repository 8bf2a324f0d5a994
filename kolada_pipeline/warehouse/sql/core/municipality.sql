-- Kolada's units: the 290 municipalities (type K), the 21 regions and Riket 0000 (type L).
CREATE TABLE IF NOT EXISTS core.municipality (
    municipality_id VARCHAR PRIMARY KEY,
    title           VARCHAR NOT NULL,
    type            VARCHAR NOT NULL CHECK (type IN ('K', 'L'))
);
COMMENT ON TABLE core.municipality IS 'Kolada units: municipalities (K), regions and Riket 0000 (L)';
COMMENT ON COLUMN core.municipality.type IS 'K = municipality, L = region or Riket';
