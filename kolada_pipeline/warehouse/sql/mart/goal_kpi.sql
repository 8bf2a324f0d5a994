-- mart.goal_kpi: which KPIs follow up which goal, per focus municipality (retired KPIs left out).
CREATE OR REPLACE TABLE mart.goal_kpi AS
SELECT g.focus_municipality_id, g.goal, g.kpi_id,
       g.target, g.higher_is_better, g.area, g.evidence,
       f.kpi_title, g.is_local,
       goal.title_sv AS goal_title_sv, goal.title_en AS goal_title_en, g.note
FROM mapping.goal_kpi g
JOIN mart.followed_kpi f USING (focus_municipality_id, kpi_id)
LEFT JOIN mapping.goal goal ON goal.goal = g.goal
ORDER BY g.focus_municipality_id, g.goal, g.kpi_id;
