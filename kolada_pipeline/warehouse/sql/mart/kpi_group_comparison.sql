-- mart.kpi_group_comparison: each Kolada KPI of each model against each of its comparison groups
-- (mart.comparison_group), for every year and gender in which the focus has a value. Members are
-- the group's municipalities (type K); the group mean is the unweighted mean over the members
-- with a value, Kolada's own definition of a group value. All figures are this project's own.
CREATE OR REPLACE TABLE mart.kpi_group_comparison AS
WITH
k_member AS (
    SELECT gm.municipality_group_id AS group_id, gm.municipality_id
    FROM core.municipality_group_member gm
    JOIN core.municipality m ON m.municipality_id = gm.municipality_id AND m.type = 'K'
),
focus_value AS (
    SELECT cg.focus_municipality_id, cg.kpi_id, v.year, v.gender, cg.group_id, cg.group_role,
           cg.higher_is_better, v.value AS focus_value
    FROM mart.comparison_group cg
    JOIN core.kpi_value v ON v.kpi_id = cg.kpi_id AND v.municipality_id = cg.focus_municipality_id
),
stat AS (
    SELECT fv.focus_municipality_id, fv.kpi_id, fv.year, fv.gender, fv.group_id,
           count(km.municipality_id)                          AS members,
           count(mv.value)                                    AS members_with_value,
           -- summed in value order, so the mean does not depend on the order rows are stored in
           list_avg(list(mv.value ORDER BY mv.value) FILTER (WHERE mv.value IS NOT NULL)) AS group_mean,
           median(mv.value)                                   AS group_median,
           count(*) FILTER (WHERE (fv.higher_is_better AND mv.value > fv.focus_value)
                               OR (NOT fv.higher_is_better AND mv.value < fv.focus_value)) AS better,
           coalesce(bool_or(km.municipality_id = fv.focus_municipality_id), false) AS focus_is_member
    FROM focus_value fv
    LEFT JOIN k_member km ON km.group_id = fv.group_id
    LEFT JOIN core.kpi_value mv
           ON mv.kpi_id = fv.kpi_id AND mv.municipality_id = km.municipality_id
          AND mv.year = fv.year AND mv.gender = fv.gender
    GROUP BY ALL
)
SELECT fv.focus_municipality_id, fv.kpi_id, fv.year, fv.gender, fv.group_id,
       g.title                                      AS group_title,
       fv.group_role,
       s.members,
       s.members_with_value,
       s.group_mean,
       s.group_median,
       fv.focus_value,
       fv.focus_value - s.group_mean                AS focus_minus_group_mean,
       CASE WHEN fv.higher_is_better IS NOT NULL THEN 1 + s.better END AS focus_rank_in_group,
       s.members_with_value + CASE WHEN s.focus_is_member THEN 0 ELSE 1 END AS compared_count,
       fv.higher_is_better
FROM focus_value fv
JOIN stat s USING (focus_municipality_id, kpi_id, year, gender, group_id)
LEFT JOIN core.municipality_group g ON g.municipality_group_id = fv.group_id
ORDER BY fv.focus_municipality_id, fv.kpi_id, fv.year, fv.gender, fv.group_id;
