-- it_reporter_tz_seed: four tenants in four time zones around a clock of
-- 2026-12-06 20:08 UTC, when their local dates differ:
--   utc0 UTC                  2026-12-06 20:08
--   akl  Pacific/Auckland     2026-12-07 09:08 (+13)
--   kol  Asia/Kolkata         2026-12-07 01:38 (+5:30)
--   lax  America/Los_Angeles  2026-12-06 12:08 (-8)
-- Usage every 50 minutes (so every hour of every local day gets some) from October on,
-- up to five minutes before the clock, with every token kind; final rollups (computed
-- from those events, so both sources agree) for akl's and lax's days before their local
-- 2026-12-04; agents, tasks and alerts near each tenant's local midnight.
SELECT fc_ensure_event_partitions('2026-10-01', '2026-12-09');

INSERT INTO tenants (tenant_id, name, tz) VALUES
    ('utc0', 'Zero', 'UTC'), ('akl', 'Auckland', 'Pacific/Auckland'),
    ('kol', 'Kolkata', 'Asia/Kolkata'), ('lax', 'Los Angeles', 'America/Los_Angeles');

INSERT INTO events (event_id, event_time, tenant_id, event_type, agent_id, agent_type, task_id,
                    model, model_family, input_tokens, output_tokens, cache_read_tokens,
                    cache_write_5m_tokens, cache_write_1h_tokens, cost_nusd, cost_kind,
                    price_version, unpriced, ingest_id, seq)
SELECT gen_random_uuid(), ts, t, 'usage', t || '-agent-' || (i % 5),
       (ARRAY['coder', 'reviewer', 'planner'])[1 + i % 3], t || '-task-' || (i % 7),
       m, m, 1000 + i % 97, 200 + i % 31, 5000 + i % 13, CASE WHEN i % 4 = 0 THEN 700 ELSE 0 END,
       CASE WHEN i % 4 = 2 THEN 300 ELSE 0 END,
       1000003 * (1 + i % 11) + 7919 * length(t) + (CASE WHEN t = 'akl' THEN 5 ELSE 1 END) * 1000000,
       CASE WHEN i % 9 = 0 THEN 'runtime' ELSE 'usage' END, 1, false, 'it', row_number() OVER ()
  FROM unnest(ARRAY['utc0', 'akl', 'kol', 'lax']) t,
       LATERAL (SELECT i, timestamptz '2026-10-20 00:00:00+00' + i * interval '50 minutes' AS ts
                  FROM generate_series(0, 1400) i) g,
       LATERAL (SELECT (ARRAY['claude-sonnet-4-5', 'claude-opus-4-1', 'claude-haiku-4-5'])[1 + i % 3]
                       AS m) mm
 WHERE ts <= timestamptz '2026-12-06 20:03:00+00';

-- Final rollups of akl and lax before their local 2026-12-04, from their events (billed
-- as the aggregator rolls it up: NULL in an event is billed = list, 0016).
INSERT INTO cost_summaries (tenant_id, day, dimension, key, cost_nusd, billed_nusd,
                            input_tokens, output_tokens, cache_read_tokens,
                            cache_write_5m_tokens, cache_write_1h_tokens, events,
                            unpriced_events, final)
SELECT e.tenant_id, (e.event_time AT TIME ZONE t.tz)::date, v.dim, v.key,
       sum(e.cost_nusd), sum(coalesce(e.billed_nusd, e.cost_nusd)), sum(e.input_tokens), sum(e.output_tokens), sum(e.cache_read_tokens),
       sum(e.cache_write_5m_tokens), sum(e.cache_write_1h_tokens), count(*),
       count(*) FILTER (WHERE e.unpriced), true
  FROM events e JOIN tenants t USING (tenant_id),
       LATERAL (VALUES ('total', ''), ('agent_type', e.agent_type), ('model', e.model_family),
                       ('kind', e.cost_kind), ('agent', e.agent_id), ('task', e.task_id)) v(dim, key)
 WHERE e.tenant_id IN ('akl', 'lax') AND (e.event_time AT TIME ZONE t.tz)::date < '2026-12-04'
 GROUP BY 1, 2, 3, 4;

-- Agents stopped before the clock: a running agent's runtime grows with the clock, and
-- the tenant views are read at (slightly) different times.
INSERT INTO agents (tenant_id, agent_id, agent_type, host, task_id, spawned_at, terminated_at,
                    last_seen_at)
SELECT t, t || '-agent-' || i, (ARRAY['coder', 'reviewer', 'planner'])[1 + i % 3], 'h', t || '-task-' || i,
       timestamptz '2026-11-20 00:00:00+00' + i * interval '1 day',
       timestamptz '2026-12-06 11:00:00+00' + i * interval '2 hours',
       timestamptz '2026-12-06 11:00:00+00' + i * interval '2 hours'
  FROM unnest(ARRAY['utc0', 'akl', 'kol', 'lax']) t, generate_series(0, 4) i;
INSERT INTO tasks (tenant_id, task_id, title, task_type, status, created_at, completed_at)
SELECT t, t || '-task-' || i, 'Task ' || i, 'feature', 'done', '2026-11-01 00:00:00+00',
       -- each tenant's local 2026-12-07 00:30 and 2026-12-06 00:30
       (CASE WHEN i % 2 = 0 THEN timestamp '2026-12-07 00:30' ELSE timestamp '2026-12-06 00:30' END)
         AT TIME ZONE tz
  FROM tenants, generate_series(0, 6) i, LATERAL (SELECT tenant_id AS t) x;

-- akl crossed its daily budget on its local 2026-12-07 (UTC still 2026-12-06); kol fired
-- at 00:30 of its 2026-12-07; lax on its 2026-12-05; akl's local 2026-11-07 23:30 lies
-- before akl's last 30 days although the UTC 30 days reach that date.
INSERT INTO cost_alerts (tenant_id, kind, scope, period_key, threshold_pct, value_nusd, budget_nusd, text, fired_at)
VALUES ('akl', 'threshold', 'day', '2026-12-07', 50, 50, 100, 'akl at 50% of its daily budget', '2026-12-06 19:00:00+00'),
       ('akl', 'threshold', 'day', '2026-12-07', 80, 80, 100, 'akl at 80% of its daily budget', '2026-12-06 19:30:00+00'),
       ('akl', 'threshold', 'day', '2026-12-07', 100, 100, 100, 'akl over its daily budget', '2026-12-06 20:00:00+00'),
       ('kol', 'threshold', 'day', '2026-12-07', 50, 50, 100, 'kol at 50% of its daily budget', '2026-12-06 19:00:00+00'),
       ('lax', 'threshold', 'day', '2026-12-05', 50, 50, 100, 'lax at 50% of its daily budget', '2026-12-06 07:30:00+00'),
       ('akl', 'threshold', 'day', '2026-11-07', 50, 50, 100, 'akl, before its window', '2026-11-07 10:30:00+00'),
       ('utc0', 'threshold', 'day', '2026-11-06', 50, 50, 100, 'utc0, before its window', '2026-11-06 23:00:00+00');

-- Monthly budgets for the budget burn: akl its own, the others the '*' default.
INSERT INTO budgets (tenant_id, scope, amount_nusd) VALUES
    ('akl', 'monthly', 300000000000), ('*', 'monthly', 100000000000);
