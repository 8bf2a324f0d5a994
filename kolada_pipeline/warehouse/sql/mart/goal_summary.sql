-- mart.goal_summary: per focus municipality, goal, year and compared municipality (totals,
-- gender T): how many KPIs the goal has, how many have a value, and how many are green, yellow
-- or red. All 17 goals, for every year in which any of the model's KPIs has a follow-up row, so
-- a dashboard always gets 17 rows; a goal without KPIs has kpis_mapped = 0. Only real bands are
-- counted: a KPI without a band (no polarity, or too few municipalities) is in none of them.
CREATE OR REPLACE TABLE mart.goal_summary AS
WITH mapped AS (
    SELECT focus_municipality_id, goal, count(*) AS kpis_mapped
    FROM mart.goal_kpi GROUP BY ALL
),
cells AS (   -- every goal, for every (year, municipality) the model has follow-up rows for
    SELECT DISTINCT f.focus_municipality_id, goal.goal, f.year, f.municipality_id
    FROM mart.kpi_followup f
    CROSS JOIN mapping.goal goal
    WHERE f.gender = 'T'
),
counted AS (
    SELECT gk.focus_municipality_id, gk.goal, f.year, f.municipality_id,
           count(f.value)                               AS kpis_with_value,
           count(*) FILTER (WHERE f.band = 'green')     AS green,
           count(*) FILTER (WHERE f.band = 'yellow')    AS yellow,
           count(*) FILTER (WHERE f.band = 'red')       AS red
    FROM mart.goal_kpi gk
    JOIN mart.kpi_followup f USING (focus_municipality_id, kpi_id)
    WHERE f.gender = 'T'
    GROUP BY ALL
)
SELECT c.focus_municipality_id, c.goal, c.year, c.municipality_id,
       coalesce(m.kpis_mapped, 0)     AS kpis_mapped,
       coalesce(n.kpis_with_value, 0) AS kpis_with_value,
       coalesce(n.green, 0)  AS green,
       coalesce(n.yellow, 0) AS yellow,
       coalesce(n.red, 0)    AS red,
       goal.title_sv AS goal_title_sv
FROM cells c
LEFT JOIN mapped m USING (focus_municipality_id, goal)
LEFT JOIN counted n USING (focus_municipality_id, goal, year, municipality_id)
LEFT JOIN mapping.goal goal ON goal.goal = c.goal
ORDER BY c.focus_municipality_id, c.goal, c.year, c.municipality_id;
