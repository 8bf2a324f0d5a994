-- Which SDG goals each objective and assignment of the model ($focus) serves.
SELECT object_id, object_kind, goal
FROM mapping.object_goal
WHERE focus_municipality_id = $focus
ORDER BY object_id, goal;
