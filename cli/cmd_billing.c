/*  fleetcost billing: a month's bill, one line per tenant and cost kind plus one per
    tenant's monthly fee, with list cost (price catalog) and billed cost (the tenant's rate
    card in force at each event), in nano-USD and USD, over each tenant's local month. The
    spend comes from the one home of period spend (migrations 0017 and 0018: final daily
    rollups where they exist, events otherwise), so the lines add up, to the nano-dollar,
    to the rollups and events they come from, and the CSV, JSON and FOCUS outputs to each
    other (docs/FOCUS.md). */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "fc_config.h"
#include "fc_json_write.h"
#include "fc_log.h"
#include "fc_money.h"
#include "fc_pg.h"
#include "fc_time.h"
#include "reporter_cli.h"
#include "reporter_report.h"

#define MODULE "billing"

static const fc_option_t s_options[] = {
    {"month", FC_OPT_STR, "", 0, 0, false, "the month to bill, YYYY-MM (required)"},
    {"format", FC_OPT_STR, "csv", 0, 0, false,
     "csv | json | focus (FinOps FOCUS 1.2 cost-and-usage CSV, docs/FOCUS.md: BilledCost ="
     " EffectiveCost = ContractedCost = cost under the tenant's rate card, ListCost = list);"
     " csv and json show both: cost_nusd list, billed_nusd under the rate card, and the"
     " card's monthly fee as its own monthly_fee line"},
    {"focus-account", FC_OPT_STR, "fleetcost", 0, 0, false,
     "FOCUS BillingAccountId: this deployment's billing account"},
    {"focus-issuer", FC_OPT_STR, "fleetcost", 0, 0, false,
     "FOCUS InvoiceIssuerName: who invoices the tenants"},
    {"output", FC_OPT_STR, "", 0, 0, false, "write to this file (-o FILE); default stdout"},
    FC_OPT_END};

//  The window of a month's queries: per tenant its local month (lo, hi), zone and name.
#define S_W                                                                                        \
    "WITH w AS (SELECT v.tenant_id, v.lo, v.hi, v.tz,"                                             \
    "                  coalesce(nullif((SELECT t.name FROM tenants t"                              \
    "                                    WHERE t.tenant_id = v.tenant_id), ''), v.tenant_id)"      \
    "                    AS name"                                                                  \
    "             FROM fc_spend_windows($1::text[], $2::date[], $3::date[]) v)"

//  The cost kind of a monthly-fee line (CSV/JSON) and row (FOCUS x_CostKind).
#define S_FEE_KIND "monthly_fee"

//  Runs sql with the window's three arrays as $1..$3; NULL (logged) on an error.
static PGresult *s_query(PGconn *conn, const char *what, const char *sql,
                         const reporter_window_t *w)
{
    const char *params[] = {w->arr_tenants, w->arr_from, w->arr_to};
    return fc_pg_query(conn, MODULE, what, sql, 3, params);
}

//  The bill's lines over window w: per tenant its cost kinds in order, then its
//  monthly fee (fc_spend_fees), whose list and billed cost are both the fee (a fee has no
//  catalog price; FOCUS ListCost says the same). Columns: tenant, kind, list, billed,
//  input, output, cache_read, cache_write_5m, cache_write_1h, events, unpriced_events.
static PGresult *s_bill(PGconn *conn, const reporter_window_t *w)
{
    // clang-format off
    static const char *sql =
        "SELECT * FROM ("
        " SELECT k.tenant_id, k.cost_kind, k.cost_nusd, k.billed_nusd, k.input_tokens,"
        "        k.output_tokens, k.cache_read_tokens, k.cache_write_5m_tokens,"
        "        k.cache_write_1h_tokens, k.events, k.unpriced_events, false AS fee"
        "   FROM fc_period_spend_kinds($1::text[], $2::date[], $3::date[]) k"
        " UNION ALL"
        " SELECT f.tenant_id, '" S_FEE_KIND "', f.monthly_fee_nusd, f.monthly_fee_nusd,"
        "        0, 0, 0, 0, 0, 0, 0, true"
        "   FROM fc_spend_fees($1::text[], $2::date[], $3::date[]) f) b"
        " ORDER BY b.tenant_id, b.fee, b.cost_kind";
    // clang-format on
    return s_query(conn, "billing", sql, w);
}

//  A list and a billed figure.
typedef struct {
    int64_t list, billed;
} s_pair_t;

//  Adds a to *sum; -1 (logged) on overflow.
static int s_pair_add(s_pair_t *sum, s_pair_t a)
{
    if (fc_money_add(sum->list, a.list, &sum->list) != 0 ||
        fc_money_add(sum->billed, a.billed, &sum->billed) != 0) {
        fc_error(MODULE, "billing: a total overflows int64");
        return -1;
    }
    return 0;
}

//  Writes cost_nusd, cost_usd, billed_nusd, billed_usd (list, then billed) into w.
static void s_json_pair(fc_jw_t *w, s_pair_t p)
{
    char usd[32];
    fc_jw_int(w, "cost_nusd", p.list);
    fc_jw_str(w, "cost_usd", reporter_usd(p.list, 9, usd));
    fc_jw_int(w, "billed_nusd", p.billed);
    fc_jw_str(w, "billed_usd", reporter_usd(p.billed, 9, usd));
}

//  Closes one tenant's "kinds" array and object with the tenant's totals.
static void s_tenant_end(fc_jw_t *w, s_pair_t total)
{
    fc_jw_end(w);
    s_json_pair(w, total);
    fc_jw_end(w);
}

//  Renders the bill's lines (s_bill's rows) as CSV or JSON. Returns 0 or -1.
static int s_render(const PGresult *res, const char *month, bool json, fc_buf_t *out)
{
    char usd[32], busd[32];
    s_pair_t total = {0, 0}, tenant_total = {0, 0};
    const char *prev = NULL;
    fc_jw_t w;
    fc_jw_init(&w, out);
    if (json) {
        fc_jw_object(&w, NULL);
        fc_jw_str(&w, "month", month);
        fc_jw_str(&w, "currency", "USD");
        fc_jw_array(&w, "tenants");
    } else
        fc_buf_add_str(out, "month,tenant_id,cost_kind,cost_nusd,cost_usd,events,unpriced_events,"
                            "input_tokens,output_tokens,cache_read_tokens,cache_write_5m_tokens,"
                            "cache_write_1h_tokens,billed_nusd,billed_usd\r\n");
    int n = PQntuples(res);
    for (int i = 0; i < n; i++) {
        const char *tenant = PQgetvalue(res, i, 0), *kind = PQgetvalue(res, i, 1);
        s_pair_t cost = {fc_pg_int(res, i, 2), fc_pg_int(res, i, 3)};
        if (s_pair_add(&total, cost) != 0)
            return -1;
        if (!json) {
            fc_buf_addf(out, "%s,", month);
            fc_esc_csv(out, tenant);
            fc_buf_add(out, ",", 1);
            fc_esc_csv(out, kind);
            fc_buf_addf(out, ",%lld,%s,%s,%s,%s,%s,%s,%s,%s,%lld,%s\r\n", (long long)cost.list,
                        reporter_usd(cost.list, 9, usd), PQgetvalue(res, i, 9),
                        PQgetvalue(res, i, 10), PQgetvalue(res, i, 4), PQgetvalue(res, i, 5),
                        PQgetvalue(res, i, 6), PQgetvalue(res, i, 7), PQgetvalue(res, i, 8),
                        (long long)cost.billed, reporter_usd(cost.billed, 9, busd));
            continue;
        }
        if (!prev || strcmp(prev, tenant) != 0) {
            if (prev)
                s_tenant_end(&w, tenant_total);
            fc_jw_object(&w, NULL);
            fc_jw_str(&w, "tenant", tenant);
            fc_jw_array(&w, "kinds");
            tenant_total = (s_pair_t){0, 0};
        }
        s_pair_add(&tenant_total, cost); //  cannot overflow: total did not
        fc_jw_object(&w, NULL);
        fc_jw_str(&w, "kind", kind);
        s_json_pair(&w, cost);
        //  bigint counts as Postgres printed them: JSON numbers already.
        fc_jw_raw(&w, "events", PQgetvalue(res, i, 9));
        fc_jw_raw(&w, "unpriced_events", PQgetvalue(res, i, 10));
        fc_jw_end(&w);
        prev = tenant;
    }
    if (json) {
        if (prev)
            s_tenant_end(&w, tenant_total);
        fc_jw_end(&w); //  tenants
        fc_jw_int(&w, "total_nusd", total.list);
        fc_jw_str(&w, "total_usd", reporter_usd(total.list, 9, usd));
        fc_jw_int(&w, "billed_total_nusd", total.billed);
        fc_jw_str(&w, "billed_total_usd", reporter_usd(total.billed, 9, usd));
        fc_jw_end(&w);
        fc_buf_add_str(out, "\n");
    }
    return 0;
}

// ---------------------------------------------------------------------------------------
// FOCUS 1.2 export (docs/FOCUS.md): one row per tenant, tenant-local day, model and cost
// kind, read from the events of the same window the bill covers, and checked against the
// bill's own per-tenant totals before anything is written.

//  Columns of the FOCUS export: the FOCUS 1.2 columns first, custom x_ columns after.
#define S_FOCUS_HEADER                                                                             \
    "BilledCost,BillingAccountId,BillingAccountName,BillingCurrency,BillingPeriodEnd,"             \
    "BillingPeriodStart,ChargeCategory,ChargeClass,ChargeDescription,ChargeFrequency,"             \
    "ChargePeriodEnd,ChargePeriodStart,ConsumedQuantity,ConsumedUnit,ContractedCost,"              \
    "EffectiveCost,InvoiceIssuerName,ListCost,PricingQuantity,PricingUnit,ProviderName,"           \
    "PublisherName,ServiceCategory,ServiceName,ServiceSubcategory,SkuId,SubAccountId,"             \
    "SubAccountName,Tags,x_Model,x_CostKind,x_InputTokens,x_OutputTokens,x_CacheReadTokens,"       \
    "x_CacheWrite5mTokens,x_CacheWrite1hTokens,x_EventCount,x_UnpricedEvents,"                     \
    "x_ListCostNanoUSD\r\n"

//  Tenant-local days and months as UTC instants in FOCUS's date/time format.
#define S_UTC(d)                                                                                   \
    "to_char(fc_local_start(" d ", w.tz) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

//  Appends v (>= 0, a count at scale `scale`) as an exact decimal: 5310 at scale 6 is
//  "0.005310". Used for PricingQuantity (tokens per million).
static void s_add_scaled(fc_buf_t *out, int64_t v, int64_t unit, int digits)
{
    fc_buf_addf(out, "%lld.%0*lld", (long long)(v / unit), digits, (long long)(v % unit));
}

static void s_cell(fc_buf_t *out, const char *s)
{
    fc_esc_csv(out, s);
    fc_buf_add(out, ",", 1);
}

//  One cell of printf text (any length), escaped, and a comma.
__attribute__((format(printf, 2, 3))) static void s_cellf(fc_buf_t *out, const char *fmt, ...)
{
    fc_buf_t t;
    fc_buf_init(&t);
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    uint8_t *p = n >= 0 ? fc_buf_reserve(&t, (size_t)n + 1) : NULL;
    if (p) {
        va_start(ap, fmt);
        vsnprintf((char *)p, (size_t)n + 1, fmt, ap);
        va_end(ap);
        s_cell(out, (const char *)p);
    } else
        out->failed = 1; //  OOM: reporter_cli_write refuses a failed buffer
    fc_buf_free(&t);
}

//  The FOCUS usage rows over window w: per tenant, local day, model and cost kind, from
//  every event of each tenant's month (fc_window_events: closed days too).
static PGresult *s_focus_rows(PGconn *conn, const reporter_window_t *w)
{
    // clang-format off
    static const char *sql =
        S_W ","
        " b AS (SELECT min(fc_local_start(lo, tz)) AS t0, max(fc_local_start(hi + 1, tz)) AS t1"
        "         FROM w)"
        " SELECT e.tenant_id, w.name, coalesce(e.model_family, ''), e.cost_kind,"
        "        " S_UTC("e.day") ", " S_UTC("e.day + 1") ","
        "        " S_UTC("w.lo") ", " S_UTC("w.hi + 1") ","
        "        sum(e.cost_nusd), sum(e.input_tokens), sum(e.output_tokens),"
        "        sum(e.cache_read_tokens), sum(e.cache_write_5m_tokens),"
        "        sum(e.cache_write_1h_tokens), count(*), count(*) FILTER (WHERE e.unpriced),"
        "        sum(e.billed_nusd)"
        "   FROM b CROSS JOIN LATERAL"
        "        fc_window_events($1::text[], $2::date[], $3::date[], b.t0, b.t1) e"
        "   JOIN w ON w.tenant_id = e.tenant_id"
        "  GROUP BY e.tenant_id, w.name, w.tz, w.lo, w.hi, e.day, coalesce(e.model_family, ''),"
        "           e.cost_kind"
        "  ORDER BY e.tenant_id, e.day, 3, e.cost_kind";
    // clang-format on
    return s_query(conn, "focus", sql, w);
}

/*  The flat monthly fees of the tenants' rate cards (docs/RECONCILE.md §4.6): one row per
    tenant whose latest rate-card version in force at some instant of its local month has
    a fee, for that whole fee (no proration). A fee is bought per period, not metered:
    ChargeCategory Purchase, ChargeFrequency Recurring, the charge period the local month,
    PricingQuantity 1 Month, no consumed quantity (FOCUS 1.2: null outside Usage). The
    fees are fc_spend_fees's, as on the CSV/JSON bill's monthly_fee lines. Returns 0 or
    -1. */
static int s_focus_fees(PGconn *conn, const reporter_window_t *w, const char *account,
                        const char *issuer, fc_buf_t *out)
{
    // clang-format off
    static const char *sql =
        S_W
        " SELECT w.tenant_id, w.name, f.version, f.monthly_fee_nusd,"
        "        " S_UTC("w.lo") ", " S_UTC("w.hi + 1")
        "   FROM fc_spend_fees($1::text[], $2::date[], $3::date[]) f"
        "   JOIN w ON w.tenant_id = f.tenant_id ORDER BY w.tenant_id";
    // clang-format on
    PGresult *res = s_query(conn, "focus fees", sql, w);
    if (!res)
        return -1;
    for (int i = 0; i < PQntuples(res); i++) {
        int64_t fee = fc_pg_int(res, i, 3);
        char f9[FC_MONEY_BUFSIZE];
        if (fc_money_format(fee, f9, sizeof f9, 9) != 0) {
            PQclear(res);
            return -1;
        }
        fc_buf_addf(out, "%s,", f9);
        s_cell(out, account);
        fc_buf_add_str(out, ",USD,");
        fc_buf_addf(out, "%s,%s,Purchase,,", PQgetvalue(res, i, 5), PQgetvalue(res, i, 4));
        s_cellf(out, "monthly fee, rate card version %s", PQgetvalue(res, i, 2));
        fc_buf_addf(out, "Recurring,%s,%s,,,%s,%s,", PQgetvalue(res, i, 5), PQgetvalue(res, i, 4),
                    f9, f9);
        s_cell(out, issuer);
        fc_buf_addf(out,
                    "%s,1,Months,Anthropic,Anthropic,AI and Machine Learning,Claude API,"
                    "Generative AI,fleetcost/monthly-fee,",
                    f9);
        s_cell(out, PQgetvalue(res, i, 0));
        s_cell(out, PQgetvalue(res, i, 1));
        fc_buf_addf(out, ",," S_FEE_KIND ",0,0,0,0,0,0,0,%lld\r\n", (long long)fee);
    }
    PQclear(res);
    return 0;
}

//  The FOCUS rows of window w into out. Before writing, the rows' list and billed costs
//  per tenant must equal the bill's (its usage lines: the hybrid rollup/event source of
//  the CSV and JSON bill; the fees are the same rows in both): if raw events were dropped
//  (retention) or a rollup disagrees, the export refuses rather than write a file that
//  does not add up. Returns 0 or -1.
static int s_focus(PGconn *conn, const reporter_window_t *w, const char *account,
                   const char *issuer, fc_buf_t *out)
{
    PGresult *bill = NULL, *res = NULL;
    int rc = -1;
    if (!(bill = s_bill(conn, w)) || !(res = s_focus_rows(conn, w)))
        goto done;
    //  Both results are ordered by tenant id (the same collation): walk them together,
    //  one tenant at a time, comparing the tenants and their sums.
    int n = PQntuples(res), nb = PQntuples(bill);
    for (int b = 0, i = 0; b < nb || i < n;) {
        const char *tenant = b < nb ? PQgetvalue(bill, b, 0) : PQgetvalue(res, i, 0);
        s_pair_t want = {0, 0}, got = {0, 0};
        for (; b < nb && strcmp(PQgetvalue(bill, b, 0), tenant) == 0; b++)
            if (strcmp(PQgetvalue(bill, b, 11), "f") == 0 &&
                s_pair_add(&want, (s_pair_t){fc_pg_int(bill, b, 2), fc_pg_int(bill, b, 3)}) != 0)
                goto done;
        for (; i < n && strcmp(PQgetvalue(res, i, 0), tenant) == 0; i++)
            if (s_pair_add(&got, (s_pair_t){fc_pg_int(res, i, 8), fc_pg_int(res, i, 16)}) != 0)
                goto done;
        if (got.list != want.list || got.billed != want.billed) {
            fc_error(MODULE,
                     "focus: tenant %s: events give %lld nano-USD list, %lld billed, the bill "
                     "%lld list, %lld billed; refusing an export that does not add up (events "
                     "dropped by retention?)",
                     tenant, (long long)got.list, (long long)got.billed, (long long)want.list,
                     (long long)want.billed);
            goto done;
        }
    }
    fc_buf_add_str(out, S_FOCUS_HEADER);
    for (int i = 0; i < n; i++) {
        const char *tenant = PQgetvalue(res, i, 0), *model = PQgetvalue(res, i, 2),
                   *kind = PQgetvalue(res, i, 3);
        //  Billed: the sum of the events' billed costs, each rounded once by its tenant's
        //  rate card at ingest (docs/RECONCILE.md §4.3); = list without a rate card.
        int64_t list = fc_pg_int(res, i, 8), billed = fc_pg_int(res, i, 16), tokens = 0;
        for (int c = 9; c <= 13; c++)
            tokens += fc_pg_int(res, i, c); //  bigint sums of token counts: far from overflow
        char b9[FC_MONEY_BUFSIZE], l9[FC_MONEY_BUFSIZE];
        if (fc_money_format(billed, b9, sizeof b9, 9) != 0 ||
            fc_money_format(list, l9, sizeof l9, 9) != 0)
            goto done;
        fc_buf_addf(out, "%s,", b9);
        s_cell(out, account);
        fc_buf_add_str(out, ",USD,"); //  BillingAccountName: null (not configured)
        fc_buf_addf(out, "%s,%s,Usage,,", PQgetvalue(res, i, 7), PQgetvalue(res, i, 6));
        s_cellf(out, "%s %s", model, kind);
        fc_buf_addf(out, "Usage-Based,%s,%s,%lld,Tokens,%s,%s,", PQgetvalue(res, i, 5),
                    PQgetvalue(res, i, 4), (long long)tokens, b9, b9);
        s_cell(out, issuer);
        fc_buf_addf(out, "%s,", l9);
        s_add_scaled(out, tokens, 1000000, 6);
        fc_buf_add_str(out, ",1000000 Tokens,Anthropic,Anthropic,AI and Machine Learning,"
                            "Claude API,Generative AI,");
        s_cellf(out, "anthropic/%s/%s", model, kind);
        s_cell(out, tenant);
        s_cell(out, PQgetvalue(res, i, 1));
        fc_buf_add_str(out, ","); //  Tags: null (rows are not split by attributes)
        s_cell(out, model);
        s_cell(out, kind);
        fc_buf_addf(out, "%s,%s,%s,%s,%s,%s,%s,%lld\r\n", PQgetvalue(res, i, 9),
                    PQgetvalue(res, i, 10), PQgetvalue(res, i, 11), PQgetvalue(res, i, 12),
                    PQgetvalue(res, i, 13), PQgetvalue(res, i, 14), PQgetvalue(res, i, 15),
                    (long long)list);
    }
    rc = s_focus_fees(conn, w, account, issuer, out);
done:
    PQclear(bill);
    PQclear(res);
    return rc;
}

int cmd_billing(int argc, char **argv)
{
    const fc_option_t *tables[] = {fc_config_common, s_options, NULL};
    int rc;
    fc_config_t *config =
        reporter_cli_load("fleetcost billing", "monthly bill per tenant", tables, argc, argv, &rc);
    if (!config)
        return rc;
    const char *month = fc_config_str(config, "month"), *format = fc_config_str(config, "format");
    char first[16], err[160];
    reporter_window_t w = {0};
    int64_t day;
    fc_buf_t out;
    fc_buf_init(&out);
    PGconn *conn = NULL;
    rc = 2;
    snprintf(first, sizeof first, "%.7s-01", month);
    if (strlen(month) != 7 || fc_date_parse(first, &day) != 0 || !reporter_day_in_range(day)) {
        fprintf(stderr, "billing: --month: expected YYYY-MM\n");
        goto done;
    }
    bool focus = strcmp(format, "focus") == 0;
    if (strcmp(format, "csv") != 0 && strcmp(format, "json") != 0 && !focus) {
        fprintf(stderr, "billing: --format: expected csv, json or focus\n");
        goto done;
    }
    rc = 1;
    //  The month is given, so it is the same local month for every tenant, each in its
    //  own zone.
    conn = fc_pg_connect(fc_config_str(config, "pg-url"), MODULE);
    if (!conn || reporter_tx_begin(conn, "*") != 0)
        goto done;
    int wrc = reporter_window_resolve(&w, conn, MODULE, "*", "monthly", first, NULL, NULL, err,
                                      sizeof err);
    if (wrc == -1) {
        fprintf(stderr, "billing: %s\n", err);
        rc = 2;
        goto done;
    }
    if (wrc != 0)
        goto done;
    PGresult *bill = NULL;
    if (focus ? s_focus(conn, &w, fc_config_str(config, "focus-account"),
                        fc_config_str(config, "focus-issuer"), &out) != 0
              : !(bill = s_bill(conn, &w)) ||
                    s_render(bill, month, strcmp(format, "json") == 0, &out) != 0) {
        PQclear(bill);
        goto done;
    }
    PQclear(bill);
    reporter_tx_end(conn, true);
    rc = reporter_cli_write(fc_config_str(config, "output"), &out) == 0 ? 0 : 1;
done:
    if (conn) {
        reporter_tx_end(conn, false);
        PQfinish(conn);
    }
    reporter_window_free(&w);
    fc_buf_free(&out);
    fc_config_destroy(&config);
    return rc;
}
