-- Each model's governance model in a line: objects and the reporting periods assessed.
SELECT m.focus_municipality_id, m.model_name,
       (SELECT count(*) FROM mapping.org_unit u WHERE u.focus_municipality_id = m.focus_municipality_id) AS units,
       (SELECT count(*) FROM mapping.objective o WHERE o.focus_municipality_id = m.focus_municipality_id) AS objectives,
       (SELECT count(*) FROM mapping.assignment a WHERE a.focus_municipality_id = m.focus_municipality_id) AS assignments,
       (SELECT count(*) FROM mapping.indicator i WHERE i.focus_municipality_id = m.focus_municipality_id) AS indicators,
       (SELECT string_agg(p.period, ', ' ORDER BY p.period_end, p.period)
        FROM (SELECT DISTINCT period, period_end FROM mapping.assessment s
              WHERE s.focus_municipality_id = m.focus_municipality_id) p) AS periods,
       (SELECT count(*) FROM mart.assignment_followup f
        WHERE f.focus_municipality_id = m.focus_municipality_id AND f.is_overdue
          AND f.period = (SELECT max_by(g.period, g.period_end) FROM mapping.assessment g
                          WHERE g.focus_municipality_id = m.focus_municipality_id)) AS overdue_now
FROM mapping.model m
ORDER BY m.focus_municipality_id
