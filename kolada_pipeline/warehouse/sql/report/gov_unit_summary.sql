-- Every unit's counts in one period ($focus, $period): objectives by assessment, assignments by
-- status, indicators by target band (mart.unit_summary; a unit counts the units below it too).
SELECT *
FROM mart.unit_summary
WHERE focus_municipality_id = $focus AND period = $period
ORDER BY unit_id;
