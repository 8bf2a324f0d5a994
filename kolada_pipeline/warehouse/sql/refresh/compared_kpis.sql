-- The KPIs the models follow (mart.followed_kpi): the only ones the group-mean cross-check
-- compares, so the only ones Kolada's comparison-group values are fetched for.
SELECT DISTINCT kpi_id FROM mart.followed_kpi ORDER BY kpi_id
