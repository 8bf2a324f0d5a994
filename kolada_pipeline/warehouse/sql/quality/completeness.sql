-- Completeness against Kolada's own count: for every KPI, year and gender this run fetched
-- (every year of a KPI fetched in full, what changed since from_date otherwise), Kolada says how
-- many municipalities have a value (the count of its group of all municipalities, $group_id, in
-- staging.group_value). The warehouse must hold at least that many of the
-- group's municipalities, after the run's changes; rows the run quarantined at the boundary
-- count as held (the rejected-share guard judges them; unknown or malformed key parts match any
-- KPI, year and gender). Parameters: $group_id, $run_id. Returns the shortfalls.
WITH checked AS (
    SELECT kpi_id, year, gender, count AS kolada_count FROM staging.group_value WHERE group_id = $group_id
),
held AS (
    SELECT v.kpi_id, v.year, v.gender, count(DISTINCT v.municipality_id) AS held
    FROM core.kpi_value v
    JOIN core.municipality_group_member g
      ON g.municipality_id = v.municipality_id AND g.municipality_group_id = $group_id
    GROUP BY ALL
),
quarantined AS (
    SELECT c.kpi_id, c.year, c.gender, count(r.run_id) AS quarantined
    FROM checked c
    JOIN meta.rejected_row r
      ON r.run_id = $run_id
     AND (r.kpi_id = c.kpi_id OR r.kpi_id IS NULL OR NOT regexp_full_match(r.kpi_id, '[NU]\d{5}'))
     AND (r.year = c.year OR r.year IS NULL)
     AND (r.gender = c.gender OR r.gender IS NULL OR r.gender NOT IN ('T', 'K', 'M'))
    GROUP BY ALL
)
SELECT c.kpi_id, c.year, c.gender, c.kolada_count, coalesce(h.held, 0) AS held
FROM checked c
LEFT JOIN held h USING (kpi_id, year, gender)
LEFT JOIN quarantined q USING (kpi_id, year, gender)
WHERE coalesce(h.held, 0) + coalesce(q.quarantined, 0) < c.kolada_count
ORDER BY c.kpi_id, c.year, c.gender
