-- An edition's record of the values Kolada revised or withdrew (core.kpi_value_revision) among
-- the model's ($focus) KPIs, every municipality, for `--diff`: a revision in the newer edition
-- and not in the older happened between them.
SELECT r.kpi_id, r.municipality_id, r.year, r.gender, r.old_value, r.new_value, r.change, r.run_id
FROM core.kpi_value_revision r
WHERE r.kpi_id IN (SELECT kpi_id FROM mart.followed_kpi WHERE focus_municipality_id = $focus)
ORDER BY r.kpi_id, r.municipality_id, r.year, r.gender, r.run_id;
