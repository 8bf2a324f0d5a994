-- Every municipality's and region's title (for naming them in an edition's differences).
SELECT municipality_id, title
FROM core.municipality
ORDER BY municipality_id;
