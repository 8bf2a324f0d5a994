-- mart.kpi_followup: one row per focus municipality, KPI, year, gender and compared municipality
-- (the focus and its peers), for every year in which at least one of them has a value.
-- Raw values are Kolada's ("Källa: Kolada"); means, medians, ranks, bands, changes and gaps are
-- this project's own computation.
CREATE OR REPLACE TABLE mart.kpi_followup AS
WITH
compared AS (   -- the focus and its peers, per model
    SELECT focus_municipality_id, municipality_id
    FROM mapping.model_municipality WHERE role IN ('focus', 'peer')
),
region AS (
    SELECT focus_municipality_id, municipality_id AS region_id
    FROM mapping.model_municipality WHERE role = 'region'
),
model_value AS ( -- every value a model can use: Kolada's for its KPIs, its own for local KPIs
    SELECT f.focus_municipality_id, v.kpi_id, v.municipality_id, v.year, v.gender, v.value
    FROM mart.followed_kpi f
    JOIN core.kpi_value v ON v.kpi_id = f.kpi_id
    WHERE NOT f.is_local
    UNION ALL
    SELECT f.focus_municipality_id, l.kpi_id, l.municipality_id, l.year, l.gender, l.value
    FROM mart.followed_kpi f
    JOIN mapping.local_value l
      ON l.focus_municipality_id = f.focus_municipality_id AND l.kpi_id = f.kpi_id
    WHERE f.is_local
),
municipality_value AS ( -- Kolada values of all 290 municipalities (type K), for means and ranks
    SELECT f.focus_municipality_id, f.higher_is_better, v.kpi_id, v.municipality_id, v.year, v.gender, v.value
    FROM mart.followed_kpi f
    JOIN core.kpi_value v ON v.kpi_id = f.kpi_id
    JOIN core.municipality m ON m.municipality_id = v.municipality_id AND m.type = 'K'
    WHERE NOT f.is_local
),
ranked AS (
    SELECT focus_municipality_id, kpi_id, municipality_id, year, gender,
           count(*) OVER w                  AS ranked_count,
           avg(value) OVER w                AS municipalities_mean,
           median(value) OVER w             AS municipalities_median,
           CASE WHEN higher_is_better THEN rank() OVER (w ORDER BY value DESC)
                WHEN NOT higher_is_better THEN rank() OVER (w ORDER BY value ASC)
           END                              AS rank
    FROM municipality_value
    WINDOW w AS (PARTITION BY focus_municipality_id, kpi_id, year, gender)
),
municipality_stat AS ( -- the same figures per kpi, year and gender, for compared rows without a value
    SELECT DISTINCT focus_municipality_id, kpi_id, year, gender, ranked_count, municipalities_mean, municipalities_median
    FROM ranked
),
grid AS ( -- years (per gender) in which the focus or a peer has a value
    SELECT DISTINCT v.focus_municipality_id, v.kpi_id, v.year, v.gender
    FROM model_value v
    JOIN compared c USING (focus_municipality_id, municipality_id)
),
followup AS (
    SELECT g.focus_municipality_id, g.kpi_id, g.year, g.gender, c.municipality_id,
           v.value,
           riket.value  AS riket_value,
           reg.value    AS region_value,
           s.municipalities_mean,
           s.municipalities_median,
           CASE WHEN v.value IS NOT NULL THEN r.rank END AS rank,
           s.ranked_count,
           v.value - prev1.value AS change_1y,
           CASE WHEN f.higher_is_better IS NULL OR v.value IS NULL
                  OR prev1.value IS NULL OR prev2.value IS NULL OR prev3.value IS NULL THEN NULL
                WHEN f.higher_is_better THEN v.value > (prev1.value + prev2.value + prev3.value) / 3
                ELSE v.value < (prev1.value + prev2.value + prev3.value) / 3
           END AS better_than_3y_mean,
           CASE WHEN g.gender = 'T' THEN women.value - men.value END AS gender_gap,
           f.kpi_title,
           m.title AS municipality_title,
           f.is_local,
           f.higher_is_better
    FROM grid g
    JOIN compared c USING (focus_municipality_id)
    JOIN mart.followed_kpi f USING (focus_municipality_id, kpi_id)
    LEFT JOIN region rg USING (focus_municipality_id)
    LEFT JOIN core.municipality m ON m.municipality_id = c.municipality_id
    LEFT JOIN model_value v
           ON v.focus_municipality_id = g.focus_municipality_id AND v.kpi_id = g.kpi_id
          AND v.municipality_id = c.municipality_id AND v.year = g.year AND v.gender = g.gender
    LEFT JOIN model_value riket
           ON riket.focus_municipality_id = g.focus_municipality_id AND riket.kpi_id = g.kpi_id
          AND riket.municipality_id = '0000' AND riket.year = g.year AND riket.gender = g.gender
    LEFT JOIN model_value reg
           ON reg.focus_municipality_id = g.focus_municipality_id AND reg.kpi_id = g.kpi_id
          AND reg.municipality_id = rg.region_id AND reg.year = g.year AND reg.gender = g.gender
    LEFT JOIN municipality_stat s
           ON s.focus_municipality_id = g.focus_municipality_id AND s.kpi_id = g.kpi_id
          AND s.year = g.year AND s.gender = g.gender
    LEFT JOIN ranked r
           ON r.focus_municipality_id = g.focus_municipality_id AND r.kpi_id = g.kpi_id
          AND r.municipality_id = c.municipality_id AND r.year = g.year AND r.gender = g.gender
    LEFT JOIN model_value prev1
           ON prev1.focus_municipality_id = g.focus_municipality_id AND prev1.kpi_id = g.kpi_id
          AND prev1.municipality_id = c.municipality_id AND prev1.year = g.year - 1 AND prev1.gender = g.gender
    LEFT JOIN model_value prev2
           ON prev2.focus_municipality_id = g.focus_municipality_id AND prev2.kpi_id = g.kpi_id
          AND prev2.municipality_id = c.municipality_id AND prev2.year = g.year - 2 AND prev2.gender = g.gender
    LEFT JOIN model_value prev3
           ON prev3.focus_municipality_id = g.focus_municipality_id AND prev3.kpi_id = g.kpi_id
          AND prev3.municipality_id = c.municipality_id AND prev3.year = g.year - 3 AND prev3.gender = g.gender
    LEFT JOIN model_value women
           ON women.focus_municipality_id = g.focus_municipality_id AND women.kpi_id = g.kpi_id
          AND women.municipality_id = c.municipality_id AND women.year = g.year AND women.gender = 'K'
    LEFT JOIN model_value men
           ON men.focus_municipality_id = g.focus_municipality_id AND men.kpi_id = g.kpi_id
          AND men.municipality_id = c.municipality_id AND men.year = g.year AND men.gender = 'M'
)
SELECT focus_municipality_id, kpi_id, year, gender, municipality_id,
       value, riket_value, region_value, municipalities_mean, municipalities_median,
       rank, ranked_count,
       -- Quartile bands need enough municipalities to mean anything: below the model's
       -- min_ranked_count (default 20) there is no band ("för få kommuner"), and the best
       -- (rank 1) is never red.
       CASE WHEN rank IS NULL OR ranked_count < coalesce(mm.min_ranked_count, 20) THEN NULL
            WHEN rank <= 0.25 * ranked_count THEN 'green'
            WHEN rank > 0.75 * ranked_count AND rank > 1 THEN 'red'
            ELSE 'yellow' END AS band,
       change_1y, better_than_3y_mean, gender_gap,
       kpi_title, municipality_title, is_local, higher_is_better
FROM followup
LEFT JOIN mapping.model mm USING (focus_municipality_id)
ORDER BY focus_municipality_id, kpi_id, year, gender, municipality_id;
