-- The inputs the marts were last built from (warehouse/marts.py, mart_inputs): a fingerprint of
-- the mart SQL, the contracts and every core and mapping table. A refresh whose inputs match
-- keeps the marts it copied from the published warehouse instead of rebuilding identical ones.
CREATE TABLE IF NOT EXISTS meta.mart_build (
    inputs   VARCHAR NOT NULL,
    run_id   VARCHAR NOT NULL,
    built_at TIMESTAMP NOT NULL
);
COMMENT ON TABLE meta.mart_build IS 'Fingerprint of the inputs the marts were last built from (own computation)';
