-- How many computed group means had a value from Kolada to be compared with this run.
SELECT count(*)
FROM mart.kpi_group_comparison c
JOIN staging.group_value g
  ON g.kpi_id = c.kpi_id AND g.group_id = c.group_id AND g.year = c.year AND g.gender = c.gender
