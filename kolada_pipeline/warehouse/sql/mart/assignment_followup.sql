-- mart.assignment_followup: each council assignment (KF-uppdrag) of a model in every period of the
-- model's assessments, with its (carried-forward) status and assessment, whether it is overdue,
-- and its activities and indicators counted.
CREATE OR REPLACE TABLE mart.assignment_followup AS
SELECT a.focus_municipality_id, a.assignment_id, s.period,
       a.unit_id, a.title, a.decision_ref, a.decided_on, a.deadline,
       s.status, s.assessment, s.comment, s.is_carried_forward,
       coalesce(a.deadline < s.period_end, false)
           AND coalesce(s.status NOT IN ('klart', 'avbrutet'), true) AS is_overdue,
       s.activities, s.activities_done,
       s.indicators, s.indicators_green, s.indicators_yellow, s.indicators_red, s.indicators_without_value
FROM mapping.assignment a
JOIN mart.gov_object_period s
  ON s.focus_municipality_id = a.focus_municipality_id AND s.object_id = a.assignment_id
ORDER BY a.focus_municipality_id, a.assignment_id, s.period_end, s.period;
