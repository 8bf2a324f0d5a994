-- Every run the published warehouse recorded, oldest first (kolada status, when there is no journal).
SELECT run_id, started_at, finished_at, mode, from_date, kpis, requests, retries,
       rows_fetched, rows_inserted, rows_revised, rows_deleted, rows_rejected, status,
       error, gate_passed, data_docs, base_url
FROM meta.refresh_run
ORDER BY started_at;
