-- The values a run inserted or revised (parameter $now: the run's timestamp), for the publish
-- gate's core.kpi_value suite.
SELECT kpi_id, municipality_id, year, gender, value, count, status, first_seen_at, last_changed_at
FROM core.kpi_value
WHERE first_seen_at = $now OR last_changed_at = $now
