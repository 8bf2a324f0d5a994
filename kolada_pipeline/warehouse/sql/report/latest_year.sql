-- The newest year in which any of the model's ($focus) goals has a KPI with a value.
SELECT max(year) AS latest_year
FROM mart.goal_summary
WHERE focus_municipality_id = $focus AND kpis_with_value > 0;
