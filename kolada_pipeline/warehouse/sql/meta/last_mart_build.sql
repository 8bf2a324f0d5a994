-- The fingerprint of the inputs the marts in this warehouse were built from (none before the
-- first build).
SELECT inputs FROM meta.mart_build
