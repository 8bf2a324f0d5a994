-- The municipalities of one model ($focus): the focus first, then its peers, then the region.
SELECT mm.municipality_id,
       coalesce(m.title, mm.municipality_id) AS title,
       mm.role,
       mm.model_name
FROM mapping.model_municipality mm
LEFT JOIN core.municipality m USING (municipality_id)
WHERE mm.focus_municipality_id = $focus
ORDER BY CASE mm.role WHEN 'focus' THEN 0 WHEN 'peer' THEN 1 ELSE 2 END, mm.municipality_id;
