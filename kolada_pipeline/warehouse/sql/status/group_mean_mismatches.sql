-- The group means of run $run_id that differ from Kolada's own group values (the cross-check).
SELECT kpi_id, year, gender, group_id, computed_mean, kolada_value
FROM meta.group_mean_mismatch
WHERE run_id = $run_id
ORDER BY kpi_id, year, gender, group_id
LIMIT 20
