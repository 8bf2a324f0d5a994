-- mart.unit_summary: per model, unit and period, the objectives by assessment, the assignments by
-- status and their indicators by target band. Units are those that own an objective or an
-- assignment, and the root (the council: the whole municipality). A unit's row counts its own
-- objects and those of every unit below it.
CREATE OR REPLACE TABLE mart.unit_summary AS
WITH RECURSIVE
unit AS (
    SELECT focus_municipality_id, unit_id, parent_id FROM mapping.org_unit
),
below (focus_municipality_id, unit_id, member_id) AS (   -- each unit with itself and every unit under it
    SELECT focus_municipality_id, unit_id, unit_id FROM unit
    UNION
    SELECT b.focus_municipality_id, b.unit_id, u.unit_id
    FROM below b
    JOIN unit u ON u.focus_municipality_id = b.focus_municipality_id AND u.parent_id = b.member_id
),
owner AS (
    SELECT focus_municipality_id, unit_id FROM mapping.objective
    UNION SELECT focus_municipality_id, unit_id FROM mapping.assignment
),
summarised AS (
    SELECT focus_municipality_id, unit_id FROM owner
    UNION SELECT focus_municipality_id, unit_id FROM unit WHERE parent_id IS NULL
),
member AS (      -- an owner missing from the organisation still counts for itself
    SELECT focus_municipality_id, unit_id, member_id FROM below
    UNION SELECT focus_municipality_id, unit_id, unit_id FROM owner
)
SELECT su.focus_municipality_id, su.unit_id, p.period,
       count(o.object_id) FILTER (WHERE o.object_kind = 'objective') AS objectives,
       count(o.object_id) FILTER (WHERE o.object_kind = 'objective' AND o.assessment = 'uppfyllt') AS objectives_met,
       count(o.object_id) FILTER (WHERE o.object_kind = 'objective' AND o.assessment = 'delvis uppfyllt') AS objectives_partly_met,
       count(o.object_id) FILTER (WHERE o.object_kind = 'objective' AND o.assessment = 'ej uppfyllt') AS objectives_not_met,
       count(o.object_id) FILTER (WHERE o.object_kind = 'objective'
                                    AND (o.assessment = 'ej bedömt' OR o.assessment IS NULL)) AS objectives_not_assessed,
       count(o.object_id) FILTER (WHERE o.object_kind = 'assignment') AS assignments,
       count(o.object_id) FILTER (WHERE o.object_kind = 'assignment' AND o.status = 'klart') AS assignments_done,
       count(o.object_id) FILTER (WHERE o.object_kind = 'assignment' AND o.status = 'pågår') AS assignments_ongoing,
       count(o.object_id) FILTER (WHERE o.object_kind = 'assignment' AND o.status = 'ej påbörjat') AS assignments_not_started,
       count(o.object_id) FILTER (WHERE o.object_kind = 'assignment' AND o.status = 'försenat') AS assignments_delayed,
       count(o.object_id) FILTER (WHERE o.object_kind = 'assignment' AND o.status = 'avbrutet') AS assignments_cancelled,
       coalesce(sum(o.indicators), 0)::BIGINT               AS indicators,
       coalesce(sum(o.indicators_green), 0)::BIGINT         AS indicators_green,
       coalesce(sum(o.indicators_yellow), 0)::BIGINT        AS indicators_yellow,
       coalesce(sum(o.indicators_red), 0)::BIGINT           AS indicators_red,
       coalesce(sum(o.indicators_without_value), 0)::BIGINT AS indicators_without_value
FROM summarised su
JOIN mart.gov_period p USING (focus_municipality_id)
LEFT JOIN member m USING (focus_municipality_id, unit_id)
LEFT JOIN mart.gov_object_period o
       ON o.focus_municipality_id = su.focus_municipality_id AND o.unit_id = m.member_id AND o.period = p.period
GROUP BY su.focus_municipality_id, su.unit_id, p.period, p.period_end
ORDER BY su.focus_municipality_id, su.unit_id, p.period_end, p.period;
