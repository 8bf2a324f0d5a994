-- The fetch completed: its quarantined rows join meta.rejected_row. An earlier attempt of the
-- same run that failed halfway left its rows only in staging, which load/staging.sql recreated,
-- so a retried fetch keeps exactly what a clean run would.
INSERT INTO meta.rejected_row SELECT * FROM staging.rejected_row
