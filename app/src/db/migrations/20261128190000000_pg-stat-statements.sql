-- Up Migration

-- Per-statement timing for the slow-query work of issue #4. RDS preloads the library through the
-- parameter group (stacks/constructs/postgres-with-replicas.ts), the test harness does the same.
-- Creating the extension needs rds_superuser on RDS: a migration role without it gets a warning,
-- not a failed release, because the schema does not depend on the extension.
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_stat_statements') THEN
    CREATE EXTENSION IF NOT EXISTS pg_stat_statements;
  ELSE
    RAISE WARNING 'pg_stat_statements is not installed on this server; query statistics stay unavailable';
  END IF;
EXCEPTION WHEN insufficient_privilege THEN
  RAISE WARNING 'pg_stat_statements not created: role % may not create extensions (grant rds_superuser or create it once as the master user)', current_user;
END
$$;

-- Down Migration

-- Deliberately left in place: other tools (Performance Insights, dashboards) read it, it may have
-- existed before this migration, and it holds no data of ours.
SELECT 1;
