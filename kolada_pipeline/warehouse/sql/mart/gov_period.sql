-- mart.gov_period (a helper view, not published): the reporting periods of each model, every
-- period named anywhere in its assessments, with the day it ends. Periods are ordered by
-- (period_end, period): a tie, such as 2026-04 and 2026-T1, goes by the period's text.
CREATE OR REPLACE VIEW mart.gov_period AS
SELECT focus_municipality_id, period, min(period_end) AS period_end
FROM mapping.assessment
GROUP BY focus_municipality_id, period;
