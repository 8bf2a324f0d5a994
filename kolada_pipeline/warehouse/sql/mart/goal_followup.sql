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
counted AS (
    SELECT focus_municipality_id, goal, period,
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
           sum(indicators)::BIGINT               AS indicators,
           sum(indicators_green)::BIGINT         AS indicators_green,
           sum(indicators_yellow)::BIGINT        AS indicators_yellow,
           sum(indicators_red)::BIGINT           AS indicators_red,
           sum(indicators_without_value)::BIGINT AS indicators_without_value
    FROM linked
    GROUP BY ALL
)
SELECT p.focus_municipality_id, g.goal, p.period,
       coalesce(c.objectives, 0)               AS objectives,
       coalesce(c.assignments, 0)              AS assignments,
       coalesce(k.kpis, 0)                     AS kpis,
       coalesce(c.objectives_met, 0)           AS objectives_met,
       coalesce(c.objectives_partly_met, 0)    AS objectives_partly_met,
       coalesce(c.objectives_not_met, 0)       AS objectives_not_met,
       coalesce(c.objectives_not_assessed, 0)  AS objectives_not_assessed,
       coalesce(c.assignments_done, 0)         AS assignments_done,
       coalesce(c.assignments_ongoing, 0)      AS assignments_ongoing,
       coalesce(c.assignments_not_started, 0)  AS assignments_not_started,
       coalesce(c.assignments_delayed, 0)      AS assignments_delayed,
       coalesce(c.assignments_cancelled, 0)    AS assignments_cancelled,
       coalesce(c.indicators, 0)               AS indicators,
       coalesce(c.indicators_green, 0)         AS indicators_green,
       coalesce(c.indicators_yellow, 0)        AS indicators_yellow,
       coalesce(c.indicators_red, 0)           AS indicators_red,
       coalesce(c.indicators_without_value, 0) AS indicators_without_value
FROM mart.gov_period p
CROSS JOIN mapping.goal g
LEFT JOIN counted c
       ON c.focus_municipality_id = p.focus_municipality_id AND c.goal = g.goal AND c.period = p.period
LEFT JOIN kpi_count k
       ON k.focus_municipality_id = p.focus_municipality_id AND k.goal = g.goal
ORDER BY p.focus_municipality_id, g.goal, p.period_end, p.period;
