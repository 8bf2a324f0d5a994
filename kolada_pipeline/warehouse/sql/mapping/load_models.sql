-- Rewrite the mapping schema from the follow-up models. The rows come as registered relations
-- named new_<table> (see kolada_pipeline/followup/tables.py); columns are matched by name.
DELETE FROM mapping.goal;
INSERT INTO mapping.goal BY NAME SELECT goal, title_sv, title_en, colour FROM new_goal;
DELETE FROM mapping.target;
INSERT INTO mapping.target BY NAME SELECT target, goal FROM new_target;
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
