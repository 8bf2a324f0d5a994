-- Every follow-up row of the model ($focus): one per KPI, gender, year and compared municipality.
SELECT kpi_id, year, gender, municipality_id, value, riket_value, region_value, rank,
       ranked_count, band, change_1y, better_than_3y_mean, gender_gap
FROM mart.kpi_followup
WHERE focus_municipality_id = $focus
ORDER BY kpi_id, gender, year, municipality_id;
