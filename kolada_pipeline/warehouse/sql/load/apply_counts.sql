-- How many values load/apply_values.sql inserted, revised and deleted; then its scratch goes.
SELECT change, count(*) AS n FROM value_change GROUP BY change
