-- Requests and retries of every attempt so far (refresh/attempt.sql), and how many attempts failed.
SELECT coalesce(sum(requests), 0) AS requests,
       coalesce(sum(retries), 0) AS retries,
       count(*) FILTER (WHERE NOT succeeded) AS failed_attempts
FROM staging.attempt
