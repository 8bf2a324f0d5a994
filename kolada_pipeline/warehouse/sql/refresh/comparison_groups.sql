-- Every municipality group a model compares with (mart.comparison_group), for fetching Kolada's
-- own values of those groups.
SELECT DISTINCT group_id FROM mart.comparison_group ORDER BY group_id
