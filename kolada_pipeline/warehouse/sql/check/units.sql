-- Every unit with its type (K municipality, L region or Riket) and whether Kolada still lists it
-- (a warehouse built before units could retire has no is_retired column: see units_old.sql).
SELECT municipality_id, type, coalesce(is_retired, false) AS is_retired FROM core.municipality
