-- Every activity of the model ($focus) with its status in one period ($period, ending
-- $period_end): its row for the period, else its newest row for an earlier period (carried
-- forward), as mart.gov_object_period counts them.
SELECT act.activity_id, act.parent_id, act.title, act.unit_id, act.start_date, act.end_date,
       a.status, a.comment, a.period AS assessed_period,
       a.period IS NOT NULL AND a.period <> $period AS is_carried_forward
FROM mapping.activity act
LEFT JOIN mapping.assessment a
       ON a.focus_municipality_id = act.focus_municipality_id AND a.object_id = act.activity_id
      AND (a.period_end < $period_end OR (a.period_end = $period_end AND a.period <= $period))
WHERE act.focus_municipality_id = $focus
QUALIFY row_number() OVER (PARTITION BY act.activity_id
                           ORDER BY a.period_end DESC NULLS LAST, a.period DESC NULLS LAST) = 1
ORDER BY act.parent_id, act.activity_id;
