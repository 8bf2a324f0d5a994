-- mart.indicator_followup: one row per focus municipality, objective or assignment, indicator KPI
-- and year. Years are those in which the focus has a value (Kolada's gender T, or the model's
-- local value) and those named in a target row; a target row without a year adds no row.
-- A year's target is the row for that year, else the row without a year.
CREATE OR REPLACE TABLE mart.indicator_followup AS
WITH
indicator AS (   -- one per (parent, KPI); polarity of the row with the newest year, for years without a target
    SELECT focus_municipality_id, parent_id, kpi_id,
           bool_or(is_local) AS is_local,
           arg_max(higher_is_better, coalesce(year, -1)) AS newest_higher_is_better
    FROM mapping.indicator
    GROUP BY focus_municipality_id, parent_id, kpi_id
),
focus_value AS ( -- the focus's own values: Kolada's (gender T) or the local KPI's
    SELECT i.focus_municipality_id, i.parent_id, i.kpi_id, v.year, v.value
    FROM indicator i
    JOIN core.kpi_value v
      ON v.kpi_id = i.kpi_id AND v.municipality_id = i.focus_municipality_id AND v.gender = 'T'
    WHERE NOT i.is_local
    UNION ALL
    SELECT i.focus_municipality_id, i.parent_id, i.kpi_id, l.year, l.value
    FROM indicator i
    JOIN mapping.local_value l
      ON l.focus_municipality_id = i.focus_municipality_id AND l.kpi_id = i.kpi_id
     AND l.municipality_id = i.focus_municipality_id AND l.gender = 'T'
    WHERE i.is_local
),
trend AS (       -- over the newest five years with a value, up to and including this one
    SELECT focus_municipality_id, parent_id, kpi_id, year,
           CASE WHEN count(*) OVER w >= 3 THEN regr_slope(value, year::DOUBLE) OVER w END AS trend_slope
    FROM focus_value
    WINDOW w AS (PARTITION BY focus_municipality_id, parent_id, kpi_id ORDER BY year
                 ROWS BETWEEN 4 PRECEDING AND CURRENT ROW)
),
row_year AS (
    SELECT focus_municipality_id, parent_id, kpi_id, year FROM focus_value
    UNION
    SELECT focus_municipality_id, parent_id, kpi_id, year FROM mapping.indicator WHERE year IS NOT NULL
),
with_target AS (
    SELECT r.focus_municipality_id, r.parent_id, r.kpi_id, r.year,
           v.value,
           CASE WHEN t_year.kpi_id IS NOT NULL THEN t_year.target_value ELSE t_all.target_value END AS target_value,
           CASE WHEN t_year.kpi_id IS NOT NULL THEN t_year.warning_value ELSE t_all.warning_value END AS warning_value,
           coalesce(CASE WHEN t_year.kpi_id IS NOT NULL THEN t_year.higher_is_better ELSE t_all.higher_is_better END,
                    i.newest_higher_is_better) AS higher_is_better,
           v.value - prev.value AS change_1y,
           tr.trend_slope,
           i.is_local
    FROM row_year r
    JOIN indicator i USING (focus_municipality_id, parent_id, kpi_id)
    LEFT JOIN focus_value v USING (focus_municipality_id, parent_id, kpi_id, year)
    LEFT JOIN focus_value prev
           ON prev.focus_municipality_id = r.focus_municipality_id AND prev.parent_id = r.parent_id
          AND prev.kpi_id = r.kpi_id AND prev.year = r.year - 1
    LEFT JOIN trend tr USING (focus_municipality_id, parent_id, kpi_id, year)
    LEFT JOIN mapping.indicator t_year
           ON t_year.focus_municipality_id = r.focus_municipality_id AND t_year.parent_id = r.parent_id
          AND t_year.kpi_id = r.kpi_id AND t_year.year = r.year
    LEFT JOIN mapping.indicator t_all
           ON t_all.focus_municipality_id = r.focus_municipality_id AND t_all.parent_id = r.parent_id
          AND t_all.kpi_id = r.kpi_id AND t_all.year IS NULL
)
SELECT w.focus_municipality_id, w.parent_id, w.kpi_id, w.year,
       w.value, w.target_value, w.warning_value, w.higher_is_better,
       CASE WHEN w.value IS NULL OR w.target_value IS NULL THEN NULL
            WHEN (w.higher_is_better AND w.value >= w.target_value)
              OR (NOT w.higher_is_better AND w.value <= w.target_value) THEN 'green'
            WHEN w.warning_value IS NULL
              OR (w.higher_is_better AND w.value < w.warning_value)
              OR (NOT w.higher_is_better AND w.value > w.warning_value) THEN 'red'
            ELSE 'yellow' END AS target_band,
       k.band,
       w.change_1y,
       CASE WHEN w.value IS NOT NULL THEN w.trend_slope END AS trend_slope,
       coalesce(lk.title, kpi.title) AS kpi_title,
       w.is_local
FROM with_target w
LEFT JOIN mart.kpi_followup k
       ON k.focus_municipality_id = w.focus_municipality_id AND k.kpi_id = w.kpi_id AND k.year = w.year
      AND k.gender = 'T' AND k.municipality_id = w.focus_municipality_id
LEFT JOIN core.kpi kpi ON kpi.kpi_id = w.kpi_id
LEFT JOIN mapping.local_kpi lk ON lk.focus_municipality_id = w.focus_municipality_id AND lk.kpi_id = w.kpi_id
ORDER BY w.focus_municipality_id, w.parent_id, w.kpi_id, w.year;
