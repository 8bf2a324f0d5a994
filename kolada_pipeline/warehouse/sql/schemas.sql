-- One schema per job: core holds Kolada as fetched, meta what the pipeline did, mapping the
-- municipalities' follow-up models, mart the published follow-up tables, staging a run's scratch.
CREATE SCHEMA IF NOT EXISTS core;
CREATE SCHEMA IF NOT EXISTS meta;
CREATE SCHEMA IF NOT EXISTS mapping;
CREATE SCHEMA IF NOT EXISTS mart;
CREATE SCHEMA IF NOT EXISTS staging;
