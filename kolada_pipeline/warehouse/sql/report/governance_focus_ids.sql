-- Every focus municipality whose model has a governance organisation, in id order.
SELECT DISTINCT focus_municipality_id
FROM mapping.org_unit
ORDER BY 1;
