/*  fleetcost price: the price catalog (price_versions), and reprice.

    price list [--model M]
    price set --model FAMILY --effective-from DATE --input N --output N --cache-read N
              --cache-write-5m N --cache-write-1h N
              [--tier-threshold T --tier-input N ... --tier-cache-write-1h N]
              [--provider P] [--source TEXT] [--fast-permille N] [--geo-us-permille N]
              [--batch-permille N] [--web-search-nusd N] [--code-exec-hour-nusd N]
    price import FILE [--effective-from DATE]        (the CSV format of db/pricing/; the
                                                     date is for rows without their own)
    reprice --from DATE --to DATE [--tenant T]

    Rates are integer nano-USD per token ($3 per million tokens = 3000). A new price is
    a new version effective from its date; nothing is overwritten. Every change is an
    audit_log row in the same transaction.

    reprice recomputes the cost of every usage event in [from 00:00 UTC, to+1 00:00
    UTC) with the version in force at each event's time, using the same C pricing code
    as ingest, and its billed cost with the tenant's rate card in force then (lib/fc_rate,
    as ingest), and records per tenant a restatement (old and new list and billed
    totals). `fleetcost rate set|end` restate through the same function
    (cmd_price_restate). It then sends
    NOTIFY fleetcost_restate with "tenant from to", recomputes the tenants' daily
    rollups in the window (cost_summaries) with the aggregator's queries, and removes the
    aggregators' Redis sentinels so they rebuild their totals from Postgres and publish
    corrected summaries. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli_sub.h"
#include "commands.h"
#include "fc_buf.h"
#include "fc_config.h"
#include "fc_log.h"
#include "fc_pg.h"
#include "fc_price.h"
#include "fc_price_pg.h"
#include "fc_rate_pg.h"
#include "fc_redis.h"
#include "aggregator_keys.h"
#include "aggregator_pg.h"
#include "fc_time.h"

#include <hiredis/hiredis.h>

#define MODULE "price"

static const char *s_rate_names[FC_TOK_COUNT] = {"input", "output", "cache-read", "cache-write-5m",
                                                 "cache-write-1h"};

static const fc_option_t s_options[] = {
    {"model", FC_OPT_STR, "", 0, 0, false, "model family (normalised, e.g. claude-sonnet-4-5)"},
    {"effective-from", FC_OPT_STR, "", 0, 0, false, "date (YYYY-MM-DD, UTC) the price starts"},
    {"input", FC_OPT_INT, "-1", -1, INT64_C(1000000000), false, "nano-USD per input token"},
    {"output", FC_OPT_INT, "-1", -1, INT64_C(1000000000), false, "nano-USD per output token"},
    {"cache-read", FC_OPT_INT, "-1", -1, INT64_C(1000000000), false, "per cache-read token"},
    {"cache-write-5m", FC_OPT_INT, "-1", -1, INT64_C(1000000000), false,
     "per 5-minute cache-write token"},
    {"cache-write-1h", FC_OPT_INT, "-1", -1, INT64_C(1000000000), false,
     "per 1-hour cache-write token"},
    {"tier-threshold", FC_OPT_INT, "0", 0, INT64_C(100000000), false,
     "long-context threshold in prompt tokens (0: none)"},
    {"tier-input", FC_OPT_INT, "-1", -1, INT64_C(1000000000), false, "tier rate, input"},
    {"tier-output", FC_OPT_INT, "-1", -1, INT64_C(1000000000), false, "tier rate, output"},
    {"tier-cache-read", FC_OPT_INT, "-1", -1, INT64_C(1000000000), false, "tier rate, cache read"},
    {"tier-cache-write-5m", FC_OPT_INT, "-1", -1, INT64_C(1000000000), false,
     "tier rate, 5-minute cache write"},
    {"tier-cache-write-1h", FC_OPT_INT, "-1", -1, INT64_C(1000000000), false,
     "tier rate, 1-hour cache write"},
    {"provider", FC_OPT_STR, "", 0, 0, false, "provider, e.g. anthropic, openai, google"},
    {"fast-permille", FC_OPT_INT, "-1", -1, 100000, false,
     "fast-mode multiplier, 1/1000 (6000 = 6x; absent: fast requests unpriced)"},
    {"geo-us-permille", FC_OPT_INT, "-1", -1, 100000, false,
     "US-only inference multiplier, 1/1000 (1100 = 1.1x)"},
    {"batch-permille", FC_OPT_INT, "-1", -1, 100000, false,
     "batch multiplier, 1/1000 (500 = half price)"},
    {"web-search-nusd", FC_OPT_INT, "-1", -1, INT64_C(1000000000000), false,
     "nano-USD per web search (10000000 = $10 per 1000)"},
    {"code-exec-hour-nusd", FC_OPT_INT, "-1", -1, INT64_C(1000000000000), false,
     "nano-USD per hour of code execution"},
    {"source", FC_OPT_STR, "", 0, 0, false, "where the prices were read (URL, document)"},
    {"from", FC_OPT_STR, "", 0, 0, false, "reprice: first day (YYYY-MM-DD, UTC)"},
    {"to", FC_OPT_STR, "", 0, 0, false, "reprice: last day, inclusive"},
    {"tenant", FC_OPT_STR, "", 0, 0, false, "reprice: only this tenant"},
    {"actor", FC_OPT_STR, "", 0, 0, false, "who makes the change (default: $USER)"},
    FC_OPT_END};

//  Inserts one price version and its audit row. The price is checked by fc_catalog_add
//  first, the same rules ingest applies when it loads the catalog.
static int s_insert(PGconn *pg, const fc_price_t *p, const char *date, const char *source,
                    const char *actor)
{
    fc_catalog_t *check = fc_catalog_new();
    fc_price_t copy = *p;
    copy.version = 1;
    int bad = fc_catalog_add(check, &copy);
    fc_catalog_destroy(&check);
    if (bad) {
        fprintf(stderr,
                "price: %s: invalid price (rates must be >= 0; tier rates set, and only,"
                " with a threshold; multipliers 1..100000 per mille; the family in normal"
                " form)\n",
                p->family);
        return -1;
    }
    //  A rule without a confirmed price is NULL, never 0 (fc_price.h, FC_RULE_*).
    char rv[5][24];
    const int64_t rule_value[5] = {p->fast_permille, p->geo_us_permille, p->batch_permille,
                                   p->web_search_nusd, p->code_exec_hour_nusd};
    for (int k = 0; k < 5; k++)
        snprintf(rv[k], sizeof rv[k], "%" PRId64, rule_value[k]);
    char v[13][24];
    for (int k = 0; k < FC_TOK_COUNT; k++) {
        snprintf(v[k], sizeof v[k], "%" PRId64, p->rate[k]);
        snprintf(v[6 + k], sizeof v[6 + k], "%" PRId64, p->tier_rate[k]);
    }
    snprintf(v[5], sizeof v[5], "%" PRId64, p->tier_threshold);
    bool tier = p->tier_threshold > 0;
    const char *params[21] = {p->family,
                              date,
                              v[0],
                              v[1],
                              v[2],
                              v[3],
                              v[4],
                              v[5],
                              tier ? v[6] : NULL,
                              tier ? v[7] : NULL,
                              tier ? v[8] : NULL,
                              tier ? v[9] : NULL,
                              tier ? v[10] : NULL,
                              p->source[0] ? p->source : source,
                              actor,
                              p->provider[0] ? p->provider : NULL,
                              (p->rules & FC_RULE_FAST) ? rv[0] : NULL,
                              (p->rules & FC_RULE_GEO_US) ? rv[1] : NULL,
                              (p->rules & FC_RULE_BATCH) ? rv[2] : NULL,
                              (p->rules & FC_RULE_WEB_SEARCH) ? rv[3] : NULL,
                              (p->rules & FC_RULE_CODE_EXEC) ? rv[4] : NULL};
    PGresult *r = fc_pg_query(
        pg, MODULE, "price set",
        "WITH p AS (INSERT INTO price_versions (model, effective_from, input, output, cache_read,"
        " cache_write_5m, cache_write_1h, tier_threshold, tier_input, tier_output,"
        " tier_cache_read, tier_cache_write_5m, tier_cache_write_1h, source, provider,"
        " fast_permille, geo_us_permille, batch_permille, web_search_nusd, code_exec_hour_nusd)"
        " VALUES ($1, $2::date::timestamp AT TIME ZONE 'UTC', $3, $4, $5, $6, $7, $8, $9, $10,"
        " $11, $12, $13, $14, $16, $17, $18, $19, $20, $21) RETURNING *)"
        " INSERT INTO audit_log (actor, action, object, after)"
        " SELECT $15, 'price.set', p.model || '@' || $2, to_jsonb(p) FROM p"
        " RETURNING (after->>'version_id')",
        21, params);
    if (!r)
        return -1;
    printf("price: %s from %s is version %s\n", p->family, date, PQgetvalue(r, 0, 0));
    PQclear(r);
    return 0;
}

static int s_set(fc_config_t *cfg, PGconn *pg)
{
    fc_price_t p;
    memset(&p, 0, sizeof p);
    const char *date = fc_config_str(cfg, "effective-from");
    if (fc_model_normalise(fc_config_str(cfg, "model"), p.family, sizeof p.family) != 0 || !*date) {
        fprintf(stderr, "price set: --model and --effective-from are required\n");
        return 2;
    }
    char name[48];
    for (int k = 0; k < FC_TOK_COUNT; k++) {
        p.rate[k] = fc_config_int(cfg, s_rate_names[k]);
        snprintf(name, sizeof name, "tier-%s", s_rate_names[k]);
        p.tier_rate[k] = fc_config_int(cfg, name);
        if (p.rate[k] < 0) {
            fprintf(stderr, "price set: --%s is required\n", s_rate_names[k]);
            return 2;
        }
    }
    p.tier_threshold = fc_config_int(cfg, "tier-threshold");
    if (!p.tier_threshold)
        memset(p.tier_rate, 0, sizeof p.tier_rate);
    snprintf(p.provider, sizeof p.provider, "%s", fc_config_str(cfg, "provider"));
    snprintf(p.source, sizeof p.source, "%s", fc_config_str(cfg, "source"));
    static const char *rule_opts[5] = {"fast-permille", "geo-us-permille", "batch-permille",
                                       "web-search-nusd", "code-exec-hour-nusd"};
    int64_t *rule_value[5] = {&p.fast_permille, &p.geo_us_permille, &p.batch_permille,
                              &p.web_search_nusd, &p.code_exec_hour_nusd};
    for (int k = 0; k < 5; k++)
        if (fc_config_int(cfg, rule_opts[k]) >= 0) {
            *rule_value[k] = fc_config_int(cfg, rule_opts[k]);
            p.rules |= 1u << k;
        }
    return s_insert(pg, &p, date, "fleetcost price set", cmd_actor(cfg)) ? 1 : 0;
}

static int s_import(fc_config_t *cfg, PGconn *pg, const char *path)
{
    const char *date = fc_config_str(cfg, "effective-from");
    fc_catalog_t *cat = fc_catalog_new();
    char err[256];
    //  Loaded with effective_from 0: a row with its own effective_from column differs.
    if (fc_catalog_load_csv(cat, path, 1, 0, err, sizeof err) != 0) {
        fprintf(stderr, "price import: %s\n", err);
        fc_catalog_destroy(&cat);
        return 2;
    }
    for (size_t i = 0; !*date && i < fc_catalog_count(cat); i++)
        if (fc_catalog_at(cat, i)->effective_from_us == 0) {
            fprintf(stderr,
                    "price import: --effective-from is required (%s has rows without"
                    " their own effective_from)\n",
                    path);
            fc_catalog_destroy(&cat);
            return 2;
        }
    //  All rows in one transaction: a file is imported whole or not at all.
    int rc = fc_pg_exec(pg, MODULE, "begin", "BEGIN");
    for (size_t i = 0; rc == 0 && i < fc_catalog_count(cat); i++) {
        const fc_price_t *p = fc_catalog_at(cat, i);
        char own[16];
        if (p->effective_from_us) {
            int64_t y;
            int m, d;
            fc_civil_from_days(p->effective_from_us / INT64_C(86400000000), &y, &m, &d);
            snprintf(own, sizeof own, "%04d-%02d-%02d", (int)y, m, d);
        }
        rc = s_insert(pg, p, p->effective_from_us ? own : date, path, cmd_actor(cfg));
    }
    if (rc == 0)
        rc = fc_pg_exec(pg, MODULE, "commit", "COMMIT");
    else
        fc_pg_rollback(pg);
    if (rc == 0)
        printf("price: imported %zu versions from %s\n", fc_catalog_count(cat), path);
    fc_catalog_destroy(&cat);
    return rc ? 1 : 0;
}

static int s_list(fc_config_t *cfg, PGconn *pg)
{
    const char *model = fc_config_str(cfg, "model");
    const char *p[1] = {*model ? model : NULL};
    PGresult *r = fc_pg_query(pg, MODULE, "price list",
                              "SELECT version_id, model, effective_from::date, input, output,"
                              " cache_read, cache_write_5m, cache_write_1h, tier_threshold,"
                              " coalesce(tier_input::text, ''), coalesce(tier_output::text, ''),"
                              " coalesce(provider, ''), coalesce(fast_permille::text, '-'),"
                              " coalesce(geo_us_permille::text, '-'),"
                              " coalesce(batch_permille::text, '-'),"
                              " coalesce(web_search_nusd::text, '-')"
                              " FROM price_versions WHERE $1::text IS NULL OR model = $1"
                              " ORDER BY model, effective_from",
                              1, p);
    if (!r)
        return 1;
    printf("%-5s %-22s %-10s %8s %8s %8s %8s %8s %8s %8s %8s %-9s %6s %6s %6s %9s\n", "VER",
           "MODEL", "FROM", "INPUT", "OUTPUT", "C.READ", "C.W5M", "C.W1H", "TIER>", "T.IN", "T.OUT",
           "PROVIDER", "FAST", "GEO.US", "BATCH", "SEARCH");
    for (int i = 0; i < PQntuples(r); i++) {
        printf("%-5s %-22s %-10s", PQgetvalue(r, i, 0), PQgetvalue(r, i, 1), PQgetvalue(r, i, 2));
        for (int c = 3; c < 11; c++)
            printf(" %8s", PQgetvalue(r, i, c));
        printf(" %-9s %6s %6s %6s %9s\n", PQgetvalue(r, i, 11), PQgetvalue(r, i, 12),
               PQgetvalue(r, i, 13), PQgetvalue(r, i, 14), PQgetvalue(r, i, 15));
    }
    printf("(nano-USD per token; FAST, GEO.US, BATCH: multipliers per mille, - = no confirmed"
           " price; SEARCH: nano-USD per web search)\n");
    PQclear(r);
    return 0;
}

//  --- reprice ---------------------------------------------------------------------------

typedef struct {
    char tenant[FC_MAX_TENANT + 1];
    int64_t old_cost, new_cost, old_billed, new_billed, changed;
} s_total_t;

static s_total_t *s_total(s_total_t *t, int *n, int max, const char *tenant)
{
    for (int i = 0; i < *n; i++)
        if (strcmp(t[i].tenant, tenant) == 0)
            return &t[i];
    if (*n >= max)
        return NULL;
    memset(&t[*n], 0, sizeof t[*n]);
    snprintf(t[*n].tenant, sizeof t[*n].tenant, "%s", tenant);
    return &t[(*n)++];
}

//  The derived data of a repriced tenant: its daily rollups in the window are recomputed
//  from events with the aggregator's own queries (final for days that have closed in
//  the tenant's zone).
static int s_restate_rollups(PGconn *pg, const char *tenant, const char *from, const char *to)
{
    char tz[64] = "";
    int found = aggregator_pg_tenant_tz(pg, tenant, tz, sizeof tz); //  1 found, 0 not, -1
    if (found < 0)
        return -1;
    if (found == 0 || !tz[0])
        snprintf(tz, sizeof tz, "UTC"); //  not registered (yet): days are UTC
    //  Tenant-local days around the UTC window: one day either side covers every zone.
    const char *p[4] = {from, to, tz};
    PGresult *r = fc_pg_query(pg, MODULE, "window days",
                              "SELECT ($1::date - 1)::text, ($2::date + 1)::text,"
                              " ((now() AT TIME ZONE $3)::date)::text",
                              3, p);
    if (!r)
        return -1;
    char since[11], until[11], today[11];
    snprintf(since, sizeof since, "%s", PQgetvalue(r, 0, 0));
    snprintf(until, sizeof until, "%s", PQgetvalue(r, 0, 1));
    snprintf(today, sizeof today, "%s", PQgetvalue(r, 0, 2));
    PQclear(r);
    const char *tenants[1] = {tenant}, *tzs[1] = {tz}, *sinces[1] = {since}, *untils[1] = {until};
    aggregator_span_t span = {tenants, tzs, sinces, untils, 1};
    aggregator_rows_t sums = {0};
    aggregator_seq_t *seqs = NULL;
    size_t nseqs = 0;
    if (aggregator_pg_snapshot(pg, &span, false, &sums, &seqs, &nseqs) != 0) {
        aggregator_rows_free(&sums);
        return -1;
    }
    const aggregator_row_t *rows = sums.rows;
    size_t nrows = sums.n;
    int rc = 0;
    for (size_t i = 0; i < nrows && rc == 0;) {
        size_t j = i;
        while (j < nrows && strcmp(rows[j].day, rows[i].day) == 0)
            j++;
        rc = aggregator_pg_rollup(pg, tenant, rows[i].day, strcmp(rows[i].day, today) < 0, &rows[i],
                                  j - i);
        i = j;
    }
    aggregator_rows_free(&sums);
    free(seqs);
    return rc;
}

//  Redis totals: removing every aggregator shard's sentinel makes each aggregator
//  rebuild its tenants' current and previous months from Postgres (now repriced) and
//  publish corrected summaries, the same path as after a lost Redis. The server is the
//  aggregators' (lib/fc_redis: the URL's password and db, or the master the sentinels
//  name, since a replica would refuse the DEL).
static int s_restate_redis(fc_config_t *cfg)
{
    fc_redis_target_t target;
    const char *why;
    char where[300], err[600];
    if (fc_redis_target_init(&target, fc_config_str(cfg, "redis-url"),
                             fc_config_str(cfg, "redis-sentinels"),
                             fc_config_str(cfg, "redis-master-name"), &why) != 0) {
        fc_warn(MODULE, "%s: the aggregators keep their old totals until their next rebuild", why);
        return -1;
    }
    redisContext *c = fc_redis_connect(&target, 2000, where, sizeof where, err, sizeof err);
    if (!c) {
        fc_warn(MODULE,
                "redis %s unreachable (%s): the aggregators keep their old totals until"
                " their next rebuild",
                where, err);
        return -1;
    }
    int removed = 0;
    char pattern[AGGREGATOR_KEY_MAX];
    aggregator_key_ready(pattern, "*"); //  every shard's sentinel
    redisReply *keys = redisCommand(c, "KEYS %s", pattern);
    for (size_t i = 0; keys && keys->type == REDIS_REPLY_ARRAY && i < keys->elements; i++) {
        redisReply *d = redisCommand(c, "DEL %s", keys->element[i]->str);
        removed += d && d->type == REDIS_REPLY_INTEGER ? (int)d->integer : 0;
        if (d)
            freeReplyObject(d);
    }
    if (keys)
        freeReplyObject(keys);
    redisFree(c);
    printf("reprice: %d aggregator shard(s) told to rebuild their Redis totals\n", removed);
    return 0;
}

static int s_reprice(fc_config_t *cfg, PGconn *pg)
{
    const char *from = fc_config_str(cfg, "from"), *to = fc_config_str(cfg, "to");
    const char *tenant = fc_config_str(cfg, "tenant");
    if (!*from || !*to) {
        fprintf(stderr, "reprice: --from and --to are required\n");
        return 2;
    }
    return cmd_price_restate(cfg, pg, from, to, *tenant ? tenant : NULL, "reprice");
}

int cmd_price_restate(fc_config_t *cfg, PGconn *pg, const char *from, const char *to,
                      const char *tenant, const char *reason)
{
    fc_catalog_t *cat = fc_catalog_load_pg(pg, MODULE);
    if (!cat)
        return 1;
    fc_rates_t *rates = fc_rates_load_pg(pg, MODULE);
    if (!rates) {
        fc_catalog_destroy(&cat);
        return 1;
    }
    enum { MAX_TENANTS = 4096 };
    s_total_t *totals = calloc(MAX_TENANTS, sizeof *totals);
    int ntot = 0, rc = 1;
    fc_buf_t rows;
    fc_buf_init(&rows);
    const char *p[3] = {from, to, tenant};
    if (fc_pg_exec(pg, MODULE, "begin", "BEGIN") != 0)
        goto done;
    //  Every usage event of the window, locked, read in chunks through a cursor so
    //  memory stays flat whatever the window.
    PGresult *r = fc_pg_query(
        pg, MODULE, "reprice cursor",
        "DECLARE reprice CURSOR FOR SELECT event_id::text,"
        " (extract(epoch FROM event_time) * 1000000)::bigint, tenant_id, coalesce(model, ''),"
        " input_tokens, output_tokens, cache_read_tokens, cache_write_5m_tokens,"
        " cache_write_1h_tokens, cost_nusd, coalesce(price_version, 0), unpriced,"
        " coalesce(price_tiered::text, ''), coalesce(speed, ''), coalesce(inference_geo, ''),"
        " coalesce(batch, false), coalesce(web_search_requests, 0), coalesce(code_exec_ms, 0),"
        " coalesce(tool_cost_nusd, 0), coalesce(billed_nusd, cost_nusd),"
        " coalesce(rate_card_version, 0)"
        " FROM events WHERE event_type = 'usage'"
        " AND event_time >= $1::date::timestamp AT TIME ZONE 'UTC'"
        " AND event_time < ($2::date + 1)::timestamp AT TIME ZONE 'UTC'"
        " AND ($3::text IS NULL OR tenant_id = $3) FOR UPDATE",
        3, p);
    if (!r)
        goto fail;
    PQclear(r);
    fc_pg_exec(pg, MODULE, "temp",
               "CREATE TEMP TABLE reprice_rows (tenant_id text, event_id uuid, event_time"
               " timestamptz, cost_nusd bigint, price_version int, unpriced"
               " boolean, price_tiered boolean, tool_cost_nusd bigint, billed_nusd bigint,"
               " rate_card_version int, model_family text) ON COMMIT DROP");
    int64_t seen = 0;
    while (true) {
        r = fc_pg_query(pg, MODULE, "reprice fetch", "FETCH 10000 FROM reprice", 0, NULL);
        if (!r)
            goto fail;
        int n = PQntuples(r);
        fc_buf_reset(&rows);
        for (int i = 0; i < n; i++) {
            int64_t ts = fc_pg_int(r, i, 1);
            fc_tokens_t tok;
            for (int k = 0; k < FC_TOK_COUNT; k++)
                tok.t[k] = fc_pg_int(r, i, 4 + k);
            int64_t old_cost = fc_pg_int(r, i, 9);
            int32_t old_version = (int32_t)fc_pg_int(r, i, 10);
            const char *model = PQgetvalue(r, i, 3);
            //  An overflow leaves it unpriced (cost 0), as ingest would have stored it.
            fc_usage_t usage = {.tok = tok,
                                .speed = PQgetvalue(r, i, 13),
                                .geo = PQgetvalue(r, i, 14),
                                .batch = PQgetvalue(r, i, 15)[0] == 't',
                                .web_search_requests = fc_pg_int(r, i, 16),
                                .code_exec_ms = fc_pg_int(r, i, 17)};
            int64_t old_tool = fc_pg_int(r, i, 18);
            fc_price_result_t pr;
            (void)fc_price_usage(cat, model, ts, &usage, &pr);
            int64_t cost = pr.cost_nusd;
            int32_t version = pr.version;
            bool unpriced = pr.unpriced;
            const char *ev_tenant = PQgetvalue(r, i, 2);
            int64_t old_billed = fc_pg_int(r, i, 19), billed;
            int32_t old_rate = (int32_t)fc_pg_int(r, i, 20), rate;
            (void)fc_rates_billed(rates, ev_tenant, pr.family, ts, cost, &billed, &rate);
            //  "" (NULL), "true" or "false": the tier stored with the old price.
            const char *old_tier = PQgetvalue(r, i, 12);
            const char *tier = version ? (pr.tiered ? "true" : "false") : "";
            s_total_t *t = s_total(totals, &ntot, MAX_TENANTS, ev_tenant);
            if (t) {
                t->old_cost += old_cost;
                t->new_cost += cost;
                t->old_billed += old_billed;
                t->new_billed += billed;
            }
            bool old_unpriced = PQgetvalue(r, i, 11)[0] == 't';
            if (cost == old_cost && version == old_version && unpriced == old_unpriced &&
                strcmp(tier, old_tier) == 0 && pr.tool_nusd == old_tool && billed == old_billed &&
                rate == old_rate)
                continue;
            if (t)
                t->changed++;
            char when[96], ver[16];
            fc_time_format(ts, 6, when, sizeof when); //  a timestamptz literal, exactly
            snprintf(ver, sizeof ver, version ? "%d" : "\\N", version);
            char tool[24], bill[24], rv[16];
            snprintf(tool, sizeof tool, pr.tool_nusd ? "%" PRId64 : "\\N", pr.tool_nusd);
            //  No rate card: billed NULL (= list), as ingest stores it.
            snprintf(bill, sizeof bill, rate ? "%" PRId64 : "\\N", billed);
            snprintf(rv, sizeof rv, rate ? "%d" : "\\N", rate);
            //  The tenant is part of the event's key (0009): another tenant may hold an
            //  event with the same id and time. Tenant ids need no COPY escaping.
            fc_buf_addf(&rows, "%s\t%s\t%s\t%" PRId64 "\t%s\t%s\t%s\t%s\t%s\t%s\t", ev_tenant,
                        PQgetvalue(r, i, 0), when, cost, ver, unpriced ? "t" : "f",
                        *tier ? tier : "\\N", tool, bill, rv);
            //  COPY text format: a model name may hold tabs or backslashes.
            for (const char *c = pr.family; *c; c++) {
                if (*c == '\\' || *c == '\t' || *c == '\n' || *c == '\r')
                    fc_buf_addf(&rows, "\\%03o", (unsigned char)*c);
                else
                    fc_buf_add(&rows, c, 1);
            }
            fc_buf_add(&rows, "\n", 1);
        }
        seen += n;
        PQclear(r);
        if (rows.len) {
            r = PQexec(pg, "COPY reprice_rows (tenant_id, event_id, event_time, cost_nusd,"
                           " price_version, unpriced, price_tiered, tool_cost_nusd, billed_nusd,"
                           " rate_card_version, model_family) FROM STDIN");
            PQclear(r);
            PQputCopyData(pg, (const char *)rows.data, (int)rows.len);
            PQputCopyEnd(pg, NULL);
            r = PQgetResult(pg);
            bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
            if (!ok)
                fc_error(MODULE, "reprice copy: %s", PQresultErrorMessage(r));
            PQclear(r);
            while ((r = PQgetResult(pg)))
                PQclear(r);
            if (!ok)
                goto fail;
        }
        if (n < 10000)
            break;
    }
    if (fc_pg_exec(pg, MODULE, "reprice update",
                   "CLOSE reprice;"
                   " UPDATE events e SET cost_nusd = r.cost_nusd, price_version = r.price_version,"
                   " unpriced = r.unpriced, price_tiered = r.price_tiered,"
                   " tool_cost_nusd = r.tool_cost_nusd, billed_nusd = r.billed_nusd,"
                   " rate_card_version = r.rate_card_version,"
                   " model_family = r.model_family FROM reprice_rows r"
                   " WHERE e.tenant_id = r.tenant_id AND e.event_id = r.event_id"
                   " AND e.event_time = r.event_time") != 0)
        goto fail;
    int64_t changed = 0;
    for (int i = 0; i < ntot; i++) {
        char oldc[24], newc[24], ch[24], oldb[24], newb[24];
        snprintf(oldc, sizeof oldc, "%" PRId64, totals[i].old_cost);
        snprintf(newc, sizeof newc, "%" PRId64, totals[i].new_cost);
        snprintf(oldb, sizeof oldb, "%" PRId64, totals[i].old_billed);
        snprintf(newb, sizeof newb, "%" PRId64, totals[i].new_billed);
        snprintf(ch, sizeof ch, "%" PRId64, totals[i].changed);
        changed += totals[i].changed;
        const char *q[10] = {totals[i].tenant, from, to,   oldc,  newc, ch,
                             cmd_actor(cfg),   oldb, newb, reason};
        r = fc_pg_query(
            pg, MODULE, "restatement",
            "WITH s AS (INSERT INTO restatements (tenant_id, from_ts, to_ts, old_cost_nusd,"
            " new_cost_nusd, events, actor, old_billed_nusd, new_billed_nusd, reason)"
            " VALUES ($1, $2::date::timestamp AT TIME ZONE 'UTC',"
            " ($3::date + 1)::timestamp AT TIME ZONE 'UTC', $4, $5, $6, $7, $8, $9, $10)"
            " RETURNING *)"
            " INSERT INTO audit_log (actor, action, object, before, after)"
            " SELECT $7, $10, $1, jsonb_build_object('cost_nusd', $4::bigint,"
            " 'billed_nusd', $8::bigint), to_jsonb(s) FROM s",
            10, q);
        if (!r)
            goto fail;
        PQclear(r);
        r = fc_pg_query(pg, MODULE, "notify",
                        "SELECT pg_notify('fleetcost_restate', $1 || ' ' ||"
                        " $2 || ' ' || $3)",
                        3, q);
        if (!r)
            goto fail;
        PQclear(r);
        printf("%s: %s: %" PRId64 " events changed, list %" PRId64 " -> %" PRId64
               " nano-USD, billed %" PRId64 " -> %" PRId64 " nano-USD\n",
               reason, totals[i].tenant, totals[i].changed, totals[i].old_cost, totals[i].new_cost,
               totals[i].old_billed, totals[i].new_billed);
    }
    if (fc_pg_exec(pg, MODULE, "commit", "COMMIT") != 0)
        goto done;
    printf("reprice: %" PRId64 " usage events in the window, %" PRId64 " repriced\n", seen,
           changed);
    rc = 0;
    for (int i = 0; i < ntot; i++)
        if (totals[i].changed && s_restate_rollups(pg, totals[i].tenant, from, to) != 0)
            rc = 1;
    if (changed)
        s_restate_redis(cfg);
    goto done;
fail:
    fc_pg_rollback(pg);
done:
    fc_buf_free(&rows);
    free(totals);
    fc_catalog_destroy(&cat);
    fc_rates_destroy(&rates);
    return rc;
}

static int s_import_run(fc_config_t *cfg, PGconn *pg)
{
    return s_import(cfg, pg, fc_config_argv(cfg)[1]);
}

int cmd_price(int argc, char **argv)
{
    static const cli_sub_t subs[] = {
        {"list", 0, NULL, s_list}, {"set", 0, NULL, s_set}, {"import", 1, NULL, s_import_run}};
    static const cli_cmd_t cmd = {.program = "fleetcost price",
                                  .summary = "price list | set | import FILE",
                                  .module = MODULE,
                                  .options = s_options,
                                  CLI_SUBS(subs),
                                  .usage =
                                      "fleetcost price: list | set | import FILE (see --help)\n"};
    return cli_sub_main(&cmd, argc, argv);
}

int cmd_reprice(int argc, char **argv)
{
    static const cli_sub_t subs[] = {{NULL, 0, NULL, s_reprice}};
    static const cli_cmd_t cmd = {.program = "fleetcost reprice",
                                  .summary = "recompute stored costs in a window",
                                  .module = MODULE,
                                  .options = s_options,
                                  CLI_SUBS(subs)};
    return cli_sub_main(&cmd, argc, argv);
}
