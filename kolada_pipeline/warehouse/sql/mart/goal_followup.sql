-- mart.goal_followup: per model, goal and period, how the basic mission (objectives) and the
-- council's assignments contribute to each of the 17 goals: every goal has a row in every period.
-- Objects are linked to a goal by mapping.object_goal; kpis counts, once each, the KPIs the
-- model's kpis.csv places under the goal and the indicator KPIs of the linked objects.
CREATE OR REPLACE TABLE mart.goal_followup AS
WITH
goal_kpi AS (
    SELECT focus_municipality_id, goal, kpi_id FROM mapping.goal_kpi
    UNION
    SELECT og.focus_municipality_id, og.goal, i.kpi_id
    FROM mapping.object_goal og
    JOIN mapping.indicator i
      ON i.focus_municipality_id = og.focus_municipality_id AND i.parent_id = og.object_id
),
kpi_count AS (
    SELECT focus_municipality_id, goal, count(*) AS kpis FROM goal_kpi GROUP BY ALL
),
linked AS (
    SELECT og.goal, o.*
    FROM mapping.object_goal og
    JOIN mart.gov_object_period o
      ON o.focus_municipality_id = og.focus_municipality_id AND o.object_id = og.object_id
),
grid AS (  -- every goal in every period of the model
    SELECT p.focus_municipality_id, g.goal, p.period, p.period_end
    FROM mart.gov_period p
    CROSS JOIN mapping.goal g
),
counted AS (  -- a goal without linked objects counts zeros
    SELECT grid.*,
           count(*) FILTER (WHERE object_kind = 'objective') AS objectives,
           count(*) FILTER (WHERE object_kind = 'assignment') AS assignments,
           count(*) FILTER (WHERE object_kind = 'objective' AND assessment = 'uppfyllt') AS objectives_met,
           count(*) FILTER (WHERE object_kind = 'objective' AND assessment = 'delvis uppfyllt') AS objectives_partly_met,
           count(*) FILTER (WHERE object_kind = 'objective' AND assessment = 'ej uppfyllt') AS objectives_not_met,
           count(*) FILTER (WHERE object_kind = 'objective'
                              AND (assessment = 'ej bedömt' OR assessment IS NULL)) AS objectives_not_assessed,
           count(*) FILTER (WHERE object_kind = 'assignment' AND status = 'klart') AS assignments_done,
           count(*) FILTER (WHERE object_kind = 'assignment' AND status = 'pågår') AS assignments_ongoing,
           count(*) FILTER (WHERE object_kind = 'assignment' AND status = 'ej påbörjat') AS assignments_not_started,
           count(*) FILTER (WHERE object_kind = 'assignment' AND status = 'försenat') AS assignments_delayed,
           count(*) FILTER (WHERE object_kind = 'assignment' AND status = 'avbrutet') AS assignments_cancelled,
           coalesce(sum(l.indicators), 0)::BIGINT               AS indicators,
           coalesce(sum(l.indicators_green), 0)::BIGINT         AS indicators_green,
           coalesce(sum(l.indicators_yellow), 0)::BIGINT        AS indicators_yellow,
           coalesce(sum(l.indicators_red), 0)::BIGINT           AS indicators_red,
           coalesce(sum(l.indicators_without_value), 0)::BIGINT AS indicators_without_value
    FROM grid
    LEFT JOIN linked l
           ON l.focus_municipality_id = grid.focus_municipality_id AND l.goal = grid.goal AND l.period = grid.period
    GROUP BY ALL
)
SELECT c.focus_municipality_id, c.goal, c.period, c.objectives, c.assignments,
       coalesce(k.kpis, 0) AS kpis,
       c.* EXCLUDE (focus_municipality_id, goal, period, period_end, objectives, assignments)
FROM counted c
LEFT JOIN kpi_count k
       ON k.focus_municipality_id = c.focus_municipality_id AND k.goal = c.goal
ORDER BY c.focus_municipality_id, c.goal, c.period_end, c.period;
