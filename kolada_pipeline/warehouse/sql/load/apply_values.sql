-- Applies a run's fetched values (staging.kpi_value) for one batch of KPIs (the registered
-- relation apply_batch: kpi_id) to core.kpi_value and records every revision and deletion.
-- load.apply_values runs it once per batch, so memory holds one batch's changes, not the run's.
-- Parameters: $run_id, $now.
--   KPIs fetched in full (staging.fetched_kpi): staging is the whole truth for them, so a held
--                    value missing from it was deleted by Kolada.
--   other KPIs (incremental): staging holds only what changed since from_date; deletions
--                    arrive as isdeleted rows.
-- A null value (Kolada's "no value" placeholder) or an isdeleted row removes a held value.

CREATE OR REPLACE TEMP TABLE incoming AS
SELECT kpi_id, municipality_id, year, gender,
       CASE WHEN is_deleted THEN NULL ELSE value END AS value,
       count, status
FROM staging.kpi_value
WHERE kpi_id IN (SELECT kpi_id FROM apply_batch);

CREATE OR REPLACE TEMP TABLE value_change AS
-- new or revised values
SELECT i.kpi_id, i.municipality_id, i.year, i.gender, i.value, i.count, i.status,
       c.value AS old_value,
       CASE WHEN c.kpi_id IS NULL THEN 'inserted'
            WHEN i.value IS DISTINCT FROM c.value THEN 'revised'
            ELSE 'restated' END AS change
FROM incoming i
LEFT JOIN core.kpi_value c USING (kpi_id, municipality_id, year, gender)
WHERE i.value IS NOT NULL
  AND (c.kpi_id IS NULL
       OR i.value IS DISTINCT FROM c.value
       OR i.count IS DISTINCT FROM c.count
       OR i.status IS DISTINCT FROM c.status)
UNION ALL
-- values Kolada removed: a deletion or placeholder arrived for them ...
SELECT c.kpi_id, c.municipality_id, c.year, c.gender, NULL, NULL, NULL, c.value, 'deleted'
FROM core.kpi_value c
JOIN incoming i USING (kpi_id, municipality_id, year, gender)
WHERE i.value IS NULL
UNION ALL
-- ... or, for a KPI fetched in full, they are simply no longer there. A key this run
-- quarantined is not "no longer there": Kolada sent something for it, so the value held stays.
-- (A rejected row's unknown or malformed key parts match any held value.) Nor is a unit Kolada
-- stopped listing: it is no longer asked for, so its absence says nothing about its values.
SELECT c.kpi_id, c.municipality_id, c.year, c.gender, NULL, NULL, NULL, c.value, 'deleted'
FROM core.kpi_value c
WHERE c.kpi_id IN (SELECT kpi_id FROM staging.fetched_kpi)
  AND c.kpi_id IN (SELECT kpi_id FROM apply_batch)
  AND c.municipality_id NOT IN (
      SELECT municipality_id FROM core.municipality WHERE coalesce(is_retired, false))
  AND NOT EXISTS (
      SELECT 1 FROM incoming i
      WHERE i.kpi_id = c.kpi_id AND i.municipality_id = c.municipality_id
        AND i.year = c.year AND i.gender = c.gender)
  AND NOT EXISTS (
      SELECT 1 FROM meta.rejected_row r
      WHERE r.run_id = $run_id
        AND (r.kpi_id = c.kpi_id OR r.kpi_id IS NULL OR NOT regexp_full_match(r.kpi_id, '[NU]\d{5}'))
        AND (r.municipality_id = c.municipality_id OR r.municipality_id IS NULL)
        AND (r.year = c.year OR r.year IS NULL)
        AND (r.gender = c.gender OR r.gender IS NULL OR r.gender NOT IN ('T', 'K', 'M')));

INSERT INTO core.kpi_value_revision
SELECT kpi_id, municipality_id, year, gender, old_value, value, change, $now, $run_id
FROM value_change
WHERE change IN ('revised', 'deleted');

DELETE FROM core.kpi_value c
USING value_change d
WHERE d.change = 'deleted'
  AND c.kpi_id = d.kpi_id AND c.municipality_id = d.municipality_id
  AND c.year = d.year AND c.gender = d.gender;

UPDATE core.kpi_value c
SET value = d.value,
    count = d.count,
    status = d.status,
    last_changed_at = CASE WHEN d.change = 'revised' THEN $now ELSE c.last_changed_at END
FROM value_change d
WHERE d.change IN ('revised', 'restated')
  AND c.kpi_id = d.kpi_id AND c.municipality_id = d.municipality_id
  AND c.year = d.year AND c.gender = d.gender;

INSERT INTO core.kpi_value
SELECT kpi_id, municipality_id, year, gender, value, count, status, $now, $now
FROM value_change
WHERE change = 'inserted';
