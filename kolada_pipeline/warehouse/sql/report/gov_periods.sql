-- The reporting periods of the model ($focus): every period named in its assessments, in the
-- order they end (mart.gov_period), for --period and for the summary's "previous period".
SELECT period, period_end
FROM mart.gov_period
WHERE focus_municipality_id = $focus
ORDER BY period_end, period;
