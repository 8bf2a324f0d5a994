-- Replace Kolada's KPI groups and municipality groups with this run's answer (registered
-- relations kpi_groups, kpi_group_members, municipality_groups, municipality_group_members).
DELETE FROM core.kpi_group_member;
DELETE FROM core.kpi_group;
INSERT INTO core.kpi_group SELECT id, title FROM kpi_groups;
INSERT INTO core.kpi_group_member SELECT group_id, member_id, member_title FROM kpi_group_members;
DELETE FROM core.municipality_group_member;
DELETE FROM core.municipality_group;
INSERT INTO core.municipality_group SELECT id, title FROM municipality_groups;
INSERT INTO core.municipality_group_member SELECT group_id, member_id, member_title FROM municipality_group_members;
