-- The group-mean mismatches of run $run_id, in a stable order.
SELECT kpi_id, year, gender, group_id, computed_mean, kolada_value
FROM meta.group_mean_mismatch
WHERE run_id = $run_id
ORDER BY kpi_id, year, gender, group_id
