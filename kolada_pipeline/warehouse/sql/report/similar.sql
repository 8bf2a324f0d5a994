-- The similar municipalities' mean per Kolada KPI and year of the model ($focus), gender T, from
-- mart.kpi_group_comparison: the KPI's own area group ('similar_area') where it has one, else the
-- focus's overall group ('similar_overall'). One group per KPI, the same in every year.
SELECT kpi_id, year, group_id, group_title, group_role, members, members_with_value, group_mean
FROM mart.kpi_group_comparison
WHERE focus_municipality_id = $focus
  AND gender = 'T'
  AND group_role IN ('similar_area', 'similar_overall')
QUALIFY group_role = CASE WHEN bool_or(group_role = 'similar_area') OVER (PARTITION BY kpi_id)
                          THEN 'similar_area' ELSE 'similar_overall' END
ORDER BY kpi_id, year, group_id;
