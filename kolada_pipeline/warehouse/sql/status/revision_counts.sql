-- How many values run $run_id revised, by kind of change (revised, deleted, ...).
SELECT change, count(*) AS n
FROM core.kpi_value_revision
WHERE run_id = $run_id
GROUP BY change
ORDER BY change;
