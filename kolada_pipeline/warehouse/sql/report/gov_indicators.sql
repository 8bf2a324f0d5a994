-- Every indicator (parent_id, kpi_id) of the model ($focus) at its data_year for a period ending
-- in $year: the newest year <= $year with a value for the focus (mart.indicator_followup).
-- Without any value, data_year is NULL and the target is the indicator's row without a year.
WITH
linked AS (
    SELECT DISTINCT focus_municipality_id, parent_id, parent_kind, kpi_id, is_local, higher_is_better
    FROM mapping.indicator
    WHERE focus_municipality_id = $focus
),
newest AS (
    SELECT *
    FROM mart.indicator_followup
    WHERE focus_municipality_id = $focus AND year <= $year AND value IS NOT NULL
    QUALIFY row_number() OVER (PARTITION BY parent_id, kpi_id ORDER BY year DESC) = 1
),
any_year AS (
    SELECT parent_id, kpi_id, target_value, warning_value
    FROM mapping.indicator
    WHERE focus_municipality_id = $focus AND year IS NULL
)
SELECT l.parent_id, l.parent_kind, l.kpi_id, l.is_local,
       coalesce(n.kpi_title, k.title, lk.title, l.kpi_id) AS kpi_title,
       n.year AS data_year, n.value,
       coalesce(n.target_value, y.target_value) AS target_value,
       coalesce(n.warning_value, y.warning_value) AS warning_value,
       l.higher_is_better, n.target_band, n.band, n.change_1y, n.trend_slope
FROM linked l
LEFT JOIN newest n USING (parent_id, kpi_id)
LEFT JOIN any_year y USING (parent_id, kpi_id)
LEFT JOIN core.kpi k ON k.kpi_id = l.kpi_id
LEFT JOIN mapping.local_kpi lk ON lk.focus_municipality_id = l.focus_municipality_id AND lk.kpi_id = l.kpi_id
ORDER BY l.parent_id, l.is_local, l.kpi_id;
