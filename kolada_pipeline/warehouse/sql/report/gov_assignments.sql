-- Every council assignment of the model ($focus) in one period ($period): decision, deadline,
-- status (carried forward where it has none for this period), overdue flag and comment.
SELECT f.assignment_id, f.unit_id, u.title AS unit_title, f.title, a.description, f.decision_ref,
       f.decided_on, f.deadline, a.goals, f.status, f.assessment, f.comment, f.is_carried_forward,
       f.is_overdue, f.activities, f.activities_done,
       f.indicators, f.indicators_green, f.indicators_yellow, f.indicators_red, f.indicators_without_value
FROM mart.assignment_followup f
JOIN mapping.assignment a USING (focus_municipality_id, assignment_id)
LEFT JOIN mapping.org_unit u ON u.focus_municipality_id = f.focus_municipality_id AND u.unit_id = f.unit_id
WHERE f.focus_municipality_id = $focus AND f.period = $period
ORDER BY f.unit_id, f.assignment_id;
