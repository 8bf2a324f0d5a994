-- Every focus municipality with a follow-up model, in id order (one report each).
SELECT DISTINCT focus_municipality_id
FROM mapping.model_municipality
ORDER BY 1;
