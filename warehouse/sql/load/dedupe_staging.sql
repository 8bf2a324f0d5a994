-- A key fetched more than once (Kolada sent a duplicated object). Identical copies: the first is
-- kept and the others rejected. Copies that disagree: all are rejected, since nothing tells which
-- one is right, and the value already held (if any) stays. Parameters: $run_id, $now.
CREATE OR REPLACE TEMP TABLE duplicate_copy AS
WITH keyed AS (
    SELECT rowid AS row_id, *,
           row_number() OVER (PARTITION BY kpi_id, municipality_id, year, gender ORDER BY rowid) AS copy_no,
           count(*) OVER (PARTITION BY kpi_id, municipality_id, year, gender) AS copies
    FROM staging.kpi_value
), versions AS (
    SELECT kpi_id, municipality_id, year, gender,
           count(DISTINCT coalesce(CAST(value AS VARCHAR), 'null') || CAST(is_deleted AS VARCHAR)) AS versions
    FROM keyed WHERE copies > 1
    GROUP BY ALL
)
SELECT k.*, v.versions
FROM keyed k JOIN versions v USING (kpi_id, municipality_id, year, gender)
WHERE v.versions > 1 OR k.copy_no > 1;

INSERT INTO meta.rejected_row
SELECT $run_id, kpi_id, municipality_id, year, gender,
       'unique_key',
       CASE WHEN versions > 1
            THEN 'conflicting duplicates: ' || copies || ' copies of this key with different values; all rejected'
            ELSE 'duplicate: ' || copies || ' identical copies of this key; the first is kept' END,
       CAST(json_object('kpi', kpi_id, 'municipality', municipality_id, 'period', year, 'gender', gender,
                        'value', value, 'count', count, 'status', status, 'isdeleted', is_deleted) AS VARCHAR),
       source_url, $now
FROM duplicate_copy;

DELETE FROM staging.kpi_value WHERE rowid IN (SELECT row_id FROM duplicate_copy);
