-- A key fetched more than once (Kolada sent a duplicated object). Identical copies: the first is
-- kept and the others rejected. Copies that disagree: all are rejected, since nothing tells which
-- one is right, and the value already held (if any) stays. Parameters: $run_id, $now.
-- Duplicates are rare: an aggregate finds their keys first, so the row-by-row work below only
-- ever touches those keys, never the whole (possibly millions of rows) staging table.
CREATE OR REPLACE TEMP TABLE duplicate_key AS
SELECT kpi_id, municipality_id, year, gender, count(*) AS copies,
       count(DISTINCT coalesce(CAST(value AS VARCHAR), 'null') || CAST(is_deleted AS VARCHAR)) AS versions
FROM staging.kpi_value
GROUP BY kpi_id, municipality_id, year, gender
HAVING count(*) > 1;

CREATE OR REPLACE TEMP TABLE duplicate_copy AS
SELECT *
FROM (
    SELECT s.rowid AS row_id, s.*, d.copies, d.versions,
           row_number() OVER (PARTITION BY s.kpi_id, s.municipality_id, s.year, s.gender ORDER BY s.rowid) AS copy_no
    FROM staging.kpi_value s
    JOIN duplicate_key d USING (kpi_id, municipality_id, year, gender)
)
WHERE versions > 1 OR copy_no > 1;

INSERT INTO staging.rejected_row
SELECT $run_id, c.kpi_id, c.municipality_id, c.year, c.gender,
       'unique_key',
       CASE WHEN c.versions > 1
            THEN 'conflicting duplicates: ' || c.copies || ' copies of this key with different values; all rejected'
            ELSE 'duplicate: ' || c.copies || ' identical copies of this key; the first is kept' END,
       CAST(json_object('kpi', c.kpi_id, 'municipality', c.municipality_id, 'period', c.year, 'gender', c.gender,
                        'value', c.value, 'count', c.count, 'status', c.status, 'isdeleted', c.is_deleted) AS VARCHAR),
       src.url, $now
FROM duplicate_copy c
LEFT JOIN staging.source src USING (source_id);

DELETE FROM staging.kpi_value WHERE rowid IN (SELECT row_id FROM duplicate_copy);
