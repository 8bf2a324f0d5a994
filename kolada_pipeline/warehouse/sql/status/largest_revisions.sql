-- The five largest revisions of run $run_id (a deleted value has new_value NULL).
SELECT kpi_id, municipality_id, year, gender, old_value, new_value, change
FROM core.kpi_value_revision
WHERE run_id = $run_id
ORDER BY abs(coalesce(new_value, 0) - old_value) DESC, kpi_id, municipality_id, year, gender
LIMIT 5;
