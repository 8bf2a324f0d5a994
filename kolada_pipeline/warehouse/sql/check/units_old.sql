-- Every unit with its type, from a warehouse built before units could retire.
SELECT municipality_id, type, false AS is_retired FROM core.municipality
