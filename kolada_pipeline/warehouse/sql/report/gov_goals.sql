-- How the model's ($focus) objectives and assignments contribute to each of the 17 goals in one
-- period ($period), with the goals' Swedish titles and colours.
SELECT g.goal, g.title_sv, g.colour, f.* EXCLUDE (focus_municipality_id, goal, period)
FROM mapping.goal g
LEFT JOIN mart.goal_followup f
       ON f.goal = g.goal AND f.focus_municipality_id = $focus AND f.period = $period
ORDER BY g.goal;
