-- Upsert Kolada's KPI metadata (registered relation kpis, parameter $now). A KPI listed again
-- is no longer retired.
INSERT INTO core.kpi
SELECT id, title, description, is_divided_by_gender, municipality_type, auspice, operating_area,
       perspective, publication_date, prel_publication_date, publ_period, has_ou_data,
       false, $now, $now
FROM kpis
ON CONFLICT (kpi_id) DO UPDATE SET
    title = excluded.title, description = excluded.description,
    is_divided_by_gender = excluded.is_divided_by_gender,
    municipality_type = excluded.municipality_type, auspice = excluded.auspice,
    operating_area = excluded.operating_area, perspective = excluded.perspective,
    publication_date = excluded.publication_date,
    prel_publication_date = excluded.prel_publication_date,
    publ_period = excluded.publ_period, has_ou_data = excluded.has_ou_data,
    is_retired = false, last_seen_at = excluded.last_seen_at
