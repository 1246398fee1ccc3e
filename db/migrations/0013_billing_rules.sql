-- 0013_billing_rules: every way a request is billed, as data (issue 17).
--
-- price_versions gains the provider and the billing rules of each version. A NULL rule
-- is "no confirmed price": a request that needs it (a fast request on a model without a
-- fast-mode price, a web search without a search price, ...) is stored unpriced and
-- alerted like an unknown model, never priced as if the rule did not exist. How each
-- rule prices a request, and the rounding, is proto/PROTOCOL.md §4.2; the sources are
-- docs/PRICING_RULES.md. Multipliers are per mille (1100 = 1.1x) and apply to the
-- request's whole token cost (tier rates included); they stack by multiplication.
ALTER TABLE price_versions
    ADD COLUMN provider            text CHECK (provider ~ '^[a-z0-9][a-z0-9_-]{0,30}$'),
    ADD COLUMN fast_permille       bigint CHECK (fast_permille BETWEEN 1 AND 100000),
    ADD COLUMN geo_us_permille     bigint CHECK (geo_us_permille BETWEEN 1 AND 100000),
    ADD COLUMN batch_permille      bigint CHECK (batch_permille BETWEEN 1 AND 100000),
    ADD COLUMN web_search_nusd     bigint CHECK (web_search_nusd >= 0),
    ADD COLUMN code_exec_hour_nusd bigint CHECK (code_exec_hour_nusd >= 0);

-- The usage fields that decide those rules (PROTOCOL.md §4.1), and the part of cost_nusd
-- that server tools made. NULL when the event did not say (absent = standard speed,
-- global inference, not batch, no server tools).
ALTER TABLE events
    ADD COLUMN speed               text,
    ADD COLUMN inference_geo       text,
    ADD COLUMN batch               boolean,
    ADD COLUMN web_search_requests bigint,
    ADD COLUMN code_exec_ms        bigint,
    ADD COLUMN tool_cost_nusd      bigint;

-- Cost split by speed and by provider (PROTOCOL.md §12): two more rollup dimensions the
-- aggregator writes beside the others ('speed': standard / fast, '' for cost events;
-- 'provider': the price version's, '' when unpriced). And 'price', in final rollups only:
-- the tokens by the price version and long-context tier each usage was priced with (key
-- "<version_id>:t" / ":f", '' unpriced), from which reports price what caching saved
-- over closed days without reading their events (issue 16).
ALTER TABLE cost_summaries DROP CONSTRAINT cost_summaries_dimension;
ALTER TABLE cost_summaries ADD CONSTRAINT cost_summaries_dimension
    CHECK (dimension IN ('total', 'agent_type', 'model', 'agent', 'task', 'kind', 'speed',
                         'provider', 'price'));

-- The rules of the Anthropic rows 0002 seeded (only those: an operator's own rows are
-- the operator's). Sources, read 2026-12-06 (docs/PRICING_RULES.md §2.1):
--  * batch 50% off input and output, every model [doc] platform.claude.com pricing page
--    ("Batch processing": "50% discount on both input and output tokens");
--  * web search $10 per 1,000 searches [2nd] claudecodeguides.com, clawdemy.org;
--  * US-only inference (inference_geo "us") 1.1x on Opus 4.6, Sonnet 4.6 and later
--    models [doc] docs.aws.amazon.com/claude-platform/latest/userguide/data-residency;
--    earlier models refuse the parameter (HTTP 400), so they have no such price;
--  * fast mode 6x on Opus 4.6 [doc] platform.claude.com/docs/*/build-with-claude/fast-mode
--    ($30/$150 per MTok; fast pricing "stacks with other pricing modifiers"). Opus 4.7
--    (~6x) and Opus 4.8 (~2x) were found only approximately: no fast price, unpriced;
--  * code execution: no confirmed rate for any model, so none.
UPDATE price_versions SET provider = 'anthropic', batch_permille = 500,
                          web_search_nusd = 10000000
 WHERE source = 'anthropic list prices';
UPDATE price_versions SET geo_us_permille = 1100
 WHERE source = 'anthropic list prices'
   AND model IN ('claude-opus-4-6', 'claude-sonnet-4-6', 'claude-opus-4-7', 'claude-opus-4-8',
                 'claude-sonnet-5');
UPDATE price_versions SET fast_permille = 6000
 WHERE source = 'anthropic list prices' AND model = 'claude-opus-4-6';

-- Current Anthropic models the 0002 seed lacks, from db/pricing/anthropic-2026.csv (the
-- same rows; `fleetcost price import` reads that file). Effective from the model's
-- release where it is known (Opus 5, 2026-07-24), else from 2024-01-01 like 0002, so
-- that no usage of a model is left unpriced for want of a date (the sources give only
-- "listed on" dates). Fable/Mythos 5.2 and Sonnet/Haiku 5.5 have no confirmed cache
-- rates and stay out (unpriced).
INSERT INTO price_versions (model, effective_from, input, output, cache_read, cache_write_5m,
                            cache_write_1h, tier_threshold, provider, fast_permille,
                            geo_us_permille, batch_permille, web_search_nusd, source)
VALUES
    ('claude-opus-5-5', '2024-01-01 00:00:00+00', 4000, 20000, 200, 5000, 8000, 0, 'anthropic', NULL, 1100, 500, 10000000, 'platform.claude.com whats-new-opus-5 ($4/$20); cache rates claudit v1.8.2 + docs.litellm.ai claude_opus_5_5 (read 0.05x)'),
    ('claude-opus-5', '2026-07-24 00:00:00+00', 5000, 25000, 500, 6250, 10000, 0, 'anthropic', 2000, 1100, 500, 10000000, 'platform.claude.com whats-new-opus-5; fast 2x openrouter + vercel + ccsidekick 1.6.4'),
    ('claude-fable-5-1', '2024-01-01 00:00:00+00', 10000, 50000, 250, 12500, 20000, 0, 'anthropic', NULL, 1100, 500, 10000000, 'platform.claude.com/docs/en/about-claude/pricing (listed 2026-09-23)'),
    ('claude-mythos-5-1', '2024-01-01 00:00:00+00', 10000, 50000, 250, 12500, 20000, 0, 'anthropic', NULL, 1100, 500, 10000000, 'platform.claude.com/docs/en/about-claude/pricing (listed 2026-09-23)'),
    ('claude-fable-5', '2024-01-01 00:00:00+00', 10000, 50000, 1000, 12500, 20000, 0, 'anthropic', NULL, 1100, 500, 10000000, 'platform.claude.com/docs/en/about-claude/pricing (listed 2026-09-23)'),
    ('claude-mythos-5', '2024-01-01 00:00:00+00', 10000, 50000, 1000, 12500, 20000, 0, 'anthropic', NULL, 1100, 500, 10000000, 'platform.claude.com/docs/en/about-claude/pricing (listed 2026-09-23)')
ON CONFLICT (model, effective_from) DO NOTHING;

-- OpenAI and Google list prices, so the Codex and Gemini agents of the demo are priced:
-- db/pricing/openai.csv and google.csv (docs/PRICING_RULES.md §3.2, §4.2), generated by
-- db/pricing/gen_seed.sh <csv> '2024-01-01 00:00:00+00'. No rules: fast (priority),
-- batch and geo prices for these models are not confirmed for our use (Codex rollouts
-- and Gemini chats do not record them), so such usage would be unpriced.
INSERT INTO price_versions (model, effective_from, input, output, cache_read, cache_write_5m,
                            cache_write_1h, tier_threshold, tier_input, tier_output,
                            tier_cache_read, tier_cache_write_5m, tier_cache_write_1h, source,
                            provider)
VALUES
    ('gpt-5-codex', '2024-01-01 00:00:00+00', 1250, 10000, 125, 0, 0, 0, NULL, NULL, NULL, NULL, NULL, 'openai list prices', 'openai'),
    ('gpt-5', '2024-01-01 00:00:00+00', 1250, 10000, 125, 0, 0, 0, NULL, NULL, NULL, NULL, NULL, 'openai list prices', 'openai'),
    ('gpt-5.1-codex', '2024-01-01 00:00:00+00', 1250, 10000, 125, 0, 0, 0, NULL, NULL, NULL, NULL, NULL, 'openai list prices', 'openai'),
    ('gpt-5-mini', '2024-01-01 00:00:00+00', 250, 2000, 25, 0, 0, 0, NULL, NULL, NULL, NULL, NULL, 'openai list prices', 'openai'),
    ('gpt-5.2', '2024-01-01 00:00:00+00', 1750, 14000, 175, 0, 0, 0, NULL, NULL, NULL, NULL, NULL, 'openai list prices', 'openai'),
    ('gpt-5.2-codex', '2024-01-01 00:00:00+00', 1750, 14000, 175, 0, 0, 0, NULL, NULL, NULL, NULL, NULL, 'openai list prices', 'openai'),
    ('gpt-5.3-codex', '2024-01-01 00:00:00+00', 1750, 14000, 175, 0, 0, 0, NULL, NULL, NULL, NULL, NULL, 'openai list prices', 'openai')
ON CONFLICT (model, effective_from) DO NOTHING;
INSERT INTO price_versions (model, effective_from, input, output, cache_read, cache_write_5m,
                            cache_write_1h, tier_threshold, tier_input, tier_output,
                            tier_cache_read, tier_cache_write_5m, tier_cache_write_1h, source,
                            provider)
VALUES
    ('gemini-2.5-pro', '2024-01-01 00:00:00+00', 1250, 10000, 125, 0, 0, 200000, 2500, 15000, 250, 0, 0, 'google list prices', 'google')
ON CONFLICT (model, effective_from) DO NOTHING;

-- Rollups written before this migration get the two splits from what they hold, so a
-- split over old days still adds up to the total: no usage said a speed before now (all
-- of it was standard) and cost events have none, so 'speed' is the 'kind' rows with
-- 'usage' as 'standard' and every other kind as ''; 'provider' is the 'model' rows
-- under their family's provider ('' for models without one, and for cost events, whose
-- model key is ''). Exact for cost; an unpriced request of a family that has a provider
-- counts its tokens and event under that provider (its cost is 0 either way).
INSERT INTO cost_summaries (tenant_id, day, dimension, key, cost_nusd, input_tokens,
                            output_tokens, cache_read_tokens, cache_write_5m_tokens,
                            cache_write_1h_tokens, events, unpriced_events, final)
SELECT s.tenant_id, s.day, 'speed', CASE WHEN s.key = 'usage' THEN 'standard' ELSE '' END,
       sum(s.cost_nusd), sum(s.input_tokens), sum(s.output_tokens), sum(s.cache_read_tokens),
       sum(s.cache_write_5m_tokens), sum(s.cache_write_1h_tokens), sum(s.events),
       sum(s.unpriced_events), bool_and(s.final)
  FROM cost_summaries s WHERE s.dimension = 'kind'
 GROUP BY 1, 2, 3, 4
ON CONFLICT (tenant_id, day, dimension, key) DO NOTHING;
INSERT INTO cost_summaries (tenant_id, day, dimension, key, cost_nusd, input_tokens,
                            output_tokens, cache_read_tokens, cache_write_5m_tokens,
                            cache_write_1h_tokens, events, unpriced_events, final)
SELECT s.tenant_id, s.day, 'provider', coalesce(p.provider, ''),
       sum(s.cost_nusd), sum(s.input_tokens), sum(s.output_tokens), sum(s.cache_read_tokens),
       sum(s.cache_write_5m_tokens), sum(s.cache_write_1h_tokens), sum(s.events),
       sum(s.unpriced_events), bool_and(s.final)
  FROM cost_summaries s
  LEFT JOIN (SELECT DISTINCT ON (model) model, provider FROM price_versions
              WHERE provider IS NOT NULL ORDER BY model, effective_from DESC) p
         ON p.model = s.key
 WHERE s.dimension = 'model'
 GROUP BY 1, 2, 3, 4
ON CONFLICT (tenant_id, day, dimension, key) DO NOTHING;

-- Final days rolled up before this migration get their 'price' rows from their events,
-- where retention has kept them (one pass over events; events stored before 0012 have no
-- tier and count at base rates, as reports did for them).
INSERT INTO cost_summaries (tenant_id, day, dimension, key, cost_nusd, input_tokens,
                            output_tokens, cache_read_tokens, cache_write_5m_tokens,
                            cache_write_1h_tokens, events, unpriced_events, final)
SELECT e.tenant_id, (e.event_time AT TIME ZONE t.tz)::date, 'price',
       CASE WHEN e.price_version IS NULL THEN ''
            ELSE e.price_version || CASE WHEN e.price_tiered THEN ':t' ELSE ':f' END END,
       sum(e.cost_nusd), sum(e.input_tokens), sum(e.output_tokens), sum(e.cache_read_tokens),
       sum(e.cache_write_5m_tokens), sum(e.cache_write_1h_tokens), count(*),
       count(*) FILTER (WHERE e.unpriced), true
  FROM events e JOIN tenants t ON t.tenant_id = e.tenant_id
 WHERE e.cost_kind IS NOT NULL
   AND EXISTS (SELECT 1 FROM cost_summaries s
                WHERE s.tenant_id = e.tenant_id AND s.dimension = 'total' AND s.key = ''
                  AND s.final AND s.day = (e.event_time AT TIME ZONE t.tz)::date)
 GROUP BY 1, 2, 3, 4
ON CONFLICT (tenant_id, day, dimension, key) DO NOTHING;
