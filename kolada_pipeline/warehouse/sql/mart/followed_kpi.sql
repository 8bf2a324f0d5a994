-- The KPIs each follow-up model follows, with their polarity; retired KPIs are left out.
-- A view the other marts build on (one place for "which KPIs count").
CREATE OR REPLACE VIEW mart.followed_kpi AS
SELECT g.focus_municipality_id,
       g.kpi_id,
       bool_or(g.is_local)         AS is_local,
       any_value(g.higher_is_better) AS higher_is_better,
       coalesce(any_value(lk.title), any_value(k.title)) AS kpi_title
FROM mapping.goal_kpi g
LEFT JOIN core.kpi k ON k.kpi_id = g.kpi_id
LEFT JOIN mapping.local_kpi lk
       ON lk.focus_municipality_id = g.focus_municipality_id AND lk.kpi_id = g.kpi_id
WHERE NOT EXISTS (
    SELECT 1 FROM mapping.retired_kpi r
    WHERE r.focus_municipality_id = g.focus_municipality_id AND r.kpi_id = g.kpi_id)
GROUP BY g.focus_municipality_id, g.kpi_id;
