/*  aggregator_pg: Postgres reads and rollup writes (see aggregator_pg.h). */
#include "aggregator_pg.h"

#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fc_buf.h"
#include "fc_log.h"
#include "fc_pg.h"

#define MODULE "aggregator"
//  Catch-up reads this many seqs per query, bounding one result's size.
#define CATCHUP_SEQS 1000

const char *const aggregator_total_fields[AGGREGATOR_TOTALS] = {"cost_nusd",
                                                                "input_tokens",
                                                                "output_tokens",
                                                                "cache_read_tokens",
                                                                "cache_write_5m_tokens",
                                                                "cache_write_1h_tokens",
                                                                "events",
                                                                "unpriced_events",
                                                                "billed_nusd"};
const char *const aggregator_dims[AGGREGATOR_DIMS] = {"agent_type", "model", "agent",
                                                      "kind",       "speed", "provider"};

const char *const aggregator_dim_names[AGGREGATOR_DIM_COUNT_] = {
    "total", "agent_type", "model", "agent", "kind", "speed", "provider", "task", "price"};

//  Key blocks: keys are at most FC_MAX_ID + 1 bytes, so one always fits in a new block.
#define KEY_BLOCK 32768
struct aggregator_key_block_s {
    aggregator_key_block_t *next;
    size_t used;
    char data[KEY_BLOCK];
};

aggregator_row_t *aggregator_rows_add(aggregator_rows_t *rs, const char *key, size_t len)
{
    if (rs->n == rs->cap) {
        size_t cap = rs->cap ? 2 * rs->cap : 1024;
        aggregator_row_t *grown = realloc(rs->rows, cap * sizeof *grown);
        if (!grown)
            return NULL;
        rs->rows = grown;
        rs->cap = cap;
    }
    if (len > FC_MAX_ID)
        len = FC_MAX_ID; //  as the 128-byte array the key used to be copied into
    const char *copy = "";
    if (len) {
        aggregator_key_block_t *b = rs->keys;
        if (!b || KEY_BLOCK - b->used < len + 1) {
            b = malloc(sizeof *b);
            if (!b)
                return NULL;
            b->next = rs->keys;
            b->used = 0;
            rs->keys = b;
        }
        char *k = b->data + b->used;
        memcpy(k, key, len);
        k[len] = '\0';
        b->used += len + 1;
        copy = k;
    }
    aggregator_row_t *row = &rs->rows[rs->n++];
    memset(row, 0, sizeof *row);
    row->key = copy;
    return row;
}

void aggregator_rows_reset(aggregator_rows_t *rs)
{
    rs->n = 0;
    if (!rs->keys)
        return;
    for (aggregator_key_block_t *b = rs->keys->next, *next; b; b = next) {
        next = b->next;
        free(b);
    }
    rs->keys->next = NULL;
    rs->keys->used = 0;
}

void aggregator_rows_free(aggregator_rows_t *rs)
{
    aggregator_rows_reset(rs);
    free(rs->keys);
    free(rs->rows);
    *rs = (aggregator_rows_t){0};
}

int aggregator_pg_tenants(PGconn *pg, void (*fn)(void *, const char *, const char *), void *arg)
{
    PGresult *r =
        fc_pg_query(pg, MODULE, "load tenants", "SELECT tenant_id, tz FROM tenants", 0, NULL);
    if (!r)
        return -1;
    for (int i = 0; i < PQntuples(r); i++)
        fn(arg, PQgetvalue(r, i, 0), PQgetvalue(r, i, 1));
    PQclear(r);
    return 0;
}

int aggregator_pg_tenant_tz(PGconn *pg, const char *tenant, char *tz, size_t size)
{
    const char *p[1] = {tenant};
    PGresult *r =
        fc_pg_query(pg, MODULE, "load tenant", "SELECT tz FROM tenants WHERE tenant_id = $1", 1, p);
    if (!r)
        return -1;
    int found = PQntuples(r) > 0;
    if (found)
        snprintf(tz, size, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    return found;
}

int aggregator_pg_max_seq(PGconn *pg, const char *ingest_id, uint64_t *seq, uint64_t *epoch)
{
    const char *p[1] = {ingest_id};
    PGresult *r =
        fc_pg_query(pg, MODULE, "last seq",
                    "SELECT last_seq, epoch FROM ingest_state WHERE ingest_id = $1", 1, p);
    if (!r)
        return -1;
    //  Not max(seq) over events: retention and restores remove events, never the state.
    *seq = PQntuples(r) ? fc_pg_uint(r, 0, 0) : 0;
    *epoch = PQntuples(r) ? fc_pg_uint(r, 0, 1) : 0;
    PQclear(r);
    return 0;
}

static void s_str(char *dst, size_t size, const PGresult *r, int row, int col)
{
    snprintf(dst, size, "%s", PQgetisnull(r, row, col) ? "" : PQgetvalue(r, row, col));
}

int aggregator_pg_catchup(PGconn *pg, const char *ingest_id, uint64_t lo, uint64_t hi,
                          fc_stored_event_t *scratch, aggregator_message_fn *fn, void *arg)
{
    //  A BRIN index on seq serves this (seq grows with insertion order); only cost
    //  entries change totals.
    static const char *sql =
        "SELECT e.seq, e.tenant_id, e.event_type,"
        " (extract(epoch FROM e.event_time) * 1000000)::bigint,"
        " e.agent_id, e.agent_type, e.task_id, e.model_family, e.input_tokens, e.output_tokens,"
        " e.cache_read_tokens, e.cache_write_5m_tokens, e.cache_write_1h_tokens, e.cost_nusd,"
        " e.cost_kind, e.unpriced, coalesce(e.speed, ''), coalesce(p.provider, ''),"
        " e.billed_nusd FROM events e LEFT JOIN price_versions p ON p.version_id = e.price_version"
        " WHERE e.ingest_id = $1 AND e.seq > $2 AND e.seq <= $3"
        " AND e.cost_kind IS NOT NULL ORDER BY e.seq";
    for (uint64_t from = lo; from < hi;) {
        uint64_t to = hi - from > CATCHUP_SEQS ? from + CATCHUP_SEQS : hi;
        char a[24], b[24];
        snprintf(a, sizeof a, "%" PRIu64, from);
        snprintf(b, sizeof b, "%" PRIu64, to);
        const char *p[3] = {ingest_id, a, b};
        PGresult *r = fc_pg_query(pg, MODULE, "catch-up", sql, 3, p);
        if (!r)
            return -1;
        int rows = PQntuples(r);
        size_t n = 0;
        uint64_t seq = 0;
        char tenant[FC_MAX_TENANT + 1] = "";
        int rc = 0;
        for (int i = 0; i <= rows && rc == 0; i++) {
            uint64_t s = i < rows ? fc_pg_uint(r, i, 0) : 0;
            if (n && (i == rows || s != seq || n == FC_MAX_BATCH)) {
                rc = fn(arg, seq, tenant, scratch, n);
                n = 0;
            }
            if (i == rows)
                break;
            seq = s;
            s_str(tenant, sizeof tenant, r, i, 1);
            fc_stored_event_t *ev = &scratch[n++];
            memset(ev, 0, sizeof *ev);
            ev->type = fc_event_type_parse(PQgetvalue(r, i, 2));
            ev->ts_us = fc_pg_int(r, i, 3);
            s_str(ev->agent, sizeof ev->agent, r, i, 4);
            s_str(ev->agent_type, sizeof ev->agent_type, r, i, 5);
            s_str(ev->task, sizeof ev->task, r, i, 6);
            s_str(ev->model, sizeof ev->model, r, i, 7);
            ev->input_tokens = fc_pg_int(r, i, 8);
            ev->output_tokens = fc_pg_int(r, i, 9);
            ev->cache_read_tokens = fc_pg_int(r, i, 10);
            ev->cache_write_5m_tokens = fc_pg_int(r, i, 11);
            ev->cache_write_1h_tokens = fc_pg_int(r, i, 12);
            ev->cost_nusd = fc_pg_int(r, i, 13);
            if (ev->type == FC_EV_COST)
                s_str(ev->kind, sizeof ev->kind, r, i, 14);
            ev->unpriced = PQgetvalue(r, i, 15)[0] == 't';
            s_str(ev->speed, sizeof ev->speed, r, i, 16);
            s_str(ev->provider, sizeof ev->provider, r, i, 17);
            ev->has_billed = !PQgetisnull(r, i, 18);
            ev->billed_nusd = ev->has_billed ? fc_pg_int(r, i, 18) : 0;
        }
        PQclear(r);
        if (rc != 0)
            return -1;
        from = to;
    }
    return 0;
}

//  Appends a Postgres array literal of strings ({"a","b\"c"}; NULL elements for NULL).
static void s_text_array(fc_buf_t *b, const char **items, int n)
{
    fc_buf_add(b, "{", 1);
    for (int i = 0; i < n; i++) {
        if (i)
            fc_buf_add(b, ",", 1);
        if (!items[i]) {
            fc_buf_add_str(b, "NULL");
            continue;
        }
        fc_buf_add(b, "\"", 1);
        for (const char *c = items[i]; *c; c++) {
            if (*c == '"' || *c == '\\')
                fc_buf_add(b, "\\", 1);
            fc_buf_add(b, c, 1);
        }
        fc_buf_add(b, "\"", 1);
    }
    fc_buf_add(b, "}", 2);
}

/*  The grouped sums. Tenant-local dates are computed by Postgres (AT TIME ZONE), the
    reference the C side's aggregator_tz matches. The time bound widened by a day lets
    the (tenant_id, event_time) index prune; the date test is the exact one. One scan
    feeds every breakdown through GROUPING SETS; GROUPING() says which set a row is:
    255 total, 127 agent_type, 191 model, 223 agent, 239 kind, 247 speed, 251 provider,
    253 task, 254 price. The speed and provider keys are the ones the live path (aggregator.c,
    s_add_event) gives: usage without a speed is "standard", cost events have none; the
    provider is the price version's, '' when unpriced. */
static const char *s_sums_sql =
    "SELECT s.ord - 1, to_char(s.day, 'YYYY-MM-DD'),"
    " GROUPING(s.atype, s.model, s.agent, s.kind, s.speed, s.prov, s.task, s.price),"
    " s.atype, s.model, s.agent, s.kind, s.speed, s.prov, s.task, s.price,"
    " sum(s.cost_nusd), sum(s.input_tokens), sum(s.output_tokens), sum(s.cache_read_tokens),"
    " sum(s.cache_write_5m_tokens), sum(s.cache_write_1h_tokens), count(*),"
    " count(*) FILTER (WHERE s.unpriced), sum(s.billed),"
    " (extract(epoch FROM max(s.event_time)) * 1000000)::bigint,"
    //  On a day's total row: whether cost_summaries already holds a final total equal to
    //  these sums (a rebuild then need not roll the day up again). One primary-key probe
    //  per tenant-day; the other rows get NULL. Every aggregate in it names a column of s,
    //  so Postgres computes it at this level (count(s.ord), not count(*), which would
    //  belong to the sub-select).
    " CASE WHEN GROUPING(s.atype, s.model, s.agent, s.kind, s.speed, s.prov, s.task, s.price)"
    "  = 255 THEN EXISTS (SELECT 1 FROM cost_summaries c"
    "   WHERE c.tenant_id = ($1::text[])[s.ord] AND c.day = s.day AND c.dimension = 'total'"
    "   AND c.key = '' AND c.final AND c.cost_nusd = sum(s.cost_nusd)"
    "   AND c.events = count(s.ord) AND c.billed_nusd = sum(s.billed)) END"
    " FROM (SELECT w.ord, e.event_time, (e.event_time AT TIME ZONE w.tz)::date AS day,"
    "  coalesce(e.agent_type, '') AS atype, coalesce(e.model_family, '') AS model,"
    "  coalesce(e.agent_id, '') AS agent, e.cost_kind AS kind, coalesce(e.task_id, '') AS task,"
    "  CASE WHEN e.event_type = 'usage' THEN coalesce(e.speed, 'standard') ELSE '' END AS speed,"
    "  coalesce(p.provider, '') AS prov,"
    "  CASE WHEN e.price_version IS NULL THEN ''"
    "       ELSE e.price_version || CASE WHEN e.price_tiered THEN ':t' ELSE ':f' END END"
    "    AS price,"
    "  e.cost_nusd, e.input_tokens, e.output_tokens, e.cache_read_tokens,"
    "  e.cache_write_5m_tokens, e.cache_write_1h_tokens, e.unpriced,"
    "  coalesce(e.billed_nusd, e.cost_nusd) AS billed"
    "  FROM unnest($1::text[], $2::text[], $3::date[], $4::date[])"
    "   WITH ORDINALITY AS w(tenant, tz, since, until, ord)"
    "  JOIN events e ON e.tenant_id = w.tenant"
    "  LEFT JOIN price_versions p ON p.version_id = e.price_version"
    "  WHERE e.cost_kind IS NOT NULL"
    //  Constant bounds over the whole request (two days of margin for any zone), so
    //  Postgres prunes the daily partitions outside it before it scans anything.
    "  AND e.event_time >= ($5::date - 2)::timestamptz"
    "  AND ($6::date IS NULL OR e.event_time < ($6::date + 2)::timestamptz)"
    "  AND e.event_time >= (w.since::timestamp AT TIME ZONE w.tz) - interval '1 day'"
    "  AND (e.event_time AT TIME ZONE w.tz)::date >= w.since"
    "  AND (w.until IS NULL OR (e.event_time < ((w.until + 1)::timestamp AT TIME ZONE w.tz)"
    "   + interval '1 day' AND (e.event_time AT TIME ZONE w.tz)::date <= w.until))) s"
    " GROUP BY GROUPING SETS ((s.ord, s.day), (s.ord, s.day, s.atype), (s.ord, s.day, s.model),"
    "  (s.ord, s.day, s.agent), (s.ord, s.day, s.kind), (s.ord, s.day, s.speed),"
    "  (s.ord, s.day, s.prov), (s.ord, s.day, s.task), (s.ord, s.day, s.price))"
    " ORDER BY 1, 2";

//  ingest writes its last seq in the same transaction as its events.
static const char *s_seqs_sql = "SELECT ingest_id, last_seq, epoch FROM ingest_state";

static aggregator_dim_t s_dim_of_grouping(int g)
{
    switch (g) {
    case 127:
        return AGGREGATOR_DIM_AGENT_TYPE;
    case 191:
        return AGGREGATOR_DIM_MODEL;
    case 223:
        return AGGREGATOR_DIM_AGENT;
    case 239:
        return AGGREGATOR_DIM_KIND;
    case 247:
        return AGGREGATOR_DIM_SPEED;
    case 251:
        return AGGREGATOR_DIM_PROVIDER;
    case 253:
        return AGGREGATOR_DIM_TASK;
    case 254:
        return AGGREGATOR_DIM_PRICE;
    default:
        return AGGREGATOR_DIM_TOTAL;
    }
}

int aggregator_pg_seqs(PGconn *pg, aggregator_seq_t **seqs_p, size_t *nseqs)
{
    *seqs_p = NULL;
    *nseqs = 0;
    PGresult *r = fc_pg_query(pg, MODULE, "seqs", s_seqs_sql, 0, NULL);
    if (!r)
        return -1;
    *seqs_p = calloc((size_t)PQntuples(r) + 1, sizeof **seqs_p);
    for (int i = 0; *seqs_p && i < PQntuples(r); i++) {
        aggregator_seq_t *s = &(*seqs_p)[(*nseqs)++];
        s_str(s->id, sizeof s->id, r, i, 0);
        s->seq = fc_pg_uint(r, i, 1);
        s->epoch = fc_pg_uint(r, i, 2);
    }
    PQclear(r);
    return *seqs_p ? 0 : -1;
}

//  The sums query's six parameters for a span: four text arrays (kept in arr, which
//  the caller frees) and the request's first and last day. -1 on OOM.
static int s_sums_params(const aggregator_span_t *span, fc_buf_t arr[4], const char *p[6])
{
    const char **cols[4] = {span->tenants, span->tzs, span->since, span->until};
    bool failed = false;
    for (int i = 0; i < 4; i++) {
        fc_buf_init(&arr[i]);
        s_text_array(&arr[i], cols[i], span->count);
        failed = failed || arr[i].failed;
    }
    //  The request's first and last day ("YYYY-MM-DD" sorts as a date); no last day
    //  when a tenant's span is open-ended.
    const char *lo = NULL, *hi = NULL;
    bool open_ended = false;
    for (int i = 0; i < span->count; i++) {
        if (!lo || strcmp(span->since[i], lo) < 0)
            lo = span->since[i];
        if (!span->until[i])
            open_ended = true;
        else if (!hi || strcmp(span->until[i], hi) > 0)
            hi = span->until[i];
    }
    for (int i = 0; i < 4; i++)
        p[i] = (const char *)arr[i].data;
    p[4] = lo;
    p[5] = open_ended ? NULL : hi;
    return failed ? -1 : 0;
}

int aggregator_pg_snapshot_tenant(const PGresult *row)
{
    return (int)fc_pg_int(row, 0, 0);
}

int aggregator_pg_snapshot_take(const PGresult *r, aggregator_rows_t *rows)
{
    aggregator_dim_t dim = s_dim_of_grouping((int)fc_pg_int(r, 0, 2));
    int kc = 2 + (int)dim; //  the key's column
    bool keyed = dim != AGGREGATOR_DIM_TOTAL && !PQgetisnull(r, 0, kc);
    aggregator_row_t *row = aggregator_rows_add(rows, keyed ? PQgetvalue(r, 0, kc) : "",
                                                keyed ? (size_t)PQgetlength(r, 0, kc) : 0);
    if (!row)
        return -1;
    row->tenant = aggregator_pg_snapshot_tenant(r);
    s_str(row->day, sizeof row->day, r, 0, 1);
    row->dim = dim;
    for (int k = 0; k < AGGREGATOR_TOTALS; k++)
        row->v[k] = fc_pg_int(r, 0, 11 + k);
    row->newest_us = fc_pg_int(r, 0, 11 + AGGREGATOR_TOTALS);
    row->rolled = PQgetvalue(r, 0, 12 + AGGREGATOR_TOTALS)[0] == 't';
    return 0;
}

//  Sends the sums query of a span in single-row mode. 0, or -1 (logged).
static int s_sums_send(PGconn *pg, const aggregator_span_t *span)
{
    fc_buf_t arr[4];
    const char *p[6];
    int rc = -1;
    if (s_sums_params(span, arr, p) != 0)
        fc_error(MODULE, "snapshot sums: out of memory");
    //  libpq copies the parameters into its output buffer here: arr may go.
    else if (PQsendQueryParams(pg, s_sums_sql, 6, NULL, p, NULL, NULL, 0) != 1)
        fc_error(MODULE, "snapshot sums: %s", fc_pg_error(pg));
    else if (PQsetSingleRowMode(pg) != 1) {
        fc_error(MODULE, "snapshot sums: single-row mode refused");
        for (PGresult *r; (r = PQgetResult(pg)) != NULL;)
            PQclear(r); //  the query sent: its results, so that the connection is free
    } else
        rc = 0;
    for (int i = 0; i < 4; i++)
        fc_buf_free(&arr[i]);
    return rc;
}

static int s_snapshot_row(const PGresult *res, void *rows)
{
    if (aggregator_pg_snapshot_take(res, rows) != 0) {
        fc_error(MODULE, "snapshot sums: out of memory");
        return -1;
    }
    return 0;
}

int aggregator_pg_snapshot(PGconn *pg, const aggregator_span_t *span, bool with_seqs,
                           aggregator_rows_t *rows, aggregator_seq_t **seqs_p, size_t *nseqs)
{
    *seqs_p = NULL;
    *nseqs = 0;
    int rc = -1;
    fc_buf_t arr[4];
    const char *p[6];
    if (s_sums_params(span, arr, p) != 0) {
        fc_error(MODULE, "snapshot sums: out of memory");
        for (int i = 0; i < 4; i++)
            fc_buf_free(&arr[i]);
        return -1;
    }
    //  The seqs inside the same transaction: the sums include exactly those messages.
    //  The sums row by row (single-row mode), as aggregator_pg_snapshot_send's reader.
    if (fc_pg_exec(pg, MODULE, "snapshot", "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY") ==
            0 &&
        (!with_seqs || aggregator_pg_seqs(pg, seqs_p, nseqs) == 0))
        rc = fc_pg_query_each(pg, MODULE, "snapshot sums", s_sums_sql, 6, p, s_snapshot_row, rows);
    for (int i = 0; i < 4; i++)
        fc_buf_free(&arr[i]);
    fc_pg_rollback(pg);
    if (rc != 0) {
        aggregator_rows_reset(rows);
        free(*seqs_p);
        *seqs_p = NULL;
        *nseqs = 0;
    }
    return rc;
}

int aggregator_pg_snapshot_send(PGconn *pg, const aggregator_span_t *span,
                                aggregator_seq_t **seqs_p, size_t *nseqs)
{
    *seqs_p = NULL;
    *nseqs = 0;
    if (fc_pg_exec(pg, MODULE, "snapshot", "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY") ==
            0 &&
        aggregator_pg_seqs(pg, seqs_p, nseqs) == 0 && s_sums_send(pg, span) == 0)
        return 0;
    fc_pg_rollback(pg);
    free(*seqs_p);
    *seqs_p = NULL;
    *nseqs = 0;
    return -1;
}

int aggregator_pg_snapshot_row(PGconn *pg, PGresult **row)
{
    *row = NULL;
    //  No whole row buffered: read what the socket holds now (a few kB a read), again
    //  while more is there, rather than one read per turn of the caller's loop.
    while (PQisBusy(pg)) {
        struct pollfd fd = {.fd = PQsocket(pg), .events = POLLIN};
        if (poll(&fd, 1, 0) == 0)
            return 0;
        if (PQconsumeInput(pg) != 1) {
            fc_error(MODULE, "snapshot sums: %s", fc_pg_error(pg));
            return -1;
        }
    }
    PGresult *r;
    while (!PQisBusy(pg) && (r = PQgetResult(pg)) != NULL) {
        ExecStatusType st = PQresultStatus(r);
        if (st == PGRES_SINGLE_TUPLE) {
            *row = r;
            return 1;
        }
        if (st != PGRES_TUPLES_OK) {
            //  A failed query: the rest (up to the end of the query) comes at once.
            fc_error(MODULE, "snapshot sums: %s", PQresultErrorMessage(r));
            PQclear(r);
            while ((r = PQgetResult(pg)) != NULL)
                PQclear(r);
            fc_pg_rollback(pg);
            return -1;
        }
        PQclear(r); //  the end of the rows: the query's end follows
    }
    if (PQisBusy(pg))
        return 0;
    fc_pg_rollback(pg);
    return 2;
}

int aggregator_pg_open_refresh(PGconn *pg, int64_t *added)
{
    *added = 0;
    //  On its own, outside any transaction: fc_open_refresh runs in READ COMMITTED (the
    //  connection's default; it refuses any other level), takes and releases the lock that
    //  orders it with inserts itself, and sums in statements whose snapshots are taken
    //  after that (migration 0021's header). NULL: the lock was not granted within its
    //  wait (2 s), nothing changed, the next round catches up.
    fc_pg_rollback(pg);
    PGresult *r = fc_pg_query(pg, MODULE, "open refresh", "SELECT fc_open_refresh()", 0, NULL);
    if (!r)
        return -1;
    *added = fc_pg_int(r, 0, 0);
    PQclear(r);
    return 0;
}

//  Builds the upsert of one tenant-day and sends it; with wait, also reads its result.
static int s_rollup(PGconn *pg, const char *tenant, const char *day, bool final,
                    const aggregator_row_t *rows, size_t nrows, bool wait)
{
    static const char *sql =
        "INSERT INTO cost_summaries AS c (tenant_id, day, dimension, key, cost_nusd,"
        " input_tokens, output_tokens, cache_read_tokens, cache_write_5m_tokens,"
        " cache_write_1h_tokens, events, unpriced_events, billed_nusd, final, updated_at)"
        " SELECT $1, $2::date, x.d, x.k, x.c0, x.c1, x.c2, x.c3, x.c4, x.c5, x.c6, x.c7, x.c8,"
        " $3::boolean, now()"
        " FROM unnest($4::text[], $5::text[], $6::bigint[], $7::bigint[], $8::bigint[],"
        " $9::bigint[], $10::bigint[], $11::bigint[], $12::bigint[], $13::bigint[],"
        " $14::bigint[])"
        " AS x(d, k, c0, c1, c2, c3, c4, c5, c6, c7, c8)"
        " ON CONFLICT (tenant_id, day, dimension, key) DO UPDATE SET"
        " cost_nusd = EXCLUDED.cost_nusd, input_tokens = EXCLUDED.input_tokens,"
        " output_tokens = EXCLUDED.output_tokens, cache_read_tokens = EXCLUDED.cache_read_tokens,"
        " cache_write_5m_tokens = EXCLUDED.cache_write_5m_tokens,"
        " cache_write_1h_tokens = EXCLUDED.cache_write_1h_tokens, events = EXCLUDED.events,"
        " unpriced_events = EXCLUDED.unpriced_events, billed_nusd = EXCLUDED.billed_nusd,"
        " final = EXCLUDED.final,"
        " updated_at = now()";
    if (!nrows)
        return 0;
    const char **dims = calloc(nrows, sizeof *dims), **keys = calloc(nrows, sizeof *keys);
    fc_buf_t d, k, v[AGGREGATOR_TOTALS];
    fc_buf_init(&d);
    fc_buf_init(&k);
    for (int c = 0; c < AGGREGATOR_TOTALS; c++)
        fc_buf_init(&v[c]);
    int rc = -1;
    if (!dims || !keys)
        goto done;
    for (size_t i = 0; i < nrows; i++) {
        dims[i] = aggregator_dim_names[rows[i].dim];
        keys[i] = rows[i].key;
    }
    s_text_array(&d, dims, (int)nrows);
    s_text_array(&k, keys, (int)nrows);
    bool failed = d.failed || k.failed;
    for (int c = 0; c < AGGREGATOR_TOTALS; c++) {
        fc_buf_add(&v[c], "{", 1);
        for (size_t i = 0; i < nrows; i++)
            fc_buf_addf(&v[c], "%s%" PRId64, i ? "," : "", rows[i].v[c]);
        fc_buf_add(&v[c], "}", 2);
        failed = failed || v[c].failed;
    }
    if (failed)
        goto done;
    const char *p[5 + AGGREGATOR_TOTALS] = {tenant, day, final ? "true" : "false",
                                            (const char *)d.data, (const char *)k.data};
    for (int c = 0; c < AGGREGATOR_TOTALS; c++)
        p[5 + c] = (const char *)v[c].data;
    if (wait) {
        PGresult *r =
            fc_pg_query(pg, MODULE, "cost_summaries upsert", sql, 5 + AGGREGATOR_TOTALS, p);
        if (r) {
            PQclear(r);
            rc = 0;
        }
    } else if (PQsendQueryParams(pg, sql, 5 + AGGREGATOR_TOTALS, NULL, p, NULL, NULL, 0) == 1) {
        rc = 0;
    } else
        fc_error(MODULE, "cost_summaries upsert: %s", fc_pg_error(pg));
done:
    free(dims);
    free(keys);
    fc_buf_free(&d);
    fc_buf_free(&k);
    for (int c = 0; c < AGGREGATOR_TOTALS; c++)
        fc_buf_free(&v[c]);
    return rc;
}

int aggregator_pg_rollup(PGconn *pg, const char *tenant, const char *day, bool final,
                         const aggregator_row_t *rows, size_t nrows)
{
    return s_rollup(pg, tenant, day, final, rows, nrows, true);
}

int aggregator_pg_rollup_send(PGconn *pg, const char *tenant, const char *day, bool final,
                              const aggregator_row_t *rows, size_t nrows)
{
    return nrows ? s_rollup(pg, tenant, day, final, rows, nrows, false) : 1;
}

int aggregator_pg_rollup_poll(PGconn *pg)
{
    if (PQconsumeInput(pg) != 1) {
        fc_error(MODULE, "cost_summaries upsert: %s", fc_pg_error(pg));
        return -1;
    }
    if (PQisBusy(pg))
        return 1;
    int rc = 0;
    PGresult *r;
    while ((r = PQgetResult(pg)) != NULL) {
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
            fc_error(MODULE, "cost_summaries upsert: %s", PQresultErrorMessage(r));
            rc = -1;
        }
        PQclear(r);
    }
    return rc;
}
