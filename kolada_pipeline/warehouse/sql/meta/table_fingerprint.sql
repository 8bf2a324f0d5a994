-- One table's content as (rows, sum of row hashes): independent of row order, changed by any
-- changed cell. The bookkeeping timestamps (first_seen_at, last_seen_at, last_changed_at) are
-- left out: no mart reads them, and last_seen_at moves on every run. Parameter: $table.
SELECT count(*) AS n,
       CAST(coalesce(sum(hash(*COLUMNS(lambda c: c NOT IN ('first_seen_at', 'last_seen_at', 'last_changed_at')))), 0)
            AS VARCHAR) AS hashes
FROM query_table($table)
