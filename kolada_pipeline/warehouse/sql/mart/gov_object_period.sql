-- mart.gov_object_period (a helper view, not published): every objective and assignment of a
-- model in every period of that model, with what the published governance tables say about it.
-- - Carried forward: the object's assessment row for the period; without one, its newest row for
--   an earlier period (by period_end, then period), with is_carried_forward; else NULLs.
-- - Activities (parent_id = the object) carry their status forward the same way;
--   activities_done counts those whose status in the period is 'klart'.
-- - Indicators (parent_id, kpi_id) are counted at their data_year: the newest year <= the year
--   the period ends in with a value for the focus; none = without value. The band is the
--   target_band of mart.indicator_followup at that year.
CREATE OR REPLACE VIEW mart.gov_object_period AS
WITH
object AS (
    SELECT focus_municipality_id, objective_id AS object_id, 'objective' AS object_kind, unit_id
    FROM mapping.objective
    UNION ALL
    SELECT focus_municipality_id, assignment_id, 'assignment', unit_id FROM mapping.assignment
    UNION ALL
    SELECT focus_municipality_id, activity_id, 'activity', unit_id FROM mapping.activity
),
state AS (
    SELECT o.focus_municipality_id, o.object_id, o.object_kind, o.unit_id, p.period, p.period_end,
           a.period AS assessed_period, a.assessment, a.status, a.comment, a.assessed_by
    FROM object o
    JOIN mart.gov_period p USING (focus_municipality_id)
    LEFT JOIN mapping.assessment a
           ON a.focus_municipality_id = o.focus_municipality_id AND a.object_id = o.object_id
          AND (a.period_end < p.period_end OR (a.period_end = p.period_end AND a.period <= p.period))
    QUALIFY row_number() OVER (PARTITION BY o.focus_municipality_id, o.object_id, p.period
                               ORDER BY a.period_end DESC NULLS LAST, a.period DESC NULLS LAST) = 1
),
activity_count AS (
    SELECT act.focus_municipality_id, act.parent_id AS object_id, s.period,
           count(*) AS activities,
           count(*) FILTER (WHERE s.status = 'klart') AS activities_done
    FROM mapping.activity act
    JOIN state s ON s.focus_municipality_id = act.focus_municipality_id AND s.object_id = act.activity_id
    GROUP BY ALL
),
indicator_period AS (
    SELECT i.focus_municipality_id, i.parent_id, i.kpi_id, p.period,
           max(f.year) FILTER (WHERE f.value IS NOT NULL AND f.year <= year(p.period_end)) AS data_year
    FROM (SELECT DISTINCT focus_municipality_id, parent_id, kpi_id FROM mapping.indicator) i
    JOIN mart.gov_period p USING (focus_municipality_id)
    LEFT JOIN mart.indicator_followup f USING (focus_municipality_id, parent_id, kpi_id)
    GROUP BY ALL
),
indicator_count AS (
    SELECT ip.focus_municipality_id, ip.parent_id AS object_id, ip.period,
           count(*)                                        AS indicators,
           count(*) FILTER (WHERE f.target_band = 'green')  AS indicators_green,
           count(*) FILTER (WHERE f.target_band = 'yellow') AS indicators_yellow,
           count(*) FILTER (WHERE f.target_band = 'red')    AS indicators_red,
           count(*) FILTER (WHERE ip.data_year IS NULL)     AS indicators_without_value
    FROM indicator_period ip
    LEFT JOIN mart.indicator_followup f
           ON f.focus_municipality_id = ip.focus_municipality_id AND f.parent_id = ip.parent_id
          AND f.kpi_id = ip.kpi_id AND f.year = ip.data_year
    GROUP BY ALL
)
SELECT s.focus_municipality_id, s.object_id, s.object_kind, s.unit_id, s.period, s.period_end,
       s.assessment, s.status, s.comment, s.assessed_by,
       coalesce(s.assessed_period <> s.period, false) AS is_carried_forward,
       coalesce(ic.indicators, 0)               AS indicators,
       coalesce(ic.indicators_green, 0)         AS indicators_green,
       coalesce(ic.indicators_yellow, 0)        AS indicators_yellow,
       coalesce(ic.indicators_red, 0)           AS indicators_red,
       coalesce(ic.indicators_without_value, 0) AS indicators_without_value,
       coalesce(ac.activities, 0)               AS activities,
       coalesce(ac.activities_done, 0)          AS activities_done
FROM state s
LEFT JOIN indicator_count ic USING (focus_municipality_id, object_id, period)
LEFT JOIN activity_count ac USING (focus_municipality_id, object_id, period)
WHERE s.object_kind IN ('objective', 'assignment');
