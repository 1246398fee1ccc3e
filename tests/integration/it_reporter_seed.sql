-- it_reporter_seed: deterministic data for it_reporter.sh, inserted as the owner.
-- Three tenants in three time zones; March 2025 of usage and cost events (with
-- unpriced usage, agent-reported costs, small requests on an expensive model and one
-- task far above its type's median); final rollups for 2025-03-05 of acme (which must
-- win over that day's events) and for the year before March; a few events in the last
-- hours for the dashboard and live totals.
SELECT fc_ensure_event_partitions('2025-02-27', '2025-04-02');
SELECT fc_ensure_event_partitions((now() AT TIME ZONE 'UTC')::date - 3, (now() AT TIME ZONE 'UTC')::date + 2);

INSERT INTO tenants (tenant_id, name, tz) VALUES
    ('acme', 'Acme <Corp> & "Sons"', 'UTC'),
    ('globex', 'Globex', 'America/New_York'),
    ('initech', 'Initech', 'Asia/Tokyo');

-- 8 usage requests per tenant per day, every 3 hours from 00:30 UTC, 2025-02-28..2025-04-01
-- (so that tenant-local days at the edges of March are complete).
INSERT INTO events (event_id, event_time, tenant_id, event_type, agent_id, agent_type, task_id,
                    model, model_family, input_tokens, output_tokens, cache_read_tokens,
                    cache_write_5m_tokens, cache_write_1h_tokens, cost_nusd, cost_kind,
                    price_version, unpriced, reported_cost_nusd, ingest_id, seq)
SELECT gen_random_uuid(),
       timestamptz '2025-02-28 00:30:00+00' + d * interval '1 day' + h * interval '3 hours',
       t, 'usage', t || '-agent-' || (h % 4),
       (ARRAY['coder', 'reviewer', 'planner'])[1 + h % 3],
       t || '-task-' || ((d + h) % 6),
       m, m,
       CASE WHEN h % 4 = 1 THEN 1000 ELSE 20000 + h END,
       CASE WHEN h % 4 = 1 THEN 100 ELSE 1500 + d END,
       CASE WHEN h % 4 = 1 THEN 0 ELSE 50000 + d * 10 END,
       CASE WHEN h % 4 = 0 THEN 3000 ELSE 0 END,
       CASE WHEN h % 4 = 2 THEN 700 ELSE 0 END,
       CASE WHEN h % 4 = 3 THEN 0 ELSE 1000003 * (d + 1) + 7919 * h + length(t) * 13 END,
       'usage', CASE WHEN h % 4 = 3 THEN NULL ELSE 1 END, h % 4 = 3,
       CASE WHEN h % 4 = 0 THEN 1000003 * (d + 1) + 7919 * h + length(t) * 13 + 1234 END,
       'it', row_number() OVER ()
  FROM unnest(ARRAY['acme', 'globex', 'initech']) t,
       generate_series(0, 32) d, generate_series(0, 7) h,
       LATERAL (SELECT (ARRAY['claude-sonnet-4-5', 'claude-opus-4-1', 'claude-haiku-4-5',
                              'mystery-model'])[1 + h % 4] AS m) mm;

-- One runtime cost per tenant per day at 23:59 UTC (a different local day in New York
-- and Tokyo than in UTC), and one very expensive request on acme-task-0.
INSERT INTO events (event_id, event_time, tenant_id, event_type, agent_id, cost_nusd, cost_kind,
                    ingest_id, seq)
SELECT gen_random_uuid(), timestamptz '2025-02-28 23:59:00+00' + d * interval '1 day', t, 'cost',
       t || '-agent-1', 5000000 + d, 'runtime', 'it', 100000 + row_number() OVER ()
  FROM unnest(ARRAY['acme', 'globex', 'initech']) t, generate_series(0, 32) d;
INSERT INTO events (event_id, event_time, tenant_id, event_type, agent_id, agent_type, task_id,
                    model, model_family, input_tokens, output_tokens, cost_nusd, cost_kind,
                    ingest_id, seq)
VALUES (gen_random_uuid(), '2025-03-12 10:00:00+00', 'acme', 'usage', 'acme-agent-2', 'coder',
        'acme-task-0', 'claude-opus-4-1', 'claude-opus-4-1', 150000, 40000, 900000000017, 'usage',
        'it', 200000);

-- Lifecycle events carry no cost and must not count.
INSERT INTO events (event_id, event_time, tenant_id, event_type, agent_id, ingest_id, seq)
VALUES (gen_random_uuid(), '2025-03-12 10:00:00+00', 'acme', 'agent.spawn', 'acme-agent-0', 'it', 200001);

INSERT INTO agents (tenant_id, agent_id, agent_type, host, task_id, spawned_at, terminated_at, last_seen_at)
SELECT t, t || '-agent-' || i, (ARRAY['coder', 'reviewer', 'planner', 'coder'])[1 + i], 'host-1',
       t || '-task-' || i, timestamptz '2025-03-01 08:00:00+00' + i * interval '1 day',
       CASE WHEN i = 0 THEN NULL ELSE timestamptz '2025-03-20 08:00:00+00' END,
       CASE WHEN i = 0 THEN now() - interval '2 hours' ELSE timestamptz '2025-03-20 08:00:00+00' END
  FROM unnest(ARRAY['acme', 'globex', 'initech']) t, generate_series(0, 3) i;

INSERT INTO tasks (tenant_id, task_id, title, task_type, status, created_at, completed_at)
SELECT t, t || '-task-' || i,
       CASE WHEN i = 0 THEN '=HYPERLINK("x") <script>alert(1)</script>, "quoted"' ELSE 'Task ' || i END,
       CASE WHEN i < 4 THEN 'bugfix' ELSE 'feature' END,
       CASE WHEN i % 2 = 0 THEN 'done' ELSE 'open' END,
       timestamptz '2025-03-02 09:00:00+00' + i * interval '1 hour',
       CASE WHEN i % 2 = 0 THEN timestamptz '2025-03-15 12:30:00+00' END
  FROM unnest(ARRAY['acme', 'globex', 'initech']) t, generate_series(0, 5) i;

INSERT INTO task_agents (tenant_id, task_id, agent_id, assigned_at)
SELECT t, t || '-task-0', t || '-agent-' || i, '2025-03-02 09:00:00+00'
  FROM unnest(ARRAY['acme', 'globex', 'initech']) t, generate_series(1, 3) i;

INSERT INTO cost_alerts (tenant_id, kind, scope, period_key, threshold_pct, value_nusd, budget_nusd,
                         text, fired_at)
VALUES ('acme', 'threshold', 'day', '2025-03-12', 100, 900010000000, 100000000000,
        'acme spent 900% of its daily budget', '2025-03-12 10:00:05+00'),
       ('globex', 'threshold', 'month', '2025-03', 80, 8000000000, 10000000000,
        'globex at 80% of its monthly budget', '2025-03-20 12:00:00+00'),
       ('acme', 'unpriced', 'tenant', '2025-03', 0, 0, 0, 'unpriced usage of mystery-model',
        '2025-03-03 00:00:00+00');

INSERT INTO budgets (tenant_id, scope, amount_nusd) VALUES
    ('acme', 'daily', 100000000000), ('globex', 'monthly', 10000000000),
    ('*', 'monthly', 500000000000);

-- Final rollups (billed = list: no rate card). acme 2025-03-05 disagrees with that day's
-- events on purpose: a final rollup is the figure of record for its day.
INSERT INTO cost_summaries (tenant_id, day, dimension, key, cost_nusd, billed_nusd, input_tokens,
                            output_tokens, events, unpriced_events, final)
SELECT 'acme', '2025-03-05', d, k, 777000000001, 777000000001, 1000, 100, 3, 0, true
  FROM (VALUES ('total', ''), ('agent_type', 'coder'), ('model', 'claude-sonnet-4-5'),
               ('kind', 'usage'), ('agent', 'acme-agent-0'), ('task', 'acme-task-1')) v(d, k);
-- A year of daily rollups before March for acme.
INSERT INTO cost_summaries (tenant_id, day, dimension, key, cost_nusd, billed_nusd, input_tokens,
                            output_tokens, events, final)
SELECT 'acme', day::date, v.d, v.k, 1000000007, 1000000007, 500, 50, 2, true
  FROM generate_series(date '2024-03-01', date '2025-02-27', interval '1 day') day,
       (VALUES ('total', ''), ('agent_type', 'planner'), ('model', 'claude-haiku-4-5'),
               ('kind', 'usage')) v(d, k);
-- A non-final rollup is ignored (events are read for its day).
INSERT INTO cost_summaries (tenant_id, day, dimension, key, cost_nusd, billed_nusd, events, final)
VALUES ('globex', '2025-03-06', 'total', '', 123, 123, 1, false);

-- Recent spending for the dashboard (last hours; today's partition exists).
INSERT INTO events (event_id, event_time, tenant_id, event_type, agent_id, agent_type, task_id,
                    model, model_family, input_tokens, output_tokens, cost_nusd, cost_kind,
                    ingest_id, seq)
SELECT gen_random_uuid(), now() - i * interval '10 minutes', t, 'usage', t || '-agent-0', 'coder',
       t || '-task-1', 'claude-sonnet-4-5', 'claude-sonnet-4-5', 1000, 200, 4500000 + i, 'usage',
       'it', 300000 + row_number() OVER ()
  FROM unnest(ARRAY['acme', 'globex']) t, generate_series(0, 5) i;
