-- mart.objective_followup: each objective (målbild) of a model in every period of the model's
-- assessments, with its (carried-forward) assessment and its indicators and activities counted.
CREATE OR REPLACE TABLE mart.objective_followup AS
WITH goals AS (
    SELECT focus_municipality_id, object_id, string_agg(goal::VARCHAR, ';' ORDER BY goal) AS goals
    FROM mapping.object_goal
    GROUP BY ALL
)
SELECT o.focus_municipality_id, o.objective_id, s.period,
       o.unit_id, u.title AS unit_title, o.title, g.goals,
       s.assessment, s.comment, s.assessed_by, s.is_carried_forward,
       s.indicators, s.indicators_green, s.indicators_yellow, s.indicators_red, s.indicators_without_value,
       s.activities, s.activities_done
FROM mapping.objective o
JOIN mart.gov_object_period s
  ON s.focus_municipality_id = o.focus_municipality_id AND s.object_id = o.objective_id
LEFT JOIN mapping.org_unit u
       ON u.focus_municipality_id = o.focus_municipality_id AND u.unit_id = o.unit_id
LEFT JOIN goals g
       ON g.focus_municipality_id = o.focus_municipality_id AND g.object_id = o.objective_id
ORDER BY o.focus_municipality_id, o.objective_id, s.period_end, s.period;
