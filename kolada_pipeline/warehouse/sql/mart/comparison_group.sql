-- mart.comparison_group (a view): the municipality groups each model's KPIs are compared with,
-- and why. Read by mart.kpi_group_comparison, the model check, the report and kolada status.
--   model-level groups: model.yaml's comparison_groups (role 'model'), or else the focus's own
--     "Liknande kommuner, övergripande, <focus>, <vintage>" (newest vintage; 'similar_overall'),
--     its county's "<län>s läns kommuner" group ('county') and all municipalities ('all');
--   per KPI ('similar_area'): kpis.csv's comparison_group, else the focus's newest
--     "Liknande kommuner <area>, <focus>, <vintage>" for the KPI's area (comparison_areas.csv),
--     else the övergripande group — unless that group is already one of the model's groups.
CREATE OR REPLACE VIEW mart.comparison_group AS
WITH
focus AS (
    SELECT mm.focus_municipality_id, m.title AS focus_title
    FROM mapping.model_municipality mm
    JOIN core.municipality m ON m.municipality_id = mm.municipality_id
    WHERE mm.role = 'focus'
),
rka_similar AS (    -- RKA's groups, titled "Liknande kommuner[,] <area>, <municipality>, <vintage>"
    SELECT municipality_group_id AS group_id,
           regexp_extract(title, '^Liknande kommuner,? (.+?), (.+), ([0-9]{4})$',
                          ['area', 'municipality', 'vintage']) AS part
    FROM core.municipality_group
    WHERE title LIKE 'Liknande kommuner%'
),
focus_similar AS (  -- the focus's own group per area, newest vintage
    SELECT f.focus_municipality_id, s.part.area AS area, s.group_id
    FROM focus f
    JOIN rka_similar s ON s.part.municipality = f.focus_title
    QUALIFY row_number() OVER (PARTITION BY f.focus_municipality_id, s.part.area
                               ORDER BY s.part.vintage DESC, s.group_id) = 1
),
county AS (     -- the county's municipalities: the "… läns kommuner" group the focus belongs to
    SELECT f.focus_municipality_id, g.municipality_group_id AS group_id
    FROM focus f
    JOIN core.municipality_group_member gm ON gm.municipality_id = f.focus_municipality_id
    JOIN core.municipality_group g USING (municipality_group_id)
    WHERE g.title LIKE '% läns kommuner%'
    QUALIFY row_number() OVER (PARTITION BY f.focus_municipality_id ORDER BY g.municipality_group_id) = 1
),
everyone AS (   -- Kolada's group of all municipalities (G2328 "Alla kommuner")
    SELECT municipality_group_id AS group_id FROM core.all_municipalities_group
),
listed AS (
    SELECT DISTINCT focus_municipality_id FROM mapping.model_comparison_group
),
model_group AS (
    SELECT focus_municipality_id, group_id, 'model' AS group_role FROM mapping.model_comparison_group
    UNION ALL
    SELECT fs.focus_municipality_id, fs.group_id, 'similar_overall' FROM focus_similar fs
    WHERE fs.area = 'övergripande' AND fs.focus_municipality_id NOT IN (SELECT * FROM listed)
    UNION ALL
    SELECT c.focus_municipality_id, c.group_id, 'county' FROM county c
    WHERE c.focus_municipality_id NOT IN (SELECT * FROM listed)
    UNION ALL
    SELECT f.focus_municipality_id, e.group_id, 'all' FROM focus f CROSS JOIN everyone e
    WHERE f.focus_municipality_id NOT IN (SELECT * FROM listed)
),
followed AS (   -- the model's Kolada KPIs (local KPIs have no group values) and their area
    SELECT fk.focus_municipality_id, fk.kpi_id, fk.higher_is_better, a.area
    FROM mart.followed_kpi fk
    JOIN core.kpi k USING (kpi_id)
    LEFT JOIN mapping.comparison_area a ON a.operating_area = k.operating_area
    WHERE NOT fk.is_local
),
area_group AS (
    SELECT fk.focus_municipality_id, fk.kpi_id, coalesce(o.group_id, fa.group_id, fo.group_id) AS group_id
    FROM followed fk
    LEFT JOIN mapping.kpi_comparison_group o USING (focus_municipality_id, kpi_id)
    LEFT JOIN focus_similar fa ON fa.focus_municipality_id = fk.focus_municipality_id AND fa.area = fk.area
    LEFT JOIN focus_similar fo ON fo.focus_municipality_id = fk.focus_municipality_id AND fo.area = 'övergripande'
)
SELECT fk.focus_municipality_id, fk.kpi_id, fk.higher_is_better, mg.group_id, mg.group_role
FROM followed fk
JOIN model_group mg USING (focus_municipality_id)
UNION ALL
SELECT fk.focus_municipality_id, fk.kpi_id, fk.higher_is_better, ag.group_id, 'similar_area'
FROM followed fk
JOIN area_group ag USING (focus_municipality_id, kpi_id)
WHERE ag.group_id IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM model_group mg
                  WHERE mg.focus_municipality_id = ag.focus_municipality_id AND mg.group_id = ag.group_id);
