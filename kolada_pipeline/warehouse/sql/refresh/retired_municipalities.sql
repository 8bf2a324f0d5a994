-- Units Kolada no longer lists; the warehouse keeps their values (for the refresh summary and
-- `kolada status`).
SELECT municipality_id, title, type
FROM core.municipality
WHERE coalesce(is_retired, false)
ORDER BY municipality_id
