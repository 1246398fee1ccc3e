/*  fleetcost reconcile: fleetcost's cost per tenant and UTC day against Anthropic's bill.

    A worker beside the others, never in the event path (its own connection, reads of
    events only): for a range of UTC days it fetches the Admin API's cost report
    (GET /v1/organizations/cost_report, grouped by workspace and description, amounts as
    decimal strings of cents) and usage report (GET /v1/organizations/usage_report/
    messages, grouped by workspace and model), every page of each, and then in one
    transaction replaces the range's imported rows (provider_costs, provider_usage) and
    writes the run's variance per (tenant, day) (reconcile_variances). A run that fails
    anywhere (an error answer, a malformed page, rate limits that outlast the run's
    waiting budget) is recorded as failed with its reason and changes nothing else: the
    range is fetched again by the next run. docs/RECONCILE.md has the facts and rules.

        fleetcost reconcile [run] [--from D --to D] [--once]   (the worker)
        fleetcost reconcile map   --workspace W --tenant T     (audited)
        fleetcost reconcile unmap --workspace W                (audited)
        fleetcost reconcile list                               (the workspace map)
        fleetcost reconcile runs                               (recent runs, errors)
        fleetcost reconcile show  [--from D --to D] [--tenant T] [--csv]

    Without --from/--to a run covers the last --window-days settled UTC days (a day is
    settled from D+1 02:00 UTC) and, without --once, runs again every --interval-s.

    Rate limits (RECONCILE.md §1.5): a 429 is answered by waiting Retry-After when given,
    else until anthropic-ratelimit-requests-reset when ahead, else an exponential backoff
    with jitter from --backoff-s; 5xx and transport errors back off the same way. Every
    wait is capped (--max-wait-s) and so is their sum per run (--max-total-wait-s). The
    same page is asked again; a page is never skipped.

    The Admin API key (--admin-key, better FLEETCOST_ADMIN_KEY) reads the whole
    organisation's usage: it is masked in every log line and never printed. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli_http.h"
#include "commands.h"
#include "fc_buf.h"
#include "fc_config.h"
#include "fc_escape.h"
#include "fc_json_tok.h"
#include "fc_json_write.h"
#include "fc_log.h"
#include "fc_money.h"
#include "fc_pg.h"
#include "fc_signal.h"
#include "fc_time.h"
#include "reporter_reconcile.h"

#define MODULE   "reconcile"
#define PROVIDER "anthropic"
//  JSON tokens of one page: one per 8 bytes of --max-page-bytes (a result of the cost
//  report is about 14 bytes a token), so a page within the byte bound fits.
#define BYTES_PER_TOKEN 8
#define MAX_FIELD       256 //  any string field of a result
#define MAX_KEY         400
#define MAX_CURSOR      512
#define MAX_ERROR       512
#define S_COST_PATH     "/v1/organizations/cost_report"
#define S_USAGE_PATH    "/v1/organizations/usage_report/messages"

static const fc_option_t s_options[] = {
    {"admin-api-url", FC_OPT_STR, "https://api.anthropic.com", 0, 0, FC_SECRET_URL,
     "Anthropic API base URL"},
    {"admin-key", FC_OPT_STR, "", 0, 0, FC_SECRET_VALUE,
     "Anthropic Admin API key, sk-ant-admin01-... (give it by the environment)"},
    {"from", FC_OPT_STR, "", 0, 0, false, "first UTC day YYYY-MM-DD (default: see --window-days)"},
    {"to", FC_OPT_STR, "", 0, 0, false, "last UTC day YYYY-MM-DD, inclusive"},
    {"window-days", FC_OPT_INT, "7", 1, 31, false,
     "without --from/--to: this many settled days up to yesterday (today-2 before 02:00 UTC)"},
    {"interval-s", FC_OPT_INT, "21600", 60, 86400, false,
     "pause between runs of the worker (each keeps its rows: see RECONCILE.md)"},
    {"keep-history-days", FC_OPT_INT, "30", 1, 3650, false,
     "drop a day's variance rows superseded by a newer run once their run is this old"},
    {"once", FC_OPT_BOOL, "false", 0, 0, false, "one run, then exit (exit 1 if it failed)"},
    {"page-limit", FC_OPT_INT, "7", 1, 31, false,
     "daily buckets per page (the API's default; it allows 31)"},
    {"max-pages", FC_OPT_INT, "200", 1, 10000, false, "pages per report and run"},
    {"max-wait-s", FC_OPT_INT, "120", 1, 3600, false, "longest single rate-limit wait"},
    {"max-total-wait-s", FC_OPT_INT, "900", 1, 86400, false,
     "waits of one run beyond this: the run fails (retried next run)"},
    {"backoff-s", FC_OPT_INT, "5", 1, 600, false,
     "first backoff when a 429 names no time, or on 5xx; doubles"},
    {"timeout-ms", FC_OPT_INT, "30000", 100, 300000, false, "per request"},
    {"max-page-bytes", FC_OPT_INT, "16777216", 1024, 268435456, false,
     "longest answer accepted (a page of 31 days of many workspaces is far below 16 MiB)"},
    {"workspace", FC_OPT_STR, "", 0, 0, false, "map, unmap: the provider's workspace id"},
    {"tenant", FC_OPT_STR, "", 0, 0, false, "map: the tenant; show: only this tenant"},
    {"csv", FC_OPT_BOOL, "false", 0, 0, false, "show: CSV instead of a table"},
    {"actor", FC_OPT_STR, "", 0, 0, false, "who makes the change (default: $USER)"},
    FC_OPT_END};

typedef struct {
    fc_config_t *cfg;
    PGconn *pg;
    cli_http_t *http;
    fc_jtok_t *toks;
    int max_tokens;
    int64_t from_days, to_days; //  the run's range, days since 1970-01-01 (UTC)
    char from[FC_DATE_SIZE], to[FC_DATE_SIZE];
    //  the run's counters
    int requests, pages, rate_limited;
    int64_t waited_ms;
    char error[MAX_ERROR];
} s_worker_t;

//  A report: its path, its grouping, and how one result becomes a JSON row.
typedef struct s_report s_report_t;
typedef int (*s_row_fn)(s_worker_t *w, const char *text, int res, fc_jw_t *row, char *why,
                        size_t whysize);
struct s_report {
    const char *name, *path, *group_by;
    s_row_fn row;
};

//  Appends s percent-encoded (RFC 3986 unreserved characters kept).
static void s_urlenc(fc_buf_t *b, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.' || c == '~')
            fc_buf_add(b, s, 1);
        else
            fc_buf_addf(b, "%%%02X", c);
    }
}

static void s_fail(s_worker_t *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void s_fail(s_worker_t *w, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->error, sizeof w->error, fmt, ap);
    va_end(ap);
}

//  A string-or-null member of object obj into out ("" and *null for null or absent).
//  -1 when it is another type, too long, or holds \u0000.
static int s_str(const char *text, const fc_jtok_t *toks, int obj, const char *key, char *out,
                 size_t size, bool *null)
{
    int i = fc_jtok_member(text, toks, obj, key);
    out[0] = 0;
    *null = i < 0 || toks[i].type == FC_JTOK_NULL;
    if (*null)
        return 0;
    return toks[i].type == FC_JTOK_STRING && fc_jtok_string(text, toks, i, out, size) >= 0 ? 0 : -1;
}

//  One cost_report result. The amount must be a decimal string of cents (a JSON number
//  is refused: its conversion would be a guess) and the currency USD.
static int s_cost_row(s_worker_t *w, const char *text, int res, fc_jw_t *row, char *why,
                      size_t whysize)
{
    const fc_jtok_t *toks = w->toks;
    int a = fc_jtok_member(text, toks, res, "amount");
    int64_t nusd;
    bool rounded, null;
    if (a < 0 || toks[a].type != FC_JTOK_STRING || toks[a].escaped ||
        fc_money_parse_cents(text + toks[a].start, toks[a].end - toks[a].start, &nusd, &rounded) !=
            0) {
        snprintf(why, whysize, "amount is not a decimal string of cents");
        return -1;
    }
    char cur[16];
    if (s_str(text, toks, res, "currency", cur, sizeof cur, &null) != 0 || strcmp(cur, "USD")) {
        snprintf(why, whysize, "currency is not \"USD\"");
        return -1;
    }
    static const char *const fields[] = {"description",  "cost_type",    "model",
                                         "token_type",   "service_tier", "context_window",
                                         "inference_geo"};
    for (size_t f = 0; f < sizeof fields / sizeof fields[0]; f++) {
        char v[MAX_FIELD];
        if (s_str(text, toks, res, fields[f], v, sizeof v, &null) != 0) {
            snprintf(why, whysize, "%s is not a string of at most %d bytes or null", fields[f],
                     MAX_FIELD - 1);
            return -1;
        }
        fc_jw_str(row, fields[f], null ? NULL : v);
    }
    fc_jw_int(row, "amount_nusd", nusd);
    fc_jw_bool(row, "rounded", rounded);
    return 0;
}

//  One usage_report/messages result: token counts, each a non-negative integer (absent
//  counts as 0: older answers lack the 1-hour cache field).
static int s_usage_row(s_worker_t *w, const char *text, int res, fc_jw_t *row, char *why,
                       size_t whysize)
{
    const fc_jtok_t *toks = w->toks;
    char model[MAX_FIELD];
    bool null;
    if (s_str(text, toks, res, "model", model, sizeof model, &null) != 0) {
        snprintf(why, whysize, "model is not a string or null");
        return -1;
    }
    fc_jw_str(row, "model", null ? NULL : model);
    static const char *const paths[][2] = {
        {"uncached_input_tokens", "input_tokens"},
        {"output_tokens", "output_tokens"},
        {"cache_read_input_tokens", "cache_read_tokens"},
        {"cache_creation.ephemeral_5m_input_tokens", "cache_write_5m_tokens"},
        {"cache_creation.ephemeral_1h_input_tokens", "cache_write_1h_tokens"}};
    for (size_t f = 0; f < sizeof paths / sizeof paths[0]; f++) {
        int i = fc_jtok_path(text, toks, res, paths[f][0]);
        int64_t v = 0;
        if (i >= 0 && (fc_jtok_int64(text, toks, i, false, &v) != 0 || v < 0)) {
            snprintf(why, whysize, "%s is not a non-negative integer", paths[f][0]);
            return -1;
        }
        fc_jw_int(row, paths[f][1], v);
    }
    return 0;
}

static const s_report_t s_cost = {"cost_report", S_COST_PATH,
                                  "group_by%5B%5D=workspace_id&group_by%5B%5D=description",
                                  s_cost_row};
static const s_report_t s_usage = {"usage_report", S_USAGE_PATH,
                                   "group_by%5B%5D=workspace_id&group_by%5B%5D=model", s_usage_row};

/*  Checks one page and appends its rows to out, as one JSON array per page inside the
    array out holds (its "[" written, its "]" not yet). The whole page is checked before
    anything is appended: a page with one bad result is refused whole. Sets *more and
    next (the cursor) from has_more/next_page. */
static int s_page(s_worker_t *w, const s_report_t *rep, int n, fc_buf_t *out, bool *more,
                  char *next)
{
    size_t len;
    const char *text = cli_http_body(w->http, &len);
    char err[160];
    fc_jtok_limits_t lim = {w->max_tokens, 16, 0};
    if (fc_jtok_parse(text, len, &lim, w->toks, err, sizeof err) < 0) {
        s_fail(w, "%s page %d: not valid JSON (%s)", rep->name, n, len ? err : "empty answer");
        return -1;
    }
    const fc_jtok_t *toks = w->toks;
    int data = fc_jtok_member(text, toks, 0, "data");
    if (data < 0 || toks[data].type != FC_JTOK_ARRAY) {
        s_fail(w, "%s page %d: no data array", rep->name, n);
        return -1;
    }
    fc_buf_t rows;
    fc_buf_init(&rows);
    fc_jw_t jw;
    fc_jw_init(&jw, &rows);
    fc_jw_array(&jw, NULL);
    int rc = 0;
    int b = data + 1;
    for (uint32_t k = 0; k < toks[data].size && rc == 0; k++, b = (int)toks[b].next) {
        char start[40], day[FC_DATE_SIZE];
        bool null;
        int64_t us, days = -1;
        if (toks[b].type != FC_JTOK_OBJECT ||
            s_str(text, toks, b, "starting_at", start, sizeof start, &null) != 0 || null ||
            fc_time_parse(start, &us) != 0 || us % 86400000000 != 0) {
            s_fail(w, "%s page %d: bucket %u: starting_at is not a UTC midnight", rep->name, n, k);
            rc = -1;
            break;
        }
        days = us / 86400000000;
        if (days < w->from_days || days > w->to_days) {
            s_fail(w, "%s page %d: bucket %u: %.40s is outside the range asked for", rep->name, n,
                   k, start);
            rc = -1;
            break;
        }
        fc_date_format(days, day);
        int results = fc_jtok_member(text, toks, b, "results");
        if (results < 0 || toks[results].type != FC_JTOK_ARRAY) {
            s_fail(w, "%s page %d: bucket %s: no results array", rep->name, n, day);
            rc = -1;
            break;
        }
        int r = results + 1;
        for (uint32_t j = 0; j < toks[results].size; j++, r = (int)toks[r].next) {
            char ws[MAX_FIELD], why[160] = "";
            if (toks[r].type != FC_JTOK_OBJECT) {
                snprintf(why, sizeof why, "not an object");
            } else if (s_str(text, toks, r, "workspace_id", ws, sizeof ws, &null) != 0) {
                snprintf(why, sizeof why, "workspace_id is not a string or null");
            } else {
                fc_jw_object(&jw, NULL);
                fc_jw_str(&jw, "day", day);
                fc_jw_str(&jw, "workspace_id", ws); //  "" for the default workspace
                fc_jw_int(&jw, "row_no", j);
                if (rep->row(w, text, r, &jw, why, sizeof why) == 0) {
                    fc_jw_end(&jw);
                    continue;
                }
            }
            s_fail(w, "%s page %d: bucket %s: result %u: %s", rep->name, n, day, j, why);
            rc = -1;
            break;
        }
    }
    int hm = fc_jtok_member(text, toks, 0, "has_more");
    int np = fc_jtok_member(text, toks, 0, "next_page");
    *more = hm >= 0 && toks[hm].type == FC_JTOK_TRUE;
    next[0] = 0;
    if (rc == 0 && *more &&
        (np < 0 || toks[np].type != FC_JTOK_STRING ||
         fc_jtok_string(text, toks, np, next, MAX_CURSOR) <= 0)) {
        s_fail(w, "%s page %d: has_more without a usable next_page", rep->name, n);
        rc = -1;
    }
    fc_jw_end(&jw);
    if (rc == 0 && rows.failed) {
        s_fail(w, "%s page %d: out of memory", rep->name, n);
        rc = -1;
    }
    if (rc == 0) {
        if (out->len > 1)
            fc_buf_add(out, ",", 1);
        fc_buf_add(out, rows.data, rows.len);
    }
    fc_buf_free(&rows);
    return rc;
}

//  The API's error text of a refused request ("type: message"), escaped for a log line.
static void s_api_error(s_worker_t *w, char *out, size_t size)
{
    size_t len;
    const char *text = cli_http_body(w->http, &len);
    fc_jtok_limits_t lim = {w->max_tokens, 16, 0};
    char type[64] = "", msg[200] = "", err[80];
    out[0] = 0;
    if (!len || fc_jtok_parse(text, len, &lim, w->toks, err, sizeof err) < 0)
        return;
    int t = fc_jtok_path(text, w->toks, 0, "error.type");
    int m = fc_jtok_path(text, w->toks, 0, "error.message");
    if (t >= 0)
        fc_jtok_string(text, w->toks, t, type, sizeof type);
    if (m >= 0)
        fc_jtok_string(text, w->toks, m, msg, sizeof msg);
    char joined[280];
    snprintf(joined, sizeof joined, ": %s: %s", type, msg);
    fc_esc_text(joined, out, size);
}

/*  Every page of one report for the run's range into out (per page a JSON array of
    rows). Waits out rate limits and passing failures within the run's budget; any other
    failure ends it. Returns 0, or -1 with w->error set. */
static int s_fetch(s_worker_t *w, const s_report_t *rep, fc_buf_t *out)
{
    char key[MAX_KEY + 20], cursor[MAX_CURSOR + 1] = "";
    const char *admin = fc_config_str(w->cfg, "admin-key");
    snprintf(key, sizeof key, "x-api-key: %s", admin);
    const char *hdr[] = {key, "anthropic-version: 2023-06-01", "Accept: application/json",
                         "User-Agent: fleetcost", NULL};
    long backoff = (long)fc_config_int(w->cfg, "backoff-s");
    long max_wait = (long)fc_config_int(w->cfg, "max-wait-s");
    int64_t max_total_ms = fc_config_int(w->cfg, "max-total-wait-s") * 1000;
    int attempt = 0, rc = -1;
    for (int n = 1; n <= fc_config_int(w->cfg, "max-pages");) {
        if (fc_signal_stopping()) {
            s_fail(w, "stopped by a signal");
            break;
        }
        fc_buf_t url;
        fc_buf_init(&url);
        fc_buf_addf(&url, "%s%s?starting_at=%sT00%%3A00%%3A00Z&ending_at=",
                    fc_config_str(w->cfg, "admin-api-url"), rep->path, w->from);
        char end[FC_DATE_SIZE];
        fc_date_format(w->to_days + 1, end);
        fc_buf_addf(&url, "%sT00%%3A00%%3A00Z&bucket_width=1d&%s&limit=%" PRId64, end,
                    rep->group_by, fc_config_int(w->cfg, "page-limit"));
        if (*cursor) {
            fc_buf_add_str(&url, "&page=");
            s_urlenc(&url, cursor);
        }
        fc_buf_add(&url, "", 1);
        char what[64];
        snprintf(what, sizeof what, "%s page %d", rep->name, n);
        long status =
            url.failed ? -1
                       : cli_http_request(w->http, "GET", (const char *)url.data, hdr, NULL, what);
        fc_buf_free(&url);
        w->requests++;
        if (status == CLI_HTTP_TOO_BIG) {
            s_fail(w, "%s page %d: the answer is over --max-page-bytes (%" PRId64 ")", rep->name, n,
                   fc_config_int(w->cfg, "max-page-bytes"));
            break;
        }
        bool limited = status == 429;
        if (limited || status < 0 || status >= 500) {
            //  Retry the same page after a wait: the one the API names, else backoff with
            //  jitter (so several reconcilers do not retry in step).
            long fallback = backoff << (attempt < 10 ? attempt : 10);
            fallback += fallback > 1 ? rand() % (fallback / 2 + 1) : 0;
            long wait =
                limited ? cli_http_wait_s(w->http, fc_time_now_us() / 1000000, fallback, max_wait)
                        : (fallback > max_wait ? max_wait : fallback);
            attempt++;
            w->rate_limited += limited;
            if (w->waited_ms + wait * 1000 > max_total_ms) {
                s_fail(w,
                       "%s page %d: %s %ld; waits would exceed --max-total-wait-s (%" PRId64 " s)",
                       rep->name, n, limited ? "rate limited, HTTP" : "no usable answer, HTTP",
                       status, max_total_ms / 1000);
                break;
            }
            fc_warn(MODULE, "%s page %d: %s %ld: retrying in %ld s", rep->name, n,
                    limited ? "rate limited by the API, HTTP" : "no usable answer, HTTP", status,
                    wait);
            w->waited_ms += cli_http_pause(wait);
            continue;
        }
        attempt = 0;
        if (status != 200) {
            char detail[300];
            s_api_error(w, detail, sizeof detail);
            s_fail(w, "%s page %d: the API answered HTTP %ld%s", rep->name, n, status, detail);
            break;
        }
        bool more;
        char next[MAX_CURSOR + 1];
        if (s_page(w, rep, n, out, &more, next) != 0)
            break;
        w->pages++;
        if (!more) {
            rc = 0;
            break;
        }
        if (strcmp(next, cursor) == 0) {
            s_fail(w, "%s page %d: next_page repeats the cursor just used", rep->name, n);
            break;
        }
        snprintf(cursor, sizeof cursor, "%s", next);
        if (++n > fc_config_int(w->cfg, "max-pages"))
            s_fail(w, "%s: more than --max-pages pages", rep->name);
    }
    memset(key, 0, sizeof key);
    return rc;
}

//  Replaces the range's imported rows and writes the variances, in one transaction that
//  also marks the run ok. The fleetcost side is fc_reconcile_fleetcost_days (0014).
static int s_commit(s_worker_t *w, const char *run, const char *costs, const char *usage)
{
    char counters[4][24];
    snprintf(counters[0], sizeof counters[0], "%d", w->requests);
    snprintf(counters[1], sizeof counters[1], "%d", w->pages);
    snprintf(counters[2], sizeof counters[2], "%d", w->rate_limited);
    snprintf(counters[3], sizeof counters[3], "%" PRId64, w->waited_ms);
    const char *p[3] = {w->from, w->to, run};
    //  One reconciler at a time replaces a range: a second waits here, then overwrites.
    if (fc_pg_exec(w->pg, MODULE, "begin",
                   "BEGIN; SELECT pg_advisory_xact_lock(hashtext('fleetcost.reconcile'))") != 0)
        return -1;
    PGresult *r =
        fc_pg_query(w->pg, MODULE, "import",
                    "WITH gone_c AS (DELETE FROM provider_costs WHERE provider = '" PROVIDER "'"
                    "  AND day BETWEEN $1::date AND $2::date RETURNING 1),"
                    " gone_u AS (DELETE FROM provider_usage WHERE provider = '" PROVIDER "'"
                    "  AND day BETWEEN $1::date AND $2::date RETURNING 1)"
                    " SELECT (SELECT count(*) FROM gone_c), (SELECT count(*) FROM gone_u)",
                    2, p);
    bool ok = r != NULL;
    if (r)
        PQclear(r);
    const char *c[2] = {run, costs}, *u[2] = {run, usage};
    if (ok) {
        r = fc_pg_query(w->pg, MODULE, "import costs",
                        "INSERT INTO provider_costs (provider, day, workspace_id, row_no,"
                        " description, cost_type, model, token_type, service_tier, context_window,"
                        " inference_geo, amount_nusd, rounded, run_id)"
                        " SELECT '" PROVIDER "', x.day, x.workspace_id, x.row_no, x.description,"
                        " x.cost_type, x.model, x.token_type, x.service_tier, x.context_window,"
                        " x.inference_geo, x.amount_nusd, x.rounded, $1::bigint"
                        " FROM jsonb_array_elements($2::jsonb) AS pg(page),"
                        " jsonb_to_recordset(pg.page) AS x(day date, workspace_id text,"
                        " row_no int, description text, cost_type text, model text,"
                        " token_type text, service_tier text, context_window text,"
                        " inference_geo text, amount_nusd bigint, rounded boolean)",
                        2, c);
        ok = r != NULL;
        if (r)
            PQclear(r);
    }
    if (ok) {
        r = fc_pg_query(w->pg, MODULE, "import usage",
                        "INSERT INTO provider_usage (provider, day, workspace_id, row_no, model,"
                        " input_tokens, output_tokens, cache_read_tokens, cache_write_5m_tokens,"
                        " cache_write_1h_tokens, run_id)"
                        " SELECT '" PROVIDER "', x.day, x.workspace_id, x.row_no, x.model,"
                        " x.input_tokens, x.output_tokens, x.cache_read_tokens,"
                        " x.cache_write_5m_tokens, x.cache_write_1h_tokens, $1::bigint"
                        " FROM jsonb_array_elements($2::jsonb) AS pg(page),"
                        " jsonb_to_recordset(pg.page) AS x(day date, workspace_id text,"
                        " row_no int, model text, input_tokens bigint, output_tokens bigint,"
                        " cache_read_tokens bigint, cache_write_5m_tokens bigint,"
                        " cache_write_1h_tokens bigint)",
                        2, u);
        ok = r != NULL;
        if (r)
            PQclear(r);
    }
    if (ok) {
        /*  The variance grid: every mapped tenant on every day of the range (a day
            without bill or events is a 0 = 0 match, which is information too), plus the
            cost of unmapped workspaces per day under tenant ''. Tokens of the bill come
            from the usage report, the same mapping, per model: the report's dated ids
            (claude-sonnet-4-5-20250929) are compared as their family, as events are. */
        r = fc_pg_query(
            w->pg, MODULE, "variances",
            "WITH m AS (SELECT workspace_id, tenant_id FROM provider_workspace_map"
            "  WHERE provider = '" PROVIDER "'),"
            " bill AS (SELECT coalesce(m.tenant_id, '') AS tenant_id, c.day,"
            "  sum(c.amount_nusd)::bigint AS nusd, count(*) FILTER (WHERE c.rounded) AS rounded"
            "  FROM provider_costs c LEFT JOIN m USING (workspace_id)"
            "  WHERE c.provider = '" PROVIDER "' AND c.day BETWEEN $1::date AND $2::date"
            "  GROUP BY 1, 2),"
            " tokm AS (SELECT coalesce(m.tenant_id, '') AS tenant_id, u.day,"
            "  regexp_replace(coalesce(u.model, ''), '-[0-9]{8}$', '') AS model,"
            "  sum(u.input_tokens + u.output_tokens + u.cache_read_tokens"
            "      + u.cache_write_5m_tokens + u.cache_write_1h_tokens)::bigint AS tokens"
            "  FROM provider_usage u LEFT JOIN m USING (workspace_id)"
            "  WHERE u.provider = '" PROVIDER "' AND u.day BETWEEN $1::date AND $2::date"
            "  GROUP BY 1, 2, 3),"
            " tok AS (SELECT tenant_id, day, sum(tokens)::bigint AS tokens FROM tokm"
            "  GROUP BY 1, 2),"
            " fcm AS (SELECT * FROM fc_reconcile_fleetcost_days("
            "  ARRAY(SELECT DISTINCT tenant_id FROM m), $1::date, $2::date)),"
            " fc AS (SELECT tenant_id, day, sum(cost_nusd)::bigint AS cost_nusd,"
            "  sum(tokens)::bigint AS tokens FROM fcm GROUP BY 1, 2),"
            " notes AS (SELECT tenant_id, day, string_agg(model || ' '"
            "  || CASE WHEN d > 0 THEN '+' ELSE '' END || d, ', ' ORDER BY model) AS note"
            "  FROM (SELECT coalesce(a.tenant_id, f.tenant_id) AS tenant_id,"
            "   coalesce(a.day, f.day) AS day, coalesce(a.model, f.model) AS model,"
            "   coalesce(a.tokens, 0) - coalesce(f.tokens, 0) AS d"
            "   FROM tokm a FULL JOIN fcm f ON f.tenant_id = a.tenant_id AND f.day = a.day"
            "   AND f.model = a.model) x"
            "  WHERE d <> 0 AND EXISTS (SELECT 1 FROM tokm) GROUP BY 1, 2),"
            " grid AS (SELECT DISTINCT m.tenant_id, d::date AS day FROM m,"
            "  generate_series($1::date, $2::date, interval '1 day') d"
            "  UNION SELECT tenant_id, day FROM bill),"
            " v AS (SELECT g.tenant_id, g.day, coalesce(b.nusd, 0) AS bill,"
            "  coalesce(f.cost_nusd, 0) AS fleet, coalesce(b.rounded, 0) AS rounded,"
            "  t.tokens AS bill_tokens, coalesce(f.tokens, 0) AS fleet_tokens, n.note"
            "  FROM grid g LEFT JOIN bill b USING (tenant_id, day)"
            "  LEFT JOIN fc f USING (tenant_id, day) LEFT JOIN tok t USING (tenant_id, day)"
            "  LEFT JOIN notes n USING (tenant_id, day))"
            " INSERT INTO reconcile_variances (tenant_id, day, run_id, provider, bill_nusd,"
            "  fleetcost_nusd, diff_nusd, rounded_rows, bill_tokens, fleetcost_tokens,"
            "  token_diffs, status)"
            " SELECT tenant_id, day, $3::bigint, '" PROVIDER "', bill, fleet, bill - fleet,"
            "  rounded, bill_tokens, fleet_tokens, note,"
            "  CASE WHEN tenant_id = '' THEN 'unmapped'"
            "   WHEN abs(bill - fleet) <= rounded THEN 'match'"
            "   WHEN bill > fleet THEN 'bill_higher' ELSE 'fleetcost_higher' END"
            " FROM v RETURNING status",
            3, p);
        ok = r != NULL;
        if (r)
            PQclear(r);
    }
    if (ok) {
        const char *q[5] = {run, counters[0], counters[1], counters[2], counters[3]};
        r = fc_pg_query(w->pg, MODULE, "run ok",
                        "UPDATE reconcile_runs SET status = 'ok', finished_at = now(),"
                        " requests = $2::int, pages = $3::int, rate_limited = $4::int,"
                        " waited_ms = $5::bigint WHERE run_id = $1::bigint",
                        5, q);
        ok = r != NULL;
        if (r)
            PQclear(r);
    }
    //  History: a tenant-day's rows of older runs are kept for --keep-history-days (to
    //  see how a day's variance moved), then dropped. The newest row of each tenant-day
    //  (reconcile_latest) is never dropped, whatever its age.
    if (ok) {
        char keep[24];
        snprintf(keep, sizeof keep, "%" PRId64, fc_config_int(w->cfg, "keep-history-days"));
        r = fc_pg_query(w->pg, MODULE, "history",
                        "DELETE FROM reconcile_variances v USING reconcile_runs o"
                        " WHERE o.run_id = v.run_id"
                        " AND o.finished_at < now() - make_interval(days => $1::int)"
                        " AND EXISTS (SELECT 1 FROM reconcile_variances n WHERE n.tenant_id ="
                        " v.tenant_id AND n.day = v.day AND n.run_id > v.run_id)",
                        1, (const char *const[]){keep});
        ok = r != NULL;
        if (r)
            PQclear(r);
    }
    if (ok && fc_pg_exec(w->pg, MODULE, "commit", "COMMIT") == 0)
        return 0;
    fc_pg_rollback(w->pg);
    s_fail(w, "storing the import failed: %s", fc_pg_error(w->pg));
    return -1;
}

//  The settled window ending yesterday (or the day before, until 02:00 UTC today).
static void s_window(s_worker_t *w)
{
    int64_t now = fc_time_now_us() / 1000000;
    int64_t today = now / 86400;
    w->to_days = today - (now % 86400 < 2 * 3600 ? 2 : 1);
    w->from_days = w->to_days - (fc_config_int(w->cfg, "window-days") - 1);
}

//  Releases the run lock taken by s_run. A broken connection has released it already.
static void s_unlock(s_worker_t *w)
{
    if (PQstatus(w->pg) == CONNECTION_OK)
        (void)fc_pg_exec(w->pg, MODULE, "run unlock",
                         "SELECT pg_advisory_unlock(hashtext('fleetcost.reconcile.run'))");
}

//  One run over w's range: recorded in reconcile_runs. 0 when it succeeded.
static int s_run(s_worker_t *w)
{
    fc_date_format(w->from_days, w->from);
    fc_date_format(w->to_days, w->to);
    w->requests = w->pages = w->rate_limited = 0;
    w->waited_ms = 0;
    w->error[0] = 0;
    const char *p[2] = {w->from, w->to};
    //  A run holds this session lock from its start to its end, so a second reconciler
    //  waits for the first, and a row still 'running' while we hold the lock belongs
    //  to a run whose process was killed or lost its connection (a session lock goes
    //  with its session). Those rows are closed as failed instead of staying 'running'.
    if (fc_pg_exec(w->pg, MODULE, "run lock",
                   "SELECT pg_advisory_lock(hashtext('fleetcost.reconcile.run'))") != 0)
        return -1;
    PGresult *r = fc_pg_query(w->pg, MODULE, "abandoned runs",
                              "UPDATE reconcile_runs SET status = 'failed', finished_at = now(),"
                              " error = 'abandoned: the run ended without finishing (its process"
                              " was stopped or lost its database connection)'"
                              " WHERE status = 'running' RETURNING run_id",
                              0, NULL);
    if (r && PQntuples(r) > 0)
        fc_warn(MODULE, "%d earlier run(s) never finished (first: run %s); recorded as failed",
                PQntuples(r), PQgetvalue(r, 0, 0));
    if (r)
        PQclear(r);
    r = fc_pg_query(w->pg, MODULE, "run start",
                    "INSERT INTO reconcile_runs (provider, from_day, to_day)"
                    " VALUES ('" PROVIDER "', $1::date, $2::date) RETURNING run_id",
                    2, p);
    if (!r) {
        s_unlock(w);
        return -1;
    }
    char run[24];
    snprintf(run, sizeof run, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    fc_info(MODULE, "run %s: %s..%s (UTC days)", run, w->from, w->to);
    fc_buf_t costs, usage;
    fc_buf_init(&costs);
    fc_buf_init(&usage);
    //  Each a JSON array of pages, a page an array of rows; s_page appends after the "[".
    fc_buf_add(&costs, "[", 1);
    fc_buf_add(&usage, "[", 1);
    int rc = s_fetch(w, &s_cost, &costs);
    if (rc == 0)
        rc = s_fetch(w, &s_usage, &usage);
    fc_buf_add(&costs, "]", 2);
    fc_buf_add(&usage, "]", 2);
    if (rc == 0 && (costs.failed || usage.failed)) {
        s_fail(w, "out of memory");
        rc = -1;
    }
    if (rc == 0)
        rc = s_commit(w, run, (const char *)costs.data, (const char *)usage.data);
    fc_buf_free(&costs);
    fc_buf_free(&usage);
    if (rc != 0) {
        char c[4][24];
        snprintf(c[0], sizeof c[0], "%d", w->requests);
        snprintf(c[1], sizeof c[1], "%d", w->pages);
        snprintf(c[2], sizeof c[2], "%d", w->rate_limited);
        snprintf(c[3], sizeof c[3], "%" PRId64, w->waited_ms);
        const char *q[6] = {run, w->error, c[0], c[1], c[2], c[3]};
        r = fc_pg_query(w->pg, MODULE, "run failed",
                        "UPDATE reconcile_runs SET status = 'failed', finished_at = now(),"
                        " error = $2, requests = $3::int, pages = $4::int, rate_limited = $5::int,"
                        " waited_ms = $6::bigint WHERE run_id = $1::bigint",
                        6, q);
        if (r)
            PQclear(r);
        char esc[MAX_ERROR * 4];
        fc_error(MODULE, "run %s failed: %s; nothing imported for %s..%s (retried next run)", run,
                 fc_esc_text(w->error, esc, sizeof esc), w->from, w->to);
        s_unlock(w);
        return -1;
    }
    r = fc_pg_query(w->pg, MODULE, "run summary",
                    "SELECT count(*), count(*) FILTER (WHERE status IN ('bill_higher',"
                    " 'fleetcost_higher')), count(*) FILTER (WHERE status = 'unmapped')"
                    " FROM reconcile_variances WHERE run_id = $1::bigint",
                    1, (const char *const[]){run});
    if (r) {
        fc_info(MODULE,
                "run %s ok: %d requests, %d pages, %d rate-limited (%" PRId64
                " ms waited); %s tenant-days, %s differ, %s unmapped",
                run, w->requests, w->pages, w->rate_limited, w->waited_ms, PQgetvalue(r, 0, 0),
                PQgetvalue(r, 0, 1), PQgetvalue(r, 0, 2));
        PQclear(r);
    }
    s_unlock(w);
    return 0;
}

//  map / unmap: the change and its audit row in one statement.
static int s_map(fc_config_t *cfg, PGconn *pg, bool map)
{
    const char *ws = fc_config_str(cfg, "workspace"), *tenant = fc_config_str(cfg, "tenant");
    size_t n = strlen(ws);
    bool ok = n > 0 && n <= 128 &&
              strspn(ws, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") == n;
    if (!ok || (map && !*tenant)) {
        fprintf(stderr, "reconcile %s: --workspace ID (letters, digits, _ and -)%s is required\n",
                map ? "map" : "unmap", map ? " and --tenant T" : "");
        return 2;
    }
    const char *p[3] = {ws, map ? tenant : NULL, cmd_actor(cfg)};
    PGresult *r = fc_pg_query(
        pg, MODULE, map ? "map" : "unmap",
        map ? "WITH old AS (SELECT tenant_id FROM provider_workspace_map"
              "  WHERE provider = '" PROVIDER "' AND workspace_id = $1),"
              " c AS (INSERT INTO provider_workspace_map (provider, workspace_id, tenant_id)"
              "  SELECT '" PROVIDER "', $1, $2 WHERE EXISTS (SELECT 1 FROM tenants"
              "  WHERE tenant_id = $2)"
              "  ON CONFLICT (provider, workspace_id) DO UPDATE SET tenant_id = $2, set_at = now()"
              "  RETURNING 1)"
              " INSERT INTO audit_log (actor, action, object, before, after)"
              " SELECT $3, 'reconcile.map', $1,"
              "  (SELECT jsonb_build_object('tenant', tenant_id) FROM old),"
              "  jsonb_build_object('tenant', $2::text) FROM c RETURNING 1"
            : "WITH c AS (DELETE FROM provider_workspace_map WHERE provider = '" PROVIDER "'"
              "  AND workspace_id = $1 AND $2::text IS NULL RETURNING tenant_id)"
              " INSERT INTO audit_log (actor, action, object, before)"
              " SELECT $3, 'reconcile.unmap', $1, jsonb_build_object('tenant', tenant_id) FROM c"
              " RETURNING 1",
        3, p);
    if (!r)
        return 1;
    int done = PQntuples(r);
    PQclear(r);
    char t[2 * FC_MAX_TENANT];
    if (map && !done) {
        fprintf(stderr, "reconcile map: no tenant %s (fleetcost tenant add first)\n",
                fc_esc_text(tenant, t, sizeof t));
        return 1;
    }
    if (map)
        printf("reconcile: workspace %s bills for tenant %s\n", ws,
               fc_esc_text(tenant, t, sizeof t));
    else
        printf("reconcile: workspace %s %s\n", ws, done ? "unmapped" : "was not mapped");
    return 0;
}

static int s_list(PGconn *pg)
{
    PGresult *r = fc_pg_query(pg, MODULE, "list",
                              "SELECT workspace_id, tenant_id, to_char(set_at AT TIME ZONE 'UTC',"
                              " 'YYYY-MM-DD HH24:MI') FROM provider_workspace_map"
                              " WHERE provider = '" PROVIDER "' ORDER BY 1",
                              0, NULL);
    if (!r)
        return 1;
    printf("%-40s %-24s %s\n", "WORKSPACE", "TENANT", "SET (UTC)");
    for (int i = 0; i < PQntuples(r); i++)
        printf("%-40s %-24s %s\n", PQgetvalue(r, i, 0), PQgetvalue(r, i, 1), PQgetvalue(r, i, 2));
    PQclear(r);
    return 0;
}

//  The last 20 runs: range, outcome, what the provider's limits cost, and why a run failed.
static int s_runs(PGconn *pg)
{
    PGresult *r = fc_pg_query(
        pg, MODULE, "runs",
        "SELECT run_id, from_day::text || '..' || to_day::text, status,"
        " to_char(started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS'), requests, pages,"
        " rate_limited, waited_ms, coalesce(error, '') FROM reconcile_runs"
        " ORDER BY run_id DESC LIMIT 20",
        0, NULL);
    if (!r)
        return 1;
    printf("%-6s %-22s %-7s %-19s %8s %5s %7s %9s  %s\n", "RUN", "UTC DAYS", "STATUS",
           "STARTED (UTC)", "REQUESTS", "PAGES", "LIMITED", "WAITED_MS", "ERROR");
    for (int i = 0; i < PQntuples(r); i++) {
        char err[MAX_ERROR * 4];
        printf("%-6s %-22s %-7s %-19s %8s %5s %7s %9s  %s\n", PQgetvalue(r, i, 0),
               PQgetvalue(r, i, 1), PQgetvalue(r, i, 2), PQgetvalue(r, i, 3), PQgetvalue(r, i, 4),
               PQgetvalue(r, i, 5), PQgetvalue(r, i, 6), PQgetvalue(r, i, 7),
               fc_esc_text(PQgetvalue(r, i, 8), err, sizeof err));
    }
    PQclear(r);
    return 0;
}

//  The variance table of the newest run per (tenant, day) in the range: the reporter's
//  rendering, which GET /api/v1/reconcile serves too.
static int s_show(s_worker_t *w)
{
    const char *tenant = fc_config_str(w->cfg, "tenant");
    fc_buf_t b;
    fc_buf_init(&b);
    int n = reporter_reconcile_render(
        w->pg, MODULE, w->from, w->to, *tenant ? tenant : "*",
        fc_config_bool(w->cfg, "csv") ? REPORTER_RECONCILE_CSV : REPORTER_RECONCILE_TEXT, &b);
    int rc = n < 0 || b.failed ? 1 : 0;
    if (rc == 0)
        fwrite(b.data, 1, b.len, stdout);
    fc_buf_free(&b);
    return rc;
}

//  --from/--to into w (both or neither); 0, or 2 after saying why.
static int s_range(s_worker_t *w, bool *given)
{
    const char *from = fc_config_str(w->cfg, "from"), *to = fc_config_str(w->cfg, "to");
    *given = *from || *to;
    if (!*given) {
        s_window(w);
        return 0;
    }
    if (fc_date_parse(from, &w->from_days) != 0 || fc_date_parse(to, &w->to_days) != 0 ||
        w->to_days < w->from_days || w->to_days - w->from_days > 366) {
        fprintf(stderr, "reconcile: --from and --to are UTC days YYYY-MM-DD, from <= to, at most "
                        "a year apart\n");
        return 2;
    }
    return 0;
}

int cmd_reconcile(int argc, char **argv)
{
    const fc_option_t *tables[] = {fc_config_common, s_options, NULL};
    int rc;
    fc_config_t *cfg = fc_config_load("fleetcost reconcile",
                                      "compare Anthropic's bill (Admin API cost report) with "
                                      "fleetcost's cost per tenant and UTC day. Subcommands: "
                                      "run (default), map, unmap, list, runs, show",
                                      tables, argc, argv, 0, 1, &rc);
    if (!cfg)
        return rc;
    const char *what = fc_config_argc(cfg) > 0 ? fc_config_argv(cfg)[0] : "run";
    bool is_run = strcmp(what, "run") == 0;
    if (!is_run && strcmp(what, "map") && strcmp(what, "unmap") && strcmp(what, "list") &&
        strcmp(what, "runs") && strcmp(what, "show")) {
        fprintf(
            stderr,
            "fleetcost reconcile: run (default), map, unmap, list, runs or show (see --help)\n");
        fc_config_destroy(&cfg);
        return 2;
    }
    s_worker_t *w = calloc(1, sizeof *w);
    if (!w) {
        fc_config_destroy(&cfg);
        return 1;
    }
    w->cfg = cfg;
    bool given = false;
    rc = strcmp(what, "show") == 0 || is_run ? s_range(w, &given) : 0;
    const char *key = fc_config_str(cfg, "admin-key");
    size_t keylen = strlen(key);
    if (rc == 0 && is_run && !keylen) {
        fprintf(stderr, "reconcile: an Admin API key is required (FLEETCOST_ADMIN_KEY, or "
                        "--admin-key)\n");
        rc = 2;
    }
    //  It goes into a header line: printable ASCII without spaces only, so that it can
    //  neither be cut short nor add a header of its own.
    for (size_t i = 0; rc == 0 && is_run && i < keylen; i++)
        if (key[i] <= 0x20 || key[i] >= 0x7f || keylen > MAX_KEY) {
            fprintf(stderr,
                    "reconcile: the Admin API key must be 1 to %d printable characters "
                    "without spaces\n",
                    MAX_KEY);
            rc = 2;
        }
    if (rc == 0 && is_run) {
        fc_config_log(cfg, MODULE);
        w->max_tokens = (int)(fc_config_int(cfg, "max-page-bytes") / BYTES_PER_TOKEN);
        w->toks = malloc(sizeof *w->toks * (size_t)w->max_tokens);
        w->http = cli_http_new(MODULE, (size_t)fc_config_int(cfg, "max-page-bytes"),
                               (long)fc_config_int(cfg, "timeout-ms"));
        rc = w->toks && w->http ? 0 : 1;
    }
    if (rc == 0) {
        w->pg = fc_pg_connect(fc_config_str(cfg, "pg-url"), MODULE);
        rc = w->pg ? 0 : 1;
    }
    if (rc == 0 && !is_run) {
        if (strcmp(what, "map") == 0 || strcmp(what, "unmap") == 0)
            rc = s_map(cfg, w->pg, what[0] == 'm');
        else if (strcmp(what, "list") == 0)
            rc = s_list(w->pg);
        else if (strcmp(what, "runs") == 0)
            rc = s_runs(w->pg);
        else {
            fc_date_format(w->from_days, w->from);
            fc_date_format(w->to_days, w->to);
            rc = s_show(w);
        }
    }
    bool once = fc_config_bool(cfg, "once") || given;
    srand((unsigned)time(NULL) ^ (unsigned)getpid());
    while (rc == 0 && is_run && !fc_signal_stopping()) {
        int failed = s_run(w);
        if (once) {
            rc = failed ? 1 : 0;
            break;
        }
        cli_http_pause((long)fc_config_int(cfg, "interval-s"));
        s_window(w);
    }
    if (w->pg)
        PQfinish(w->pg);
    cli_http_destroy(&w->http);
    free(w->toks);
    free(w);
    fc_config_destroy(&cfg);
    return rc;
}
