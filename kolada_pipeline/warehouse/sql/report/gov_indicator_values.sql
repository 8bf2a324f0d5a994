-- The focus's value and target per indicator and year up to $year (the model $focus), for the
-- indicator charts of the dialogue report.
SELECT parent_id, kpi_id, year, value, target_value
FROM mart.indicator_followup
WHERE focus_municipality_id = $focus AND year <= $year
ORDER BY parent_id, kpi_id, year;
