-- Rewrite the mapping schema from the follow-up models. The rows come as registered relations
-- named new_<table> (see kolada_pipeline/followup/tables.py); columns are matched by name.
DELETE FROM mapping.goal;
INSERT INTO mapping.goal BY NAME SELECT goal, title_sv, title_en, colour FROM new_goal;
DELETE FROM mapping.target;
INSERT INTO mapping.target BY NAME SELECT target, goal FROM new_target;
-- Kolada's operating areas → RKA's similar-municipalities areas (reference/comparison_areas.csv).
DELETE FROM mapping.comparison_area;
INSERT INTO mapping.comparison_area BY NAME SELECT operating_area, area FROM new_comparison_area;
DELETE FROM mapping.model;
INSERT INTO mapping.model BY NAME SELECT * FROM new_model;
DELETE FROM mapping.model_municipality;
INSERT INTO mapping.model_municipality BY NAME SELECT * FROM new_model_municipality;
DELETE FROM mapping.goal_kpi;
INSERT INTO mapping.goal_kpi BY NAME SELECT * FROM new_goal_kpi;
DELETE FROM mapping.local_kpi;
INSERT INTO mapping.local_kpi BY NAME SELECT * FROM new_local_kpi;
DELETE FROM mapping.local_value;
INSERT INTO mapping.local_value BY NAME SELECT * FROM new_local_value;
DELETE FROM mapping.retired_kpi;
INSERT INTO mapping.retired_kpi BY NAME SELECT * FROM new_retired_kpi;
-- The governance model (organisation, objectives, assignments, activities, indicators,
-- assessments); no rows for a model without governance files.
DELETE FROM mapping.org_unit;
INSERT INTO mapping.org_unit BY NAME SELECT * FROM new_org_unit;
DELETE FROM mapping.objective;
INSERT INTO mapping.objective BY NAME SELECT * FROM new_objective;
DELETE FROM mapping.assignment;
INSERT INTO mapping.assignment BY NAME SELECT * FROM new_assignment;
DELETE FROM mapping.object_goal;
INSERT INTO mapping.object_goal BY NAME SELECT * FROM new_object_goal;
DELETE FROM mapping.activity;
INSERT INTO mapping.activity BY NAME SELECT * FROM new_activity;
DELETE FROM mapping.indicator;
INSERT INTO mapping.indicator BY NAME SELECT * FROM new_indicator;
DELETE FROM mapping.assessment;
INSERT INTO mapping.assessment BY NAME SELECT * FROM new_assessment;
-- The comparison groups the files name: model.yaml's comparison_groups, kpis.csv's
-- comparison_group; no rows where they name none (mart.comparison_group then uses the defaults).
DELETE FROM mapping.model_comparison_group;
INSERT INTO mapping.model_comparison_group BY NAME SELECT * FROM new_model_comparison_group;
DELETE FROM mapping.kpi_comparison_group;
INSERT INTO mapping.kpi_comparison_group BY NAME SELECT * FROM new_kpi_comparison_group;
