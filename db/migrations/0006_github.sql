-- GitHub task attribution (fleetcost github): per task, whether its issue's title and
-- labels were fetched, when to try again after a failure, and whether its cost was
-- commented on the issue. Kept on the task row so any number of workers can share the
-- queue (FOR UPDATE SKIP LOCKED).
ALTER TABLE tasks
    ADD COLUMN gh_synced_at    timestamptz,
    ADD COLUMN gh_next_try     timestamptz,
    ADD COLUMN gh_attempts     int NOT NULL DEFAULT 0,
    ADD COLUMN gh_error        text,
    ADD COLUMN gh_commented_at timestamptz;

CREATE INDEX tasks_github_pending ON tasks (tenant_id, task_id)
    WHERE repo IS NOT NULL AND issue IS NOT NULL AND gh_synced_at IS NULL;
