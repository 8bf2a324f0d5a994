-- The model's ($focus) KPIs per goal. A local KPI is example data when its note or its title in
-- the model starts with "EXAMPLE" (the bundled model's made-up values): the report labels it so.
SELECT gk.goal,
       gk.kpi_id,
       coalesce(gk.kpi_title, gk.kpi_id) AS title,
       gk.is_local,
       gk.higher_is_better,
       gk.target,
       gk.area,
       gk.is_local AND (
           upper(ltrim(coalesce(gk.note, ''))) LIKE 'EXAMPLE%'
           OR upper(ltrim(coalesce(gk.kpi_title, ''))) LIKE 'EXAMPLE%'
           OR upper(ltrim(coalesce(lk.title, ''))) LIKE 'EXAMPLE%'
       ) AS is_example
FROM mart.goal_kpi gk
LEFT JOIN mapping.local_kpi lk USING (focus_municipality_id, kpi_id)
WHERE gk.focus_municipality_id = $focus
ORDER BY gk.goal, gk.is_local, gk.kpi_id;
