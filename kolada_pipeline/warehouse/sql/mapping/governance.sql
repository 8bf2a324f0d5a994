-- The governance model of each follow-up model (from the optional files organisation, objectives,
-- assignments, activities, indicators and assessments in mappings/<model>/), rewritten on every
-- refresh. Every table is keyed by the focus municipality, so several models live side by side.
-- Ids are unique across objectives, assignments and activities within a model. Key columns are
-- not null by being the key.
CREATE TABLE IF NOT EXISTS mapping.org_unit (
    focus_municipality_id VARCHAR,
    unit_id               VARCHAR,
    parent_id             VARCHAR,               -- NULL only for the root, the council
    title                 VARCHAR NOT NULL,
    kind                  VARCHAR NOT NULL,      -- kommunfullmäktige, kommunstyrelse, nämnd, förvaltning, verksamhetsområde, enhet
    kolada_ou_id          VARCHAR,
    PRIMARY KEY (focus_municipality_id, unit_id)
);
CREATE TABLE IF NOT EXISTS mapping.objective (
    focus_municipality_id VARCHAR,
    objective_id          VARCHAR,
    unit_id               VARCHAR NOT NULL,
    title                 VARCHAR NOT NULL,
    description           VARCHAR,
    goals                 VARCHAR NOT NULL,      -- ';'-separated goal numbers, as written
    targets               VARCHAR,               -- ';'-separated target codes, as written
    valid_from            INTEGER,
    valid_to              INTEGER,
    PRIMARY KEY (focus_municipality_id, objective_id)
);
CREATE TABLE IF NOT EXISTS mapping.assignment (
    focus_municipality_id VARCHAR,
    assignment_id         VARCHAR,
    title                 VARCHAR NOT NULL,
    description           VARCHAR,
    decision_ref          VARCHAR,
    decided_on            DATE,
    unit_id               VARCHAR NOT NULL,
    deadline              DATE,                  -- a year in the file means its 31 December
    goals                 VARCHAR NOT NULL,
    targets               VARCHAR,
    PRIMARY KEY (focus_municipality_id, assignment_id)
);
-- One row per (object, goal): which goals an objective or assignment serves.
CREATE TABLE IF NOT EXISTS mapping.object_goal (
    focus_municipality_id VARCHAR,
    object_id             VARCHAR,
    object_kind           VARCHAR NOT NULL,      -- objective or assignment
    goal                  INTEGER,
    PRIMARY KEY (focus_municipality_id, object_id, goal)
);
CREATE TABLE IF NOT EXISTS mapping.activity (
    focus_municipality_id VARCHAR,
    activity_id           VARCHAR,
    parent_id             VARCHAR NOT NULL,      -- an objective or an assignment
    parent_kind           VARCHAR NOT NULL,      -- objective or assignment
    title                 VARCHAR NOT NULL,
    unit_id               VARCHAR,
    start_date            DATE,
    end_date              DATE,
    PRIMARY KEY (focus_municipality_id, activity_id)
);
-- A KPI linked to an objective or assignment with a target value; year NULL = every year.
-- higher_is_better is resolved: the row's own column, else the model's KPI row.
CREATE TABLE IF NOT EXISTS mapping.indicator (
    focus_municipality_id VARCHAR NOT NULL,
    parent_id             VARCHAR NOT NULL,
    parent_kind           VARCHAR NOT NULL,      -- objective or assignment
    kpi_id                VARCHAR NOT NULL,
    year                  INTEGER,
    target_value          DOUBLE,
    warning_value         DOUBLE,
    higher_is_better      BOOLEAN NOT NULL,
    is_local              BOOLEAN NOT NULL,
    note                  VARCHAR,
    UNIQUE (focus_municipality_id, parent_id, kpi_id, year)
);
-- One row per object and reporting period. period_end: 31 Dec for YYYY, 30 Apr / 31 Aug for
-- YYYY-T1 / YYYY-T2, the month's last day for YYYY-MM.
CREATE TABLE IF NOT EXISTS mapping.assessment (
    focus_municipality_id VARCHAR,
    object_id             VARCHAR,
    object_kind           VARCHAR NOT NULL,      -- objective, assignment or activity
    period                VARCHAR,
    period_end            DATE NOT NULL,
    assessment            VARCHAR,               -- uppfyllt, delvis uppfyllt, ej uppfyllt, ej bedömt
    status                VARCHAR,               -- ej påbörjat, pågår, klart, försenat, avbrutet
    comment               VARCHAR,
    assessed_by           VARCHAR,
    assessed_on           DATE,
    PRIMARY KEY (focus_municipality_id, object_id, period)
);
