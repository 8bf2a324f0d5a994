-- mart.kpi_followup as the publish gate validates it.
SELECT * FROM mart.kpi_followup
