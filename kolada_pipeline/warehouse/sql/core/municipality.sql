-- Kolada's units: the 290 municipalities (type K), the 21 regions and Riket 0000 (type L).
-- A unit that disappears from Kolada's unit list is kept, marked retired, with all its values:
-- "no longer listed" is never read as "deleted".
CREATE TABLE IF NOT EXISTS core.municipality (
    municipality_id VARCHAR PRIMARY KEY,
    title           VARCHAR NOT NULL,
    type            VARCHAR NOT NULL CHECK (type IN ('K', 'L')),
    is_retired      BOOLEAN DEFAULT false
);
-- Warehouses built before units could retire gain the column (NULL reads as "listed").
ALTER TABLE core.municipality ADD COLUMN IF NOT EXISTS is_retired BOOLEAN DEFAULT false;
COMMENT ON TABLE core.municipality IS 'Kolada units: municipalities (K), regions and Riket 0000 (L); units Kolada no longer lists are kept with is_retired = true';
COMMENT ON COLUMN core.municipality.type IS 'K = municipality, L = region or Riket';
COMMENT ON COLUMN core.municipality.is_retired IS 'true when the unit was known before but Kolada no longer lists it; its values are kept';
