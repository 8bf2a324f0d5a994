-- The KPIs Kolada lists today, as kolada mappings check reads them from a warehouse (shaped like
-- Kolada's records: id, title, municipality_type, publ_period, publication_date, prel_publication_date).
SELECT kpi_id AS id, title, municipality_type, publ_period, publication_date, prel_publication_date
FROM core.kpi
WHERE NOT is_retired
