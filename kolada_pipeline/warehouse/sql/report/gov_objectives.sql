-- Every objective of the model ($focus) in one period ($period), with its description and its
-- assessment (carried forward from an earlier period where it has none for this one).
SELECT f.objective_id, f.unit_id, f.unit_title, f.title, o.description, f.goals, o.targets,
       f.assessment, f.comment, f.assessed_by, f.is_carried_forward,
       f.indicators, f.indicators_green, f.indicators_yellow, f.indicators_red, f.indicators_without_value,
       f.activities, f.activities_done
FROM mart.objective_followup f
JOIN mapping.objective o USING (focus_municipality_id, objective_id)
WHERE f.focus_municipality_id = $focus AND f.period = $period
ORDER BY f.unit_id, f.objective_id;
