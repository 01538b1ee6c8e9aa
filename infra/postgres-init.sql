-- One database per engine; the registry uses the default `hubscout` database.
CREATE DATABASE prefect;
CREATE DATABASE mlflow;
\c prefect
CREATE EXTENSION IF NOT EXISTS pg_trgm;
