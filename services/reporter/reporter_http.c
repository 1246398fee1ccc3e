/*  reporter_http: routes, authentication, JSON errors, streaming and live updates. */
#include "reporter_http.h"
#include "reporter_live.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "fc_buf.h"
#include "fc_http.h"
#include "fc_json_write.h"
#include "fc_log.h"
#include "fc_signal.h"
#include "fc_metrics.h"
#include "fc_json_write.h"
#include "fc_pg.h"
#include "fc_proto.h"
#include "fc_time.h"
#include "reporter_key.h"
#include "reporter_pool.h"
#include "reporter_query.h"
#include "reporter_reconcile.h"
#include "reporter_report.h"

#define MODULE           "reporter"
#define S_POOL_WAIT_MS   5000
#define S_STOP_GRACE_MS  3000  //  on SIGTERM, what a running query is given before its cancel
#define S_SSE_POLL_MS    500   //  live totals of today are re-read this often
#define S_SSE_PAST_MS    30000 //  a day other than today: re-read this often (late events)
#define S_SSE_LIST_MS    10000 //  the all-tenant live total's tenant list: re-read this often
#define S_SSE_PING_S     15    //  comment line keeping idle streams open (at most)
#define S_RETRY_AFTER_S  30    //  Retry-After of a refused live stream
#define S_LIVE_MAX_AGE_S 60    //  a summary older than this is not trusted for live totals
#define S_STREAM_BLOCK   16384

//  One admitted live stream: who holds it. The key is kept as a hash only.
typedef struct {
    bool used;
    uint64_t key;  //  FNV-1a of the API key's id
    uint32_t addr; //  client IPv4 address, network order
} s_stream_slot_t;

struct _reporter_http_t {
    reporter_http_config_t cfg;
    char *bind, *pg_url, *cert_pem, *key_pem;
    bool tls;
    reporter_pool_t *pool;
    fc_metrics_t *metrics;
    fc_metric_t *m_requests, *m_4xx, *m_5xx, *m_auth_failures, *m_sse, *m_rows;
    fc_http_t *http;
    atomic_bool stopping;
    reporter_live_t *live; //  the aggregator's summaries, for live totals
    int ping_s;            //  SSE keep-alive: well inside the connection timeout
    //  Live streams each hold a connection thread for as long as the client stays:
    //  admitted against a total, per-key and per-address limits (s_stream_admit).
    pthread_mutex_t streams_mu;
    s_stream_slot_t *streams; //  cfg.max_streams slots
    fc_metric_t *m_refused, *m_live_reads;
};

//  One request being answered.
typedef struct {
    reporter_http_t *self;
    struct MHD_Connection *mc;
    const char *url;
    bool dashboard;    //  a browser route: the key may come from a cookie or ?key=
    PGconn *pg;        //  pooled connection, released after the handler
    bool admin;        //  the key's rights
    uint64_t key_hash; //  of the key's id, for per-key stream limits
    char key_tenant[64];
    char cookie_key[REPORTER_KEY_TEXT + 1]; //  set as a cookie in the response
    enum MHD_Result rc;                     //  result of the response queued by a failed helper
} s_req_t;

// ---------------------------------------------------------------------------------------
// Responses

static void s_count_status(reporter_http_t *self, unsigned status)
{
    if (status >= 500)
        fc_metric_add(self->m_5xx, 1);
    else if (status >= 400)
        fc_metric_add(self->m_4xx, 1);
}

static void s_headers(s_req_t *req, struct MHD_Response *resp, const char *mime)
{
    MHD_add_response_header(resp, "Content-Type", mime);
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
    if (strncmp(mime, "text/html", 9) == 0)
        MHD_add_response_header(resp, "Content-Security-Policy",
                                "default-src 'none'; style-src 'unsafe-inline'; "
                                "script-src 'self'; connect-src 'self'; img-src 'self'; "
                                "frame-ancestors 'none'");
    if (req->cookie_key[0]) {
        char cookie[256];
        snprintf(cookie, sizeof cookie, "fc_key=%s; Path=/dashboard; HttpOnly; SameSite=Strict%s",
                 req->cookie_key, req->self->tls ? "; Secure" : "");
        MHD_add_response_header(resp, "Set-Cookie", cookie);
    }
}

//  Queues body (taken over; freed by MHD) with status.
static enum MHD_Result s_respond(s_req_t *req, unsigned status, const char *mime, fc_buf_t *body)
{
    if (body->failed) {
        fc_buf_free(body);
        s_count_status(req->self, 500);
        return MHD_NO;
    }
    struct MHD_Response *resp =
        body->len ? MHD_create_response_from_buffer(body->len, body->data, MHD_RESPMEM_MUST_FREE)
                  : MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    if (!resp) {
        fc_buf_free(body);
        return MHD_NO;
    }
    if (!body->len)
        fc_buf_free(body);
    body->data = NULL; //  MHD owns it now
    body->len = body->cap = 0;
    s_headers(req, resp, mime);
    if (status == MHD_HTTP_UNAUTHORIZED)
        MHD_add_response_header(resp, "WWW-Authenticate", "Bearer realm=\"fleetcost\"");
    if (status == MHD_HTTP_TOO_MANY_REQUESTS) {
        char after[16];
        snprintf(after, sizeof after, "%d", S_RETRY_AFTER_S);
        MHD_add_response_header(resp, "Retry-After", after);
    }
    s_count_status(req->self, status);
    enum MHD_Result rc = MHD_queue_response(req->mc, status, resp);
    MHD_destroy_response(resp);
    return rc;
}

//  Queues a JSON error {"error":{"status":..,"code":..,"message":..}} and returns false
//  (so helpers can `return s_error(...)`); the MHD result goes to req->rc.
static bool s_error(s_req_t *req, unsigned status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static bool s_error(s_req_t *req, unsigned status, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    const char *code = status == 400   ? "bad_request"
                       : status == 401 ? "unauthorized"
                       : status == 403 ? "forbidden"
                       : status == 404 ? "not_found"
                       : status == 405 ? "method_not_allowed"
                       : status == 429 ? "too_many_requests"
                       : status == 503 ? "unavailable"
                                       : "internal";
    fc_buf_t b;
    fc_buf_init(&b);
    fc_jw_t jw;
    fc_jw_init(&jw, &b);
    fc_jw_object(&jw, NULL);
    fc_jw_object(&jw, "error");
    fc_jw_int(&jw, "status", status);
    fc_jw_str(&jw, "code", code);
    fc_jw_str(&jw, "message", msg);
    fc_jw_end(&jw);
    fc_jw_end(&jw);
    fc_buf_add_str(&b, "\n");
    if (status >= 500)
        fc_warn(MODULE, "%s: %u %s", req->url, status, msg);
    req->rc = s_respond(req, status, "application/json", &b);
    return false;
}

// ---------------------------------------------------------------------------------------
// Parameters

typedef struct {
    reporter_param_t p[REPORTER_PARAMS_MAX + 1];
    size_t n;
} s_params_t;

static enum MHD_Result s_collect(void *cls, enum MHD_ValueKind kind, const char *key,
                                 const char *value)
{
    (void)kind;
    s_params_t *c = cls;
    if (c->n > REPORTER_PARAMS_MAX)
        return MHD_NO; //  one over the limit is enough for the parser to refuse
    c->p[c->n++] = (reporter_param_t){key, value};
    return MHD_YES;
}

//  Parses the request's query parameters for endpoint ep (reporter_query); 400 on any
//  error. The strings in q live as long as the request.
static bool s_query(s_req_t *req, reporter_endpoint_t ep, reporter_query_t *q)
{
    s_params_t c = {.n = 0};
    MHD_get_connection_values(req->mc, MHD_GET_ARGUMENT_KIND, s_collect, &c);
    char err[160];
    if (reporter_query_parse(ep, c.p, c.n, q, err, sizeof err) != 0)
        return s_error(req, 400, "%s", err);
    return true;
}

//  Resolves which tenant a request reads: the tenant parameter (or path) when given,
//  else the key's tenant, else "*" for an admin. A tenant key asking for another
//  tenant gets 403; a malformed tenant 400.
static bool s_tenant_filter(s_req_t *req, const char *asked, char *filter, size_t size)
{
    if (asked && !fc_tenant_valid(asked))
        return s_error(req, 400, "tenant: expected [a-z0-9][a-z0-9_-]{0,62}");
    if (!req->admin) {
        if (asked && strcmp(asked, req->key_tenant) != 0)
            return s_error(req, 403, "this key may read tenant %s only", req->key_tenant);
        snprintf(filter, size, "%s", req->key_tenant);
        return true;
    }
    snprintf(filter, size, "%s", asked ? asked : "*");
    return true;
}

//  Begins the request's read-only transaction, scoped to the key (not to the filter:
//  row-level security follows the key).
static bool s_begin(s_req_t *req)
{
    if (reporter_tx_begin(req->pg, req->admin ? "*" : req->key_tenant) != 0)
        return s_error(req, 500, "database error");
    return true;
}

//  For a named tenant (not "*"): 404 unless it exists (and is visible).
static bool s_tenant_exists(s_req_t *req, const char *tenant)
{
    if (strcmp(tenant, "*") == 0)
        return true;
    const char *params[] = {tenant};
    PGresult *res = fc_pg_query(req->pg, MODULE, "tenant",
                                "SELECT 1 FROM tenants WHERE tenant_id = $1", 1, params);
    if (!res)
        return s_error(req, 500, "database error");
    bool found = PQntuples(res) == 1;
    PQclear(res);
    return found ? true : s_error(req, 404, "no tenant %s", tenant);
}

//  The window of the request: from/to (or, for reports, period/date) from the parsed
//  parameters, else period `dflt` counted back from each tenant's own today
//  (reporter_window_resolve).
static bool s_window(s_req_t *req, const reporter_query_t *q, const char *tenant,
                     const char *period, const char *dflt, reporter_window_t *w)
{
    const char *date = q->date, *f = q->from, *t = q->to;
    if (!period && !date && !f && !t)
        period = dflt;
    char err[160];
    int rc =
        reporter_window_resolve(w, req->pg, MODULE, tenant, period, date, f, t, err, sizeof err);
    if (rc == -1)
        return s_error(req, 400, "%s", err);
    if (rc != 0)
        return s_error(req, 500, "database error");
    return true;
}

// ---------------------------------------------------------------------------------------
// Authentication

//  The presented key: "Authorization: Bearer <key>"; on dashboard routes also the
//  fc_key cookie or a ?key= parameter (which the response then moves into a cookie).
static const char *s_presented_key(s_req_t *req, bool *from_query)
{
    *from_query = false;
    const char *h = MHD_lookup_connection_value(req->mc, MHD_HEADER_KIND, "Authorization");
    if (h && strncasecmp(h, "Bearer ", 7) == 0) {
        h += 7;
        while (*h == ' ')
            h++;
        return h;
    }
    if (h)
        return ""; //  another scheme: rejected
    if (!req->dashboard)
        return NULL;
    const char *q = MHD_lookup_connection_value(req->mc, MHD_GET_ARGUMENT_KIND, "key");
    if (q) {
        *from_query = true;
        return q;
    }
    return MHD_lookup_connection_value(req->mc, MHD_COOKIE_KIND, "fc_key");
}

static bool s_authenticate(s_req_t *req)
{
    bool from_query;
    const char *key = s_presented_key(req, &from_query);
    if (!key) {
        fc_metric_add(req->self->m_auth_failures, 1);
        return s_error(req, 401, "an API key is required: Authorization: Bearer <key>");
    }
    reporter_key_rc_t rc = reporter_key_verify(req->pg, MODULE, key, &req->admin, req->key_tenant,
                                               sizeof req->key_tenant);
    if (rc == REPORTER_KEY_ERROR)
        return s_error(req, 500, "database error");
    if (rc != REPORTER_KEY_OK) {
        fc_metric_add(req->self->m_auth_failures, 1);
        return s_error(req, 401, "invalid or revoked API key");
    }
    if (from_query)
        snprintf(req->cookie_key, sizeof req->cookie_key, "%s", key);
    //  A verified key has one spelling ("fck_<key id>_<secret>", lowercase hex): its
    //  public id part names it for the stream limits, and no secret is kept.
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < 4 + REPORTER_KEY_ID_HEX && key[i]; i++)
        h = (h ^ (uint8_t)key[i]) * 1099511628211ULL;
    req->key_hash = h;
    return true;
}

// ---------------------------------------------------------------------------------------
// Simple JSON endpoints

static enum MHD_Result s_done_json(s_req_t *req, fc_buf_t *b)
{
    reporter_tx_end(req->pg, true);
    return s_respond(req, 200, "application/json", b);
}

//  GET /api/v1/tenants and /api/v1/tenants/<id>
static enum MHD_Result s_tenants(s_req_t *req, const char *one)
{
    reporter_query_t q;
    char filter[64];
    if (!s_query(req, REPORTER_Q_TENANTS, &q) ||
        !s_tenant_filter(req, one, filter, sizeof filter) || !s_begin(req))
        return req->rc;
    const char *params[] = {filter};
    PGresult *res = fc_pg_query(
        req->pg, MODULE, "tenants",
        "SELECT tenant_id, coalesce(name, ''), tz, billing_tier,"
        "       to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
        "  FROM tenants WHERE ($1 = '*' OR tenant_id = $1) ORDER BY tenant_id",
        1, params);
    if (!res)
        return s_error(req, 500, "database error"), req->rc;
    if (one && PQntuples(res) == 0) {
        PQclear(res);
        return s_error(req, 404, "no tenant %s", one), req->rc;
    }
    fc_buf_t b;
    fc_buf_init(&b);
    fc_jw_t jw;
    fc_jw_init(&jw, &b);
    if (!one) {
        fc_jw_object(&jw, NULL);
        fc_jw_array(&jw, "tenants");
    }
    for (int i = 0; i < PQntuples(res); i++) {
        static const char *names[] = {"tenant", "name", "tz", "billing_tier", "created_at"};
        fc_jw_object(&jw, NULL);
        for (int c = 0; c < 5; c++)
            fc_jw_str(&jw, names[c], PQgetvalue(res, i, c));
        fc_jw_end(&jw);
    }
    if (!one) {
        fc_jw_end(&jw);
        fc_jw_end(&jw);
    }
    fc_buf_add_str(&b, "\n");
    PQclear(res);
    return s_done_json(req, &b);
}

//  GET /api/v1/alerts?tenant&from&to&state&limit
static enum MHD_Result s_alerts(s_req_t *req)
{
    reporter_query_t q;
    char filter[64], limit[16];
    if (!s_query(req, REPORTER_Q_ALERTS, &q) ||
        !s_tenant_filter(req, q.tenant, filter, sizeof filter))
        return req->rc;
    snprintf(limit, sizeof limit, "%d", q.limit);
    reporter_window_t w = {0};
    if (!s_begin(req) || !s_tenant_exists(req, filter) ||
        !s_window(req, &q, filter, NULL, "30d", &w))
        return req->rc;
    const char *params[] = {w.arr_tenants, w.arr_from, w.arr_to, q.state, limit};
    PGresult *res = fc_pg_query(
        req->pg, MODULE, "alerts",
        "WITH " REPORTER_SQL_WINDOW " SELECT a.tenant_id, a.alert_id::text,"
        "       to_char(a.fired_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
        "       a.kind, a.scope, a.period_key, a.subject, a.state, coalesce(a.text, ''),"
        "       a.threshold_pct::text, coalesce(a.value_nusd, 0)::text,"
        "       coalesce(a.budget_nusd, 0)::text, a.delivery_status"
        "  FROM cost_alerts a JOIN win w ON w.tenant_id = a.tenant_id"
        " WHERE a.fired_at >= w.lo::timestamp AT TIME ZONE w.tz"
        "   AND a.fired_at < (w.hi + 1)::timestamp AT TIME ZONE w.tz"
        "   AND ($4::text IS NULL OR a.state = $4)"
        " ORDER BY a.fired_at DESC, a.alert_id DESC LIMIT $5::int",
        5, params);
    if (!res) {
        reporter_window_free(&w);
        return s_error(req, 500, "database error"), req->rc;
    }
    fc_buf_t b;
    fc_buf_init(&b);
    fc_jw_t jw;
    fc_jw_init(&jw, &b);
    fc_jw_object(&jw, NULL);
    fc_jw_str(&jw, "tenant", filter);
    fc_jw_str(&jw, "from", w.from);
    fc_jw_str(&jw, "to", w.to);
    reporter_window_json(&jw, w.v, w.n, w.per_tenant);
    reporter_window_free(&w);
    fc_jw_array(&jw, "alerts");
    static const char *names[] = {"tenant",         "alert_id",      "fired_at",   "kind",
                                  "scope",          "period_key",    "subject",    "state",
                                  "text",           "threshold_pct", "value_nusd", "budget_nusd",
                                  "delivery_status"};
    for (int i = 0; i < PQntuples(res); i++) {
        fc_jw_object(&jw, NULL);
        for (int c = 0; c < 13; c++) {
            if (c == 1 || (c >= 9 && c <= 11))
                fc_jw_raw(&jw, names[c], PQgetvalue(res, i, c)); //  integers
            else
                fc_jw_str(&jw, names[c], PQgetvalue(res, i, c));
        }
        fc_jw_end(&jw);
    }
    fc_jw_end(&jw);
    fc_jw_end(&jw);
    fc_buf_add_str(&b, "\n");
    PQclear(res);
    return s_done_json(req, &b);
}

//  GET /api/v1/budgets?tenant: the tenant's budgets and the '*' defaults that apply.
static enum MHD_Result s_budgets(s_req_t *req)
{
    reporter_query_t q;
    char filter[64];
    if (!s_query(req, REPORTER_Q_BUDGETS, &q) ||
        !s_tenant_filter(req, q.tenant, filter, sizeof filter) || !s_begin(req) ||
        !s_tenant_exists(req, filter))
        return req->rc;
    const char *params[] = {filter};
    PGresult *res = fc_pg_query(
        req->pg, MODULE, "budgets",
        "SELECT tenant_id, scope, subject, amount_nusd::text, coalesce(window_seconds, 0)::text,"
        "       array_to_json(thresholds)::text,"
        "       to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), basis"
        "  FROM budgets WHERE ($1 = '*' OR tenant_id = $1 OR tenant_id = '*')"
        " ORDER BY tenant_id, scope, subject",
        1, params);
    if (!res)
        return s_error(req, 500, "database error"), req->rc;
    fc_buf_t b;
    fc_buf_init(&b);
    fc_jw_t jw;
    fc_jw_init(&jw, &b);
    fc_jw_object(&jw, NULL);
    fc_jw_array(&jw, "budgets");
    char usd[32];
    for (int i = 0; i < PQntuples(res); i++) {
        fc_jw_object(&jw, NULL);
        fc_jw_str(&jw, "tenant", PQgetvalue(res, i, 0));
        fc_jw_str(&jw, "scope", PQgetvalue(res, i, 1));
        fc_jw_str(&jw, "subject", PQgetvalue(res, i, 2));
        int64_t amount = fc_pg_int(res, i, 3);
        fc_jw_int(&jw, "amount_nusd", amount);
        fc_jw_str(&jw, "amount_usd", reporter_usd(amount, 9, usd));
        fc_jw_raw(&jw, "window_seconds", PQgetvalue(res, i, 4));
        fc_jw_raw(&jw, "thresholds_pct", PQgetvalue(res, i, 5)); //  array_to_json
        fc_jw_str(&jw, "updated_at", PQgetvalue(res, i, 6));
        fc_jw_str(&jw, "basis", PQgetvalue(res, i, 7)); //  billed | list (0016)
        fc_jw_end(&jw);
    }
    fc_jw_end(&jw);
    fc_jw_end(&jw);
    fc_buf_add_str(&b, "\n");
    PQclear(res);
    return s_done_json(req, &b);
}

//  GET /api/v1/reconcile?from&to&tenant&format: the variance of the provider's bill
//  against fleetcost per tenant and UTC day (fleetcost reconcile, docs/RECONCILE.md §6),
//  the newest run per day; from/to default to the 7 UTC days ending yesterday. A tenant
//  key reads its own rows (RLS); the admin also the unmapped cost (tenant "").
static enum MHD_Result s_reconcile(s_req_t *req)
{
    reporter_query_t q;
    char filter[64], from[FC_DATE_SIZE], to[FC_DATE_SIZE];
    if (!s_query(req, REPORTER_Q_RECONCILE, &q) ||
        !s_tenant_filter(req, q.tenant, filter, sizeof filter))
        return req->rc;
    int64_t today = fc_time_now_us() / 86400000000;
    if (q.from)
        snprintf(from, sizeof from, "%s", q.from), snprintf(to, sizeof to, "%s", q.to);
    else
        fc_date_format(today - 7, from), fc_date_format(today - 1, to);
    if (!s_begin(req) || !s_tenant_exists(req, filter))
        return req->rc;
    fc_buf_t b;
    fc_buf_init(&b);
    if (reporter_reconcile_render(req->pg, MODULE, from, to, filter,
                                  q.csv ? REPORTER_RECONCILE_CSV : REPORTER_RECONCILE_JSON,
                                  &b) < 0) {
        fc_buf_free(&b);
        return s_error(req, 500, "database error"), req->rc;
    }
    if (!q.csv)
        return s_done_json(req, &b);
    reporter_tx_end(req->pg, true);
    return s_respond(req, 200, "text/csv; charset=utf-8", &b);
}

//  GET /api/v1/rates?tenant: every version of the tenants' contract rate cards
//  (docs/RECONCILE.md §4), superseded ones too, oldest first; a tenant key reads its own
//  (RLS). JSON: {"rate_cards": [{tenant, version, effective_from, effective_to (null =
//  open), bp, overrides {family: bp}, monthly_fee_nusd, monthly_fee_usd, note}]}.
static enum MHD_Result s_rates(s_req_t *req)
{
    reporter_query_t q;
    char filter[64];
    if (!s_query(req, REPORTER_Q_RATES, &q) ||
        !s_tenant_filter(req, q.tenant, filter, sizeof filter) || !s_begin(req) ||
        !s_tenant_exists(req, filter))
        return req->rc;
    const char *params[] = {filter};
    PGresult *res = fc_pg_query(
        req->pg, MODULE, "rates",
        "SELECT c.tenant_id, c.version,"
        " to_char(c.effective_from AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
        " to_char(c.effective_to AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
        " c.bp, c.monthly_fee_nusd, c.note,"
        " coalesce((SELECT jsonb_object_agg(o.family, o.bp) FROM rate_card_overrides o"
        "  WHERE o.tenant_id = c.tenant_id AND o.version = c.version), '{}')::text"
        " FROM rate_cards c WHERE ($1 = '*' OR c.tenant_id = $1)"
        " ORDER BY c.tenant_id, c.effective_from, c.version",
        1, params);
    if (!res)
        return s_error(req, 500, "database error"), req->rc;
    fc_buf_t b;
    fc_buf_init(&b);
    fc_jw_t w;
    fc_jw_init(&w, &b);
    fc_jw_object(&w, NULL);
    fc_jw_array(&w, "rate_cards");
    char usd[32];
    for (int i = 0; i < PQntuples(res); i++) {
        int64_t fee = fc_pg_int(res, i, 5);
        fc_jw_object(&w, NULL);
        fc_jw_str(&w, "tenant", PQgetvalue(res, i, 0));
        fc_jw_int(&w, "version", fc_pg_int(res, i, 1));
        fc_jw_str(&w, "effective_from", PQgetvalue(res, i, 2));
        fc_jw_str(&w, "effective_to", PQgetisnull(res, i, 3) ? NULL : PQgetvalue(res, i, 3));
        fc_jw_int(&w, "bp", fc_pg_int(res, i, 4));
        fc_jw_raw(&w, "overrides", PQgetvalue(res, i, 7)); //  Postgres' own jsonb text
        fc_jw_int(&w, "monthly_fee_nusd", fee);
        fc_jw_str(&w, "monthly_fee_usd", reporter_usd(fee, 9, usd));
        fc_jw_str(&w, "note", PQgetisnull(res, i, 6) ? NULL : PQgetvalue(res, i, 6));
        fc_jw_end(&w);
    }
    fc_jw_end(&w);
    fc_jw_end(&w);
    fc_buf_add_str(&b, "\n");
    PQclear(res);
    return s_done_json(req, &b);
}

// ---------------------------------------------------------------------------------------
// Reports

//  GET /api/v1/reports (and /dashboard/-/report): period, date, from, to, format, top.
static enum MHD_Result s_report(s_req_t *req)
{
    reporter_query_t q;
    char filter[64];
    if (!s_query(req, REPORTER_Q_REPORT, &q) ||
        !s_tenant_filter(req, q.tenant, filter, sizeof filter))
        return req->rc;
    reporter_fmt_t fmt = q.fmt;
    const char *period = q.period;
    int top_n = q.top ? q.top : req->self->cfg.top_n;
    reporter_window_t w = {0};
    if (!s_begin(req) || !s_tenant_exists(req, filter) ||
        !s_window(req, &q, filter, period, NULL, &w))
        return req->rc;
    reporter_report_t *r = reporter_report_new();
    if (!r) {
        reporter_window_free(&w);
        return s_error(req, 500, "out of memory"), req->rc;
    }
    reporter_rc_t rc =
        reporter_report_gather(r, req->pg, MODULE, &w, period ? period : "daily", top_n);
    reporter_window_free(&w);
    if (rc != REPORTER_OK) {
        reporter_report_destroy(&r);
        return rc == REPORTER_NOT_FOUND ? (s_error(req, 404, "no tenant %s", filter), req->rc)
                                        : (s_error(req, 500, "database error"), req->rc);
    }
    fc_buf_t b;
    fc_buf_init(&b);
    reporter_render(r, fmt, &b);
    reporter_report_destroy(&r);
    reporter_tx_end(req->pg, true);
    return s_respond(req, 200, reporter_fmt_mime(fmt), &b);
}

// ---------------------------------------------------------------------------------------
// Costs, streamed: rows are read in libpq single-row mode and written as they come, so
// memory stays flat however many groups a range has.

typedef struct {
    reporter_http_t *self;
    PGconn *pg;
    PGresult *row; //  the next row, already fetched
    bool csv, pair, done, failed;
    size_t rows;
    fc_buf_t pending; //  bytes formatted but not yet handed to MHD
    size_t sent;      //  of pending
} s_stream_t;

static void s_stream_row(s_stream_t *s, PGresult *res)
{
    char usd[32];
    int64_t cost = fc_pg_int(res, 0, 2), billed = fc_pg_int(res, 0, 10); //  list, billed
    if (s->csv) {
        fc_esc_csv(&s->pending, PQgetvalue(res, 0, s->pair ? 1 : 0));
        if (s->pair) {
            fc_buf_add(&s->pending, ",", 1);
            fc_esc_csv(&s->pending, PQgetvalue(res, 0, 0));
        }
        fc_buf_addf(&s->pending, ",%lld,%s", (long long)cost, reporter_usd(cost, 9, usd));
        for (int c = 3; c <= 9; c++)
            fc_buf_addf(&s->pending, ",%s", PQgetvalue(res, 0, c));
        fc_buf_addf(&s->pending, ",%lld,%s\r\n", (long long)billed, reporter_usd(billed, 9, usd));
        return;
    }
    //  A row a line: the "rows" array's comma and newline are placed here, the row itself
    //  is a JSON value of its own.
    fc_buf_add_str(&s->pending, s->rows ? ",\n" : "\n");
    static const char *tokens[] = {"input", "output", "cache_read", "cache_write_5m",
                                   "cache_write_1h"};
    fc_jw_t jw;
    fc_jw_init(&jw, &s->pending);
    fc_jw_object(&jw, NULL);
    fc_jw_str(&jw, "key", PQgetvalue(res, 0, s->pair ? 1 : 0));
    if (s->pair)
        fc_jw_str(&jw, "tenant", PQgetvalue(res, 0, 0));
    fc_jw_int(&jw, "cost_nusd", cost);
    fc_jw_str(&jw, "cost_usd", reporter_usd(cost, 9, usd));
    fc_jw_int(&jw, "billed_nusd", billed);
    fc_jw_str(&jw, "billed_usd", reporter_usd(billed, 9, usd));
    fc_jw_object(&jw, "tokens");
    for (int c = 0; c < 5; c++)
        fc_jw_raw(&jw, tokens[c], PQgetvalue(res, 0, 3 + c)); //  sums as Postgres printed them
    fc_jw_end(&jw);
    fc_jw_raw(&jw, "events", PQgetvalue(res, 0, 8));
    fc_jw_raw(&jw, "unpriced_events", PQgetvalue(res, 0, 9));
    fc_jw_end(&jw);
}

//  Formats rows until at least max bytes are pending or the result ends.
static void s_stream_fill(s_stream_t *s, size_t max)
{
    while (!s->done && !s->failed && s->pending.len - s->sent < max) {
        PGresult *res = s->row ? s->row : PQgetResult(s->pg);
        s->row = NULL;
        ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
        if (st == PGRES_SINGLE_TUPLE) {
            s_stream_row(s, res);
            s->rows++;
        } else if (st == PGRES_TUPLES_OK) {
            s->done = true;
            if (!s->csv)
                fc_buf_add_str(&s->pending, "\n]}\n");
        } else {
            fc_error(MODULE, "costs stream: %s", fc_pg_error(s->pg));
            s->failed = true;
        }
        PQclear(res);
    }
}

static ssize_t s_stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    s_stream_t *s = cls;
    if (s->sent == s->pending.len) {
        fc_buf_reset(&s->pending);
        s->sent = 0;
        s_stream_fill(s, max);
    }
    size_t n = s->pending.len - s->sent;
    if (n == 0 || s->pending.failed)
        return s->failed || s->pending.failed ? MHD_CONTENT_READER_END_WITH_ERROR
                                              : MHD_CONTENT_READER_END_OF_STREAM;
    if (n > max)
        n = max;
    memcpy(buf, s->pending.data + s->sent, n);
    s->sent += n;
    return (ssize_t)n;
}

static void s_stream_free(void *cls)
{
    s_stream_t *s = cls;
    PQclear(s->row);
    if (s->pg) {
        //  A client that went away mid-stream leaves rows unread: cancel the query
        //  rather than read them all, then release (which rolls back).
        if (!s->done) {
            PGcancel *c = PQgetCancel(s->pg);
            char err[128];
            if (c) {
                PQcancel(c, err, sizeof err);
                PQfreeCancel(c);
            }
        } else {
            reporter_tx_end(s->pg, !s->failed);
        }
        fc_metric_add(s->self->m_rows, (int64_t)s->rows);
        reporter_pool_release(s->self->pool, &s->pg);
    }
    fc_buf_free(&s->pending);
    free(s);
}

//  GET /api/v1/costs?tenant&from&to&group&format
static enum MHD_Result s_costs(s_req_t *req)
{
    reporter_query_t q;
    char filter[64];
    if (!s_query(req, REPORTER_Q_COSTS, &q) ||
        !s_tenant_filter(req, q.tenant, filter, sizeof filter))
        return req->rc;
    const char *group = q.group;
    reporter_window_t w = {0};
    if (!s_begin(req) || !s_tenant_exists(req, filter) ||
        !s_window(req, &q, filter, NULL, "30d", &w))
        return req->rc;
    if (reporter_costs_send(req->pg, MODULE, &w, group) != 0 || !PQsetSingleRowMode(req->pg)) {
        reporter_window_free(&w);
        return s_error(req, 500, "database error"), req->rc;
    }
    s_stream_t *s = calloc(1, sizeof *s);
    if (!s) {
        reporter_window_free(&w);
        return s_error(req, 500, "out of memory"), req->rc;
    }
    s->self = req->self;
    s->csv = q.csv;
    s->pair = strcmp(group, "agent") == 0 || strcmp(group, "task") == 0;
    fc_buf_init(&s->pending);
    //  The first result decides the status: an SQL error is still a clean 500.
    s->row = PQgetResult(req->pg);
    ExecStatusType st = s->row ? PQresultStatus(s->row) : PGRES_FATAL_ERROR;
    if (st != PGRES_SINGLE_TUPLE && st != PGRES_TUPLES_OK) {
        fc_error(MODULE, "costs: %s", fc_pg_error(req->pg));
        PQclear(s->row);
        free(s);
        reporter_window_free(&w);
        return s_error(req, 500, "database error"), req->rc;
    }
    s->pg = req->pg;
    req->pg = NULL; //  the stream owns the connection now
    if (s->csv) {
        fc_buf_addf(&s->pending,
                    "%s%s,cost_nusd,cost_usd,input_tokens,output_tokens,"
                    "cache_read_tokens,cache_write_5m_tokens,cache_write_1h_tokens,"
                    "events,unpriced_events,billed_nusd,billed_usd\r\n",
                    s->pair ? group : "key", s->pair ? ",tenant" : "");
    } else {
        //  Left open: s_stream_row writes the rows, one a line, and s_stream_fill closes
        //  the array and the object.
        fc_jw_t jw;
        fc_jw_init(&jw, &s->pending);
        fc_jw_object(&jw, NULL);
        fc_jw_str(&jw, "tenant", filter);
        fc_jw_str(&jw, "group", group);
        fc_jw_str(&jw, "from", w.from);
        fc_jw_str(&jw, "to", w.to);
        reporter_window_json(&jw, w.v, w.n, w.per_tenant);
        fc_jw_array(&jw, "rows");
    }
    reporter_window_free(&w);
    struct MHD_Response *resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, S_STREAM_BLOCK,
                                                                  s_stream_read, s, s_stream_free);
    if (!resp) {
        s_stream_free(s);
        return MHD_NO;
    }
    s_headers(req, resp, s->csv ? "text/csv; charset=utf-8" : "application/json");
    enum MHD_Result rc = MHD_queue_response(req->mc, 200, resp);
    MHD_destroy_response(resp);
    return rc;
}

// ---------------------------------------------------------------------------------------
// Live totals (Server-Sent Events)
//
// A tenant's stream takes the day total from the aggregator's newest sum.<tenant>
// summary (reporter_live) and wakes as soon as one arrives. The all-tenant stream of
// every tenant's own today (the admin dashboard's) sums the newest summary of every
// tenant (reporter_live_sum) over a list of the tenants and their local todays, read
// from Postgres when a stream starts and every S_SSE_LIST_MS (shared by all streams),
// so open pages cost Postgres one small read per S_SSE_LIST_MS, not a scan of the day's
// events each per S_SSE_POLL_MS. When no fresh summary covers the figure (no
// aggregator, a reporter or aggregator restart, a tenant's midnight just passed, an
// all-tenant stream of a given day), it re-reads the day's spending from Postgres
// under the key's row-level security: every
// S_SSE_POLL_MS for today, every S_SSE_PAST_MS for any other day (a closed day changes
// only by late events and repricing, and a client per key polling it twice a second
// over the 8-connection pool was an easy way to starve everyone else). An event goes
// out when the figure changed.
//
// Each stream holds a connection thread for as long as its client stays, so streams are
// admitted against limits (s_stream_admit): a total below max-connections (the rest
// stays for /healthz, /metrics and ordinary requests), per API key and per client
// address. A stream over a limit is answered 429 with Retry-After.

typedef struct {
    reporter_http_t *self;
    char scope[64], filter[64], day[11]; //  day "": every tenant's own today
    int64_t today_key;                   //  see reporter_live_total
    int slot;                            //  in self->streams
    uint64_t generation;                 //  of the live summaries last looked at
    bool first;
    int64_t last_nusd;
    time_t last_write;
    int64_t next_read_us;  //  monotonic: the next Postgres read when not live
    int64_t read_nusd;     //  figure of the last Postgres read
    char read_now_day[11]; //  and the day it was "today" then
    char out[512];
    size_t out_len, out_sent;
} s_sse_t;

//  Takes a stream slot for (key, addr), or returns -1 and says which limit refused it.
static int s_stream_admit(reporter_http_t *self, uint64_t key, uint32_t addr, const char **why)
{
    pthread_mutex_lock(&self->streams_mu);
    int by_key = 0, by_addr = 0, free_slot = -1;
    for (int i = 0; i < self->cfg.max_streams; i++) {
        s_stream_slot_t *sl = &self->streams[i];
        if (!sl->used) {
            if (free_slot < 0)
                free_slot = i;
            continue;
        }
        by_key += sl->key == key;
        by_addr += sl->addr == addr;
    }
    *why = by_key >= self->cfg.max_streams_per_key        ? "this API key"
           : by_addr >= self->cfg.max_streams_per_address ? "this client address"
           : free_slot < 0                                ? "this server"
                                                          : NULL;
    if (!*why)
        self->streams[free_slot] = (s_stream_slot_t){true, key, addr};
    pthread_mutex_unlock(&self->streams_mu);
    return *why ? -1 : free_slot;
}

static void s_stream_release(reporter_http_t *self, int slot)
{
    pthread_mutex_lock(&self->streams_mu);
    self->streams[slot].used = false;
    pthread_mutex_unlock(&self->streams_mu);
}

//  The client's IPv4 address (network order), 0 if unknown.
static uint32_t s_client_addr(struct MHD_Connection *mc)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (!ci || !ci->client_addr || ci->client_addr->sa_family != AF_INET)
        return 0;
    return ((const struct sockaddr_in *)ci->client_addr)->sin_addr.s_addr;
}

//  Reads the spending of the day shown (each tenant's own today for an all-tenant stream
//  without a day) and the current day; -1 on a database error.
static int s_sse_read(s_sse_t *s, int64_t *nusd, char now_day[11])
{
    PGconn *pg = reporter_pool_acquire(s->self->pool, S_POOL_WAIT_MS);
    if (!pg)
        return -1;
    fc_metric_add(s->self->m_live_reads, 1);
    int rc = -1;
    int64_t today;
    char latest[11];
    if (reporter_tx_begin(pg, s->scope) == 0 &&
        reporter_today(pg, MODULE, s->filter, &today) == 0 &&
        reporter_live_total(pg, MODULE, s->filter, s->day[0] ? s->day : NULL, nusd, &s->today_key,
                            latest) == 0) {
        if (s->day[0])
            fc_date_format(today, now_day);
        else
            memcpy(now_day, latest, 11);
        rc = 0;
    }
    reporter_tx_end(pg, rc == 0);
    reporter_pool_release(s->self->pool, &pg);
    return rc;
}

//  Reads the tenants and their local todays for reporter_live_sum. 0, or -1 on a
//  database error.
static int s_sse_list(s_sse_t *s)
{
    PGconn *pg = reporter_pool_acquire(s->self->pool, S_POOL_WAIT_MS);
    if (!pg)
        return -1;
    fc_metric_add(s->self->m_live_reads, 1);
    reporter_window_t w;
    char err[128];
    int rc = -1;
    if (reporter_tx_begin(pg, s->scope) == 0 &&
        reporter_window_resolve(&w, pg, MODULE, "*", NULL, NULL, NULL, NULL, err, sizeof err) ==
            0) {
        reporter_live_list(s->self->live, &w);
        reporter_window_free(&w);
        rc = 0;
    }
    reporter_tx_end(pg, rc == 0);
    reporter_pool_release(s->self->pool, &pg);
    return rc;
}

//  The "totals" event into s->out; its length. The amounts are strings: JavaScript's
//  numbers do not hold every int64.
static size_t s_sse_totals(s_sse_t *s, const char *now_day, int64_t nusd)
{
    char usd[32], key[24], n[24];
    snprintf(key, sizeof key, "%lld", (long long)s->today_key);
    snprintf(n, sizeof n, "%lld", (long long)nusd);
    fc_buf_t b;
    fc_buf_init(&b);
    fc_buf_add_str(&b, "event: totals\ndata: ");
    fc_jw_t jw;
    fc_jw_init(&jw, &b);
    fc_jw_object(&jw, NULL);
    fc_jw_str(&jw, "tenant", s->filter);
    fc_jw_str(&jw, "day", s->day[0] ? s->day : now_day);
    fc_jw_str(&jw, "now_day", now_day);
    fc_jw_str(&jw, "today_key", key);
    fc_jw_str(&jw, "today_nusd", n);
    fc_jw_str(&jw, "today_usd", reporter_usd(nusd, 9, usd));
    fc_jw_end(&jw);
    fc_buf_add_str(&b, "\n\n");
    size_t len = b.failed || b.len >= sizeof s->out ? 0 : b.len;
    if (len)
        memcpy(s->out, b.data, len);
    fc_buf_free(&b);
    return len;
}

static ssize_t s_sse_read_cb(void *cls, uint64_t pos, char *buf, size_t max)
{
    s_sse_t *s = cls;
    while (s->out_sent == s->out_len) {
        if (atomic_load(&s->self->stopping))
            return MHD_CONTENT_READER_END_OF_STREAM;
        int64_t nusd;
        char now_day[11];
        bool all = strcmp(s->filter, "*") == 0 && !s->day[0];
        if (all && reporter_live_enabled(s->self->live) &&
            (reporter_live_list_due(s->self->live, S_SSE_LIST_MS) || s->first) &&
            s_sse_list(s) != 0)
            return MHD_CONTENT_READER_END_WITH_ERROR; //  the browser reconnects
        bool live =
            all ? reporter_live_sum(s->self->live, S_LIVE_MAX_AGE_S, &nusd, &s->today_key, now_day)
                : strcmp(s->filter, "*") != 0 && s->day[0] &&
                      reporter_live_get(s->self->live, s->filter, s->day, &nusd, S_LIVE_MAX_AGE_S);
        if (live && !all) {
            memcpy(now_day, s->day, sizeof now_day);
            int64_t d = 0;
            (void)fc_date_parse(s->day, &d);
            s->today_key = d;
        } else if (!live) {
            int64_t mono = fc_time_mono_us();
            if (s->first || mono >= s->next_read_us) {
                if (s_sse_read(s, &s->read_nusd, s->read_now_day) != 0)
                    return MHD_CONTENT_READER_END_WITH_ERROR; //  the browser reconnects
                //  Today moves, and so does every tenant's own today (day ""); a past
                //  day only by late events and repricing.
                bool today = !s->day[0] || strcmp(s->read_now_day, s->day) == 0;
                s->next_read_us = mono + (int64_t)(today ? S_SSE_POLL_MS : S_SSE_PAST_MS) * 1000;
            }
            nusd = s->read_nusd;
            memcpy(now_day, s->read_now_day, sizeof now_day);
        }
        time_t now = time(NULL);
        if (s->first || nusd != s->last_nusd) {
            s->out_len = s_sse_totals(s, now_day, nusd);
            s->first = false;
            s->last_nusd = nusd;
        } else if (now - s->last_write >= s->self->ping_s) {
            s->out_len = (size_t)snprintf(s->out, sizeof s->out, ": ping\n\n");
        } else {
            reporter_live_wait(s->self->live, &s->generation, S_SSE_POLL_MS);
            continue;
        }
        s->out_sent = 0;
        s->last_write = now;
    }
    size_t n = s->out_len - s->out_sent;
    if (n > max)
        n = max;
    memcpy(buf, s->out + s->out_sent, n);
    s->out_sent += n;
    if (s->out_sent == s->out_len)
        s->out_sent = s->out_len = 0;
    return (ssize_t)n;
}

static void s_sse_free(void *cls)
{
    s_sse_t *s = cls;
    fc_metric_add(s->self->m_sse, -1);
    s_stream_release(s->self, s->slot);
    free(s);
}

//  GET /api/v1/stream and /dashboard/-/events: ?tenant&day
static enum MHD_Result s_sse(s_req_t *req)
{
    reporter_query_t q;
    char filter[64];
    if (!s_query(req, REPORTER_Q_STREAM, &q) ||
        !s_tenant_filter(req, q.tenant, filter, sizeof filter))
        return req->rc;
    int64_t d = q.day;
    if (!s_begin(req) || !s_tenant_exists(req, filter))
        return req->rc;
    //  Without a day a tenant's stream follows the tenant's today as of now (the page
    //  reloads when it changes); an all-tenant stream follows every tenant's own today.
    bool own_today = !q.has_day && strcmp(filter, "*") == 0;
    if (!q.has_day && !own_today) {
        if (reporter_today(req->pg, MODULE, filter, &d) != 0)
            return s_error(req, 500, "database error"), req->rc;
    }
    reporter_tx_end(req->pg, true);
    const char *why;
    int slot = s_stream_admit(req->self, req->key_hash, s_client_addr(req->mc), &why);
    if (slot < 0) {
        fc_metric_add(req->self->m_refused, 1);
        return s_error(req, 429, "too many live streams for %s; retry later", why), req->rc;
    }
    s_sse_t *s = calloc(1, sizeof *s);
    if (!s) {
        s_stream_release(req->self, slot);
        return s_error(req, 500, "out of memory"), req->rc;
    }
    s->slot = slot;
    s->self = req->self;
    snprintf(s->scope, sizeof s->scope, "%s", req->admin ? "*" : req->key_tenant);
    snprintf(s->filter, sizeof s->filter, "%s", filter);
    if (!own_today)
        fc_date_format(d, s->day);
    s->first = true;
    s->last_write = time(NULL);
    struct MHD_Response *resp =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 1024, s_sse_read_cb, s, s_sse_free);
    if (!resp) {
        s_stream_release(req->self, slot);
        free(s);
        return MHD_NO;
    }
    fc_metric_add(req->self->m_sse, 1);
    s_headers(req, resp, "text/event-stream");
    enum MHD_Result rc = MHD_queue_response(req->mc, 200, resp);
    MHD_destroy_response(resp);
    return rc;
}

// ---------------------------------------------------------------------------------------
// Dashboard

//  GET /dashboard (admin: every tenant) and /dashboard/<tenant>: ?range
static enum MHD_Result s_dashboard(s_req_t *req, const char *tenant)
{
    reporter_query_t q;
    char filter[64];
    if (!s_query(req, REPORTER_Q_DASHBOARD, &q))
        return req->rc;
    const char *range = q.range; //  checked by reporter_query (7d, 30d, 90d, mtd)
    if (!tenant && !req->admin)
        return s_error(req, 403, "this key may read /dashboard/%s only", req->key_tenant), req->rc;
    if (!s_tenant_filter(req, tenant, filter, sizeof filter) || !s_begin(req) ||
        !s_tenant_exists(req, filter))
        return req->rc;
    if (req->cookie_key[0]) {
        //  The key came in the address: keep it in the cookie only and send the browser
        //  back to the same page without it, out of history and logs.
        reporter_tx_end(req->pg, true);
        struct MHD_Response *resp =
            MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
        if (!resp)
            return MHD_NO;
        s_headers(req, resp, "text/plain");
        char loc[160];
        snprintf(loc, sizeof loc, "/dashboard%s%s?range=%s", tenant ? "/" : "",
                 tenant ? tenant : "", range);
        MHD_add_response_header(resp, "Location", loc);
        enum MHD_Result rc = MHD_queue_response(req->mc, MHD_HTTP_SEE_OTHER, resp);
        MHD_destroy_response(resp);
        return rc;
    }
    //  Each tenant's own range, and its own month for the budget burn.
    reporter_window_t w = {0};
    reporter_burn_t burn;
    if (!s_window(req, &q, filter, range, range, &w))
        return req->rc;
    if (reporter_burn_gather(&burn, req->pg, MODULE, filter, true) != 0) {
        reporter_window_free(&w);
        return s_error(req, 500, "database error"), req->rc;
    }
    reporter_report_t *r = reporter_report_new();
    if (!r) {
        reporter_window_free(&w);
        return s_error(req, 500, "out of memory"), req->rc;
    }
    //  Today comes from the aggregator's in-day rollups, not from a scan of every event
    //  of the day; the live stream then moves the totals to the second.
    r->inday_rollups = true;
    reporter_rc_t rc = reporter_report_gather(r, req->pg, MODULE, &w, range, req->self->cfg.top_n);
    reporter_window_free(&w);
    if (rc != REPORTER_OK) {
        reporter_report_destroy(&r);
        return s_error(req, rc == REPORTER_NOT_FOUND ? 404 : 500, "%s",
                       rc == REPORTER_NOT_FOUND ? "no such tenant" : "database error"),
               req->rc;
    }
    reporter_pool_replay_lag(req->pg, &r->reader_lag); //  a footer line on a standby
    fc_buf_t b;
    fc_buf_init(&b);
    reporter_render_dashboard(r, &burn, range, &b);
    reporter_report_destroy(&r);
    reporter_tx_end(req->pg, true);
    return s_respond(req, 200, "text/html; charset=utf-8", &b);
}

//  GET /dashboard/-/drill?dim&id&tenant&range: one agent or task (of a tenant), agent
//  type, model or cost kind over the dashboard's range.
static enum MHD_Result s_drill(s_req_t *req)
{
    reporter_query_t q;
    char filter[64];
    if (!s_query(req, REPORTER_Q_DRILL, &q) ||
        !s_tenant_filter(req, q.tenant, filter, sizeof filter))
        return req->rc;
    const char *range = q.range, *dim = q.dim; //  both checked by reporter_query
    if (strcmp(filter, "*") == 0 && (strcmp(dim, "agent") == 0 || strcmp(dim, "task") == 0))
        return s_error(req, 400, "tenant: an agent or a task belongs to a tenant"), req->rc;
    reporter_window_t w = {0};
    if (!s_begin(req) || !s_tenant_exists(req, filter) ||
        !s_window(req, &q, filter, range, range, &w))
        return req->rc;
    reporter_drill_t d;
    reporter_rc_t rc = reporter_drill_gather(&d, req->pg, MODULE, &w, range, dim, q.id);
    reporter_window_free(&w);
    if (rc != REPORTER_OK) {
        reporter_drill_free(&d);
        return s_error(req, 500, "database error"), req->rc;
    }
    fc_buf_t b;
    fc_buf_init(&b);
    reporter_render_drill(&d, range, &b);
    reporter_drill_free(&d);
    reporter_tx_end(req->pg, true);
    return s_respond(req, 200, "text/html; charset=utf-8", &b);
}

// ---------------------------------------------------------------------------------------
// Routing

static enum MHD_Result s_static(s_req_t *req, unsigned status, const char *mime, const char *text)
{
    fc_buf_t b;
    fc_buf_init(&b);
    fc_buf_add_str(&b, text);
    return s_respond(req, status, mime, &b);
}

//  Routes that read tenant data: a pooled connection, the key, then the handler.
typedef enum {
    R_TENANTS,
    R_TENANT,
    R_COSTS,
    R_REPORT,
    R_ALERTS,
    R_BUDGETS,
    R_RECONCILE,
    R_RATES,
    R_SSE,
    R_DASH,
    R_DRILL
} s_route_t;

static enum MHD_Result s_with_key(s_req_t *req, s_route_t route, const char *arg)
{
    req->pg = reporter_pool_acquire(req->self->pool, S_POOL_WAIT_MS);
    if (!req->pg) {
        s_error(req, 503, "no database connection available");
        return req->rc;
    }
    enum MHD_Result rc;
    if (!s_authenticate(req))
        rc = req->rc;
    else
        switch (route) {
        case R_TENANTS:
            rc = s_tenants(req, NULL);
            break;
        case R_TENANT:
            rc = s_tenants(req, arg);
            break;
        case R_COSTS:
            rc = s_costs(req);
            break;
        case R_REPORT:
            rc = s_report(req);
            break;
        case R_ALERTS:
            rc = s_alerts(req);
            break;
        case R_BUDGETS:
            rc = s_budgets(req);
            break;
        case R_RECONCILE:
            rc = s_reconcile(req);
            break;
        case R_RATES:
            rc = s_rates(req);
            break;
        case R_SSE:
            rc = s_sse(req);
            break;
        case R_DRILL:
            rc = s_drill(req);
            break;
        default:
            rc = s_dashboard(req, arg);
        }
    if (req->pg) {
        reporter_tx_end(req->pg, false); //  a handler that failed part-way
        reporter_pool_release(req->self->pool, &req->pg);
    }
    return rc;
}

static enum MHD_Result s_handle(void *cls, struct MHD_Connection *mc, const char *url,
                                const char *method, const char *version, const char *upload,
                                size_t *upload_size, void **state)
{
    reporter_http_t *self = cls;
    s_req_t req = {.self = self, .mc = mc, .url = url, .rc = MHD_NO};
    fc_metric_add(self->m_requests, 1);
    fc_debug(MODULE, "%s %s", method, url);
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        s_error(&req, 405, "only GET is supported");
        return req.rc;
    }
    if (strcmp(url, "/healthz") == 0) {
        PGconn *pg = reporter_pool_acquire(self->pool, S_POOL_WAIT_MS);
        PGresult *res = pg ? PQexec(pg, "SELECT 1") : NULL;
        bool ok = res && PQresultStatus(res) == PGRES_TUPLES_OK;
        PQclear(res);
        reporter_pool_release(self->pool, &pg);
        return ok ? s_static(&req, 200, "application/json", "{\"status\":\"ok\"}\n")
                  : (s_error(&req, 503, "database unreachable"), req.rc);
    }
    if (strcmp(url, "/metrics") == 0) {
        fc_buf_t b;
        fc_buf_init(&b);
        fc_metrics_render(self->metrics, &b);
        fc_buf_addf(&b,
                    "# HELP fleetcost_reporter_db_connections Database connections open.\n"
                    "# TYPE fleetcost_reporter_db_connections gauge\n"
                    "fleetcost_reporter_db_connections %d\n",
                    reporter_pool_open(self->pool));
        //  Replay lag of the reader's server (0 on a primary): docs/SCALING.md.
        PGconn *pg = reporter_pool_acquire(self->pool, S_POOL_WAIT_MS);
        reporter_lag_t lag;
        if (pg && reporter_pool_replay_lag(pg, &lag) == 0)
            fc_buf_addf(&b,
                        "# TYPE fleetcost_reporter_reader_standby gauge\n"
                        "fleetcost_reporter_reader_standby %d\n"
                        "# TYPE fleetcost_reporter_replay_lag_ms gauge\n"
                        "fleetcost_reporter_replay_lag_ms %lld\n"
                        "# TYPE fleetcost_reporter_replay_lag_bytes gauge\n"
                        "fleetcost_reporter_replay_lag_bytes %lld\n",
                        lag.standby, (long long)lag.lag_ms, (long long)lag.lag_bytes);
        reporter_pool_release(self->pool, &pg);
        return s_respond(&req, 200, "text/plain; version=0.0.4", &b);
    }
    if (strcmp(url, "/dashboard/-/app.js") == 0)
        return s_static(&req, 200, "text/javascript; charset=utf-8", reporter_dashboard_js());

    static const char api[] = "/api/v1/";
    if (strncmp(url, api, sizeof api - 1) == 0) {
        const char *p = url + sizeof api - 1;
        if (strcmp(p, "tenants") == 0)
            return s_with_key(&req, R_TENANTS, NULL);
        if (strncmp(p, "tenants/", 8) == 0 && p[8])
            return s_with_key(&req, R_TENANT, p + 8);
        if (strcmp(p, "costs") == 0)
            return s_with_key(&req, R_COSTS, NULL);
        if (strcmp(p, "reports") == 0)
            return s_with_key(&req, R_REPORT, NULL);
        if (strcmp(p, "alerts") == 0)
            return s_with_key(&req, R_ALERTS, NULL);
        if (strcmp(p, "budgets") == 0)
            return s_with_key(&req, R_BUDGETS, NULL);
        if (strcmp(p, "reconcile") == 0)
            return s_with_key(&req, R_RECONCILE, NULL);
        if (strcmp(p, "rates") == 0)
            return s_with_key(&req, R_RATES, NULL);
        if (strcmp(p, "stream") == 0)
            return s_with_key(&req, R_SSE, NULL);
    }
    if (strcmp(url, "/dashboard") == 0 || strncmp(url, "/dashboard/", 11) == 0) {
        req.dashboard = true;
        const char *p = url + 10;
        if (*p == '/')
            p++;
        if (!*p)
            return s_with_key(&req, R_DASH, NULL);
        if (strcmp(p, "-/events") == 0)
            return s_with_key(&req, R_SSE, NULL);
        if (strcmp(p, "-/report") == 0)
            return s_with_key(&req, R_REPORT, NULL);
        if (strcmp(p, "-/drill") == 0)
            return s_with_key(&req, R_DRILL, NULL);
        if (strchr(p, '/') == NULL)
            return s_with_key(&req, R_DASH, p);
    }
    s_error(&req, 404, "no such endpoint");
    return req.rc;
}

// ---------------------------------------------------------------------------------------

static char *s_read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fc_buf_t b;
    fc_buf_init(&b);
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0 && b.len < 1 << 20)
        fc_buf_add(&b, chunk, n);
    fclose(f);
    fc_buf_add(&b, "", 1);
    if (b.failed) {
        fc_buf_free(&b);
        return NULL;
    }
    return (char *)b.data;
}

static void s_free(reporter_http_t *self)
{
    reporter_live_destroy(&self->live);
    free(self->streams);
    pthread_mutex_destroy(&self->streams_mu);
    reporter_pool_destroy(&self->pool);
    fc_metrics_destroy(&self->metrics);
    free(self->bind);
    free(self->pg_url);
    free(self->cert_pem);
    free(self->key_pem);
    free(self);
}

reporter_http_t *reporter_http_start(const reporter_http_config_t *config)
{
    reporter_http_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->cfg = *config;
    pthread_mutex_init(&self->streams_mu, NULL);
    //  Streams never take every connection thread: at least a quarter (and 2) stay free.
    int most = self->cfg.max_connections -
               (self->cfg.max_connections / 4 > 2 ? self->cfg.max_connections / 4 : 2);
    if (self->cfg.max_streams <= 0 || self->cfg.max_streams > most)
        self->cfg.max_streams = most > 1 ? most : 1;
    self->streams = calloc((size_t)self->cfg.max_streams, sizeof *self->streams);
    //  Keep-alive comments well inside the inactivity timeout, or MHD would close an
    //  idle stream between two of them.
    self->ping_s = S_SSE_PING_S;
    if (config->timeout_s > 0 && config->timeout_s / 2 < self->ping_s)
        self->ping_s = config->timeout_s / 2 > 0 ? config->timeout_s / 2 : 1;
    self->bind = strdup(config->bind && *config->bind ? config->bind : "127.0.0.1");
    self->pg_url = strdup(config->pg_url);
    self->pool = reporter_pool_new(config->pg_url, config->pool_size, MODULE);
    self->metrics = fc_metrics_new("fleetcost_reporter");
    if (!self->bind || !self->pg_url || !self->pool || !self->metrics || !self->streams) {
        s_free(self);
        return NULL;
    }
    self->m_requests = fc_metrics_add(self->metrics, "http_requests_total", FC_METRIC_COUNTER,
                                      "HTTP requests received.");
    self->m_4xx = fc_metrics_add(self->metrics, "http_client_errors_total", FC_METRIC_COUNTER,
                                 "Responses with a 4xx status.");
    self->m_5xx = fc_metrics_add(self->metrics, "http_server_errors_total", FC_METRIC_COUNTER,
                                 "Responses with a 5xx status.");
    self->m_auth_failures = fc_metrics_add(self->metrics, "auth_failures_total", FC_METRIC_COUNTER,
                                           "Requests with a missing or bad key.");
    self->m_sse = fc_metrics_add(self->metrics, "live_streams", FC_METRIC_GAUGE,
                                 "Open live-total streams (Server-Sent Events).");
    self->m_refused = fc_metrics_add(self->metrics, "live_streams_refused_total", FC_METRIC_COUNTER,
                                     "Live streams refused (429) by a stream limit.");
    self->m_live_reads = fc_metrics_add(self->metrics, "live_db_reads_total", FC_METRIC_COUNTER,
                                        "Postgres reads made by live streams (no summary).");
    self->m_rows = fc_metrics_add(self->metrics, "streamed_rows_total", FC_METRIC_COUNTER,
                                  "Rows streamed by /api/v1/costs.");
    fc_metric_t *m_live = fc_metrics_add(self->metrics, "live_summaries_total", FC_METRIC_COUNTER,
                                         "Aggregator summaries taken in for live totals.");
    self->live = reporter_live_new(config->aggregator_pub, m_live);
    if (!self->live) {
        s_free(self);
        return NULL;
    }

    bool want_tls = config->tls_cert && *config->tls_cert && config->tls_key && *config->tls_key;
    if (want_tls) {
        self->cert_pem = s_read_file(config->tls_cert);
        self->key_pem = s_read_file(config->tls_key);
        if (!self->cert_pem || !self->key_pem) {
            fc_error(MODULE, "cannot read the TLS certificate %s or key %s", config->tls_cert,
                     config->tls_key);
            s_free(self);
            return NULL;
        }
        self->tls = true;
    }
    //  A thread per connection: handlers block on PostgreSQL and live streams hold
    //  theirs. ipv4_only: stream slots and logs keep the peer as an IPv4 address.
    fc_http_options_t o = {.module = MODULE,
                           .bind = self->bind,
                           .port = config->port,
                           .ipv4_only = true,
                           .handler = s_handle,
                           .handler_cls = self,
                           .threads = FC_HTTP_THREAD_PER_CONNECTION,
                           .thread_stack_size = 512 * 1024,
                           .max_connections = (unsigned)config->max_connections,
                           .max_per_address = (unsigned)config->max_connections_per_address,
                           .timeout_s = (unsigned)config->timeout_s,
                           .tls_cert_pem = self->cert_pem,
                           .tls_key_pem = self->key_pem};
    self->http = fc_http_start(&o);
    if (!self->http) {
        s_free(self);
        return NULL;
    }
    if (!self->tls && !fc_http_loopback(self->http))
        fc_warn(MODULE,
                "serving PLAIN HTTP on %s: API keys cross the network in clear; give "
                "--tls-cert and --tls-key outside local development",
                self->bind);
    fc_info(MODULE,
            "serving %s on %s:%d (%d database connections, %d HTTP connections, %d per "
            "address, %d s inactivity timeout; live streams: %d, %d per key, %d per address)",
            self->tls ? "HTTPS" : "HTTP", self->bind, fc_http_port(self->http), config->pool_size,
            config->max_connections, config->max_connections_per_address, config->timeout_s,
            self->cfg.max_streams, self->cfg.max_streams_per_key,
            self->cfg.max_streams_per_address);
    return self;
}

int reporter_http_port(reporter_http_t *self)
{
    return fc_http_port(self->http);
}

void reporter_http_stop(reporter_http_t **self_p)
{
    reporter_http_t *self = *self_p;
    if (!self)
        return;
    //  Live streams end at their next turn (stopping). A request whose query waits on
    //  a lock, or runs long, would hold MHD_stop_daemon (it joins every connection
    //  thread): such queries get S_STOP_GRACE_MS to finish, then are cancelled, so the
    //  handler answers an error and the stop goes on.
    atomic_store(&self->stopping, true);
    fc_signal_stage("stopping HTTP (requests in flight)");
    int64_t until = fc_time_mono_us() + (int64_t)S_STOP_GRACE_MS * 1000;
    while (reporter_pool_busy(self->pool) > 0 && fc_time_mono_us() < until)
        usleep(20 * 1000);
    int cancelled = 0;
    until = fc_time_mono_us() + (int64_t)S_STOP_GRACE_MS * 1000;
    while (reporter_pool_busy(self->pool) > 0 && fc_time_mono_us() < until) {
        cancelled += reporter_pool_cancel_busy(self->pool);
        usleep(100 * 1000);
    }
    if (cancelled)
        fc_warn(MODULE,
                "stopping: queries still running after %d ms cancelled (%d cancel requests)",
                S_STOP_GRACE_MS, cancelled);
    fc_http_stop(&self->http);
    s_free(self);
    *self_p = NULL;
}
