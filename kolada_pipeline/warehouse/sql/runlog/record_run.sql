-- Write (or overwrite) one run's row in meta.refresh_run; every column is a named parameter.
INSERT OR REPLACE INTO meta.refresh_run (
    run_id, started_at, finished_at, mode, from_date, kpis, requests, retries,
    rows_fetched, rows_inserted, rows_revised, rows_deleted, rows_rejected, status,
    error, gate_passed, data_docs, base_url
) VALUES (
    $run_id, $started_at, $finished_at, $mode, $from_date, $kpis, $requests, $retries,
    $rows_fetched, $rows_inserted, $rows_revised, $rows_deleted, $rows_rejected, $status,
    $error, $gate_passed, $data_docs, $base_url
)
