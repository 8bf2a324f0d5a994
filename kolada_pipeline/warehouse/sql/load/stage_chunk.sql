-- One fetched chunk's good rows into staging (registered relations new_source: pages not seen
-- before, and good_rows: the rows, each pointing at its page).
INSERT INTO staging.source SELECT source_id, url FROM new_source;
INSERT INTO staging.kpi_value
SELECT kpi_id, municipality_id, year, gender, value, count, status, is_deleted, source_id FROM good_rows;
