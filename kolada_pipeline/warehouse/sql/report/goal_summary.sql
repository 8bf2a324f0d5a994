-- Per goal and compared municipality: the KPI counts of the model's ($focus) newest year with data.
SELECT goal, municipality_id, kpis_mapped, kpis_with_value, green, yellow, red
FROM mart.goal_summary
WHERE focus_municipality_id = $focus
  AND year = (SELECT max(year) FROM mart.goal_summary
              WHERE focus_municipality_id = $focus AND kpis_with_value > 0)
ORDER BY goal, municipality_id;
