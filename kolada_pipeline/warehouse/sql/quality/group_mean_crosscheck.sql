-- Cross-check each computed group mean against Kolada's own value for the group, fetched this run
-- (staging.group_value): differences above 1e-9 relative are recorded for run $run_id. A mean
-- Kolada has and we do not (or the other way round) is a mismatch too.
DELETE FROM meta.group_mean_mismatch WHERE run_id = $run_id;
INSERT INTO meta.group_mean_mismatch
SELECT DISTINCT $run_id, c.kpi_id, c.year, c.gender, c.group_id,
       c.group_mean, g.value, c.members_with_value, g.count
FROM mart.kpi_group_comparison c
JOIN staging.group_value g
  ON g.kpi_id = c.kpi_id AND g.group_id = c.group_id AND g.year = c.year AND g.gender = c.gender
WHERE c.group_mean IS DISTINCT FROM g.value
  AND (c.group_mean IS NULL OR g.value IS NULL
       OR abs(c.group_mean - g.value) > 1e-9 * greatest(abs(c.group_mean), abs(g.value)));
