/*  reporter_reconcile: the reconciliation variance table (see reporter_reconcile.h). */
#include "reporter_reconcile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fc_escape.h"
#include "fc_json_write.h"
#include "fc_pg.h"
#include "reporter_report.h"

//  Column names, shared by the CSV header and the JSON keys.
static const char *const s_cols[] = {
    "day",         "tenant",           "bill_nusd", "fleetcost_nusd", "diff_nusd",
    "bill_tokens", "fleetcost_tokens", "status",    "run_id",         "token_diffs"};
#define S_NCOLS   10
#define S_STR_(x) #x
#define S_STR(x)  S_STR_(x)

int reporter_reconcile_render(PGconn *pg, const char *module, const char *from, const char *to,
                              const char *tenant, reporter_reconcile_fmt_t fmt, fc_buf_t *out)
{
    const char *p[3] = {from, to, tenant};
    PGresult *r =
        fc_pg_query(pg, module, "reconcile variances",
                    "SELECT day::text, tenant_id, bill_nusd, fleetcost_nusd, diff_nusd,"
                    " coalesce(bill_tokens::text, ''), fleetcost_tokens, status, run_id,"
                    " coalesce(token_diffs, '') FROM reconcile_latest"
                    " WHERE day BETWEEN $1::date AND $2::date AND ($3 = '*' OR tenant_id = $3)"
                    " ORDER BY day, tenant_id = '', tenant_id",
                    3, p);
    if (!r)
        return -1;
    int n = PQntuples(r);
    fc_jw_t jw;
    if (fmt == REPORTER_RECONCILE_CSV) {
        for (int c = 0; c < S_NCOLS; c++)
            fc_buf_addf(out, "%s%s", c ? "," : "", s_cols[c]);
        fc_buf_add_str(out, "\r\n");
    } else if (fmt == REPORTER_RECONCILE_JSON) {
        fc_jw_init(&jw, out);
        fc_jw_object(&jw, NULL);
        fc_jw_str(&jw, "from", from);
        fc_jw_str(&jw, "to", to);
        fc_jw_str(&jw, "tenant", tenant);
        fc_jw_array(&jw, "days");
    } else
        fc_buf_addf(out, "%-10s  %-24s %18s %18s %18s %12s %12s  %-16s %s\n", "DAY (UTC)", "TENANT",
                    "BILL USD", "FLEETCOST USD", "BILL - FLEETCOST", "BILL TOK", "FC TOK", "STATUS",
                    "TOKENS BILL - FC BY MODEL");
    for (int i = 0; i < n; i++) {
        //  The cost of unmapped workspaces is stored under tenant ''.
        const char *tn = *PQgetvalue(r, i, 1) ? PQgetvalue(r, i, 1) : "(unmapped)";
        if (fmt == REPORTER_RECONCILE_CSV) {
            for (int c = 0; c < S_NCOLS; c++) {
                if (c)
                    fc_buf_add(out, ",", 1);
                fc_esc_csv(out, c == 1 ? tn : PQgetvalue(r, i, c));
            }
            fc_buf_add_str(out, "\r\n");
        } else if (fmt == REPORTER_RECONCILE_JSON) {
            fc_jw_object(&jw, NULL);
            for (int c = 0; c < S_NCOLS; c++) {
                if (c == 0 || c == 1 || c == 7)
                    fc_jw_str(&jw, s_cols[c], PQgetvalue(r, i, c)); //  tenant '': unmapped
                else if (!*PQgetvalue(r, i, c))
                    fc_jw_null(&jw, s_cols[c]); //  no usage report; no token difference
                else if (c == 9)
                    fc_jw_str(&jw, s_cols[c], PQgetvalue(r, i, c));
                else
                    fc_jw_int(&jw, s_cols[c], fc_pg_int(r, i, c));
            }
            fc_jw_end(&jw);
        } else {
            char usd[3][32], t[4 * 64], note[4 * 256];
            fc_buf_addf(out, "%-10s  %-24s %18s %18s %18s %12s %12s  %-16s %s\n",
                        PQgetvalue(r, i, 0), fc_esc_text(tn, t, sizeof t),
                        reporter_usd(fc_pg_int(r, i, 2), 9, usd[0]),
                        reporter_usd(fc_pg_int(r, i, 3), 9, usd[1]),
                        reporter_usd(fc_pg_int(r, i, 4), 9, usd[2]), PQgetvalue(r, i, 5),
                        PQgetvalue(r, i, 6), PQgetvalue(r, i, 7),
                        fc_esc_text(PQgetvalue(r, i, 9), note, sizeof note));
        }
    }
    if (fmt == REPORTER_RECONCILE_JSON) {
        fc_jw_end(&jw);
        fc_jw_end(&jw);
        fc_buf_add_str(out, "\n");
    }
    PQclear(r);
    return n;
}

int reporter_reconcile_gather(PGconn *pg, const char *module, const char *from, const char *to,
                              const char *tenant, reporter_recon_t *out)
{
    memset(out, 0, sizeof *out);
    const char *p[3] = {from, to, tenant};
    PGresult *r =
        fc_pg_query(pg, module, "reconcile totals",
                    "SELECT count(*) FILTER (WHERE tenant_id <> ''),"
                    " count(*) FILTER (WHERE status IN ('bill_higher', 'fleetcost_higher')),"
                    " coalesce(sum(bill_nusd) FILTER (WHERE tenant_id <> ''), 0)::bigint,"
                    " coalesce(sum(fleetcost_nusd) FILTER (WHERE tenant_id <> ''), 0)::bigint,"
                    " coalesce(sum(bill_nusd) FILTER (WHERE tenant_id = ''), 0)::bigint"
                    " FROM reconcile_latest WHERE day BETWEEN $1::date AND $2::date"
                    " AND ($3 = '*' OR tenant_id = $3)",
                    3, p);
    if (!r)
        return -1;
    out->days = fc_pg_int(r, 0, 0);
    out->differ = fc_pg_int(r, 0, 1);
    out->bill_nusd = fc_pg_int(r, 0, 2);
    out->fleetcost_nusd = fc_pg_int(r, 0, 3);
    out->unmapped_nusd = fc_pg_int(r, 0, 4);
    PQclear(r);
    r = fc_pg_query(
        pg, module, "reconcile differences",
        "SELECT day::text, tenant_id, status, bill_nusd, fleetcost_nusd, diff_nusd,"
        " coalesce(token_diffs, '')"
        " FROM reconcile_latest WHERE day BETWEEN $1::date AND $2::date"
        " AND ($3 = '*' OR tenant_id = $3)"
        " AND status IN ('bill_higher', 'fleetcost_higher')"
        " ORDER BY abs(diff_nusd) DESC, day, tenant_id LIMIT " S_STR(REPORTER_RECON_MAX),
        3, p);
    if (!r)
        return -1;
    for (int i = 0; i < PQntuples(r) && out->n < REPORTER_RECON_MAX; i++) {
        reporter_recon_day_t *d = &out->v[out->n++];
        snprintf(d->day, sizeof d->day, "%s", PQgetvalue(r, i, 0));
        snprintf(d->tenant, sizeof d->tenant, "%s", PQgetvalue(r, i, 1));
        snprintf(d->status, sizeof d->status, "%s", PQgetvalue(r, i, 2));
        d->bill_nusd = fc_pg_int(r, i, 3);
        d->fleetcost_nusd = fc_pg_int(r, i, 4);
        d->diff_nusd = fc_pg_int(r, i, 5);
        snprintf(d->token_diffs, sizeof d->token_diffs, "%s", PQgetvalue(r, i, 6));
    }
    PQclear(r);
    return 0;
}

//  The summary line's figures: "N tenant-days: bill $B, fleetcost $F, bill - fleetcost $D".
static void s_summary(const reporter_recon_t *x, char *out, size_t size)
{
    char b[32], f[32], d[32];
    snprintf(out, size,
             "%lld tenant-day%s (UTC) reconciled: bill $%s, fleetcost $%s, bill - fleetcost $%s; "
             "%lld differ",
             (long long)x->days, x->days == 1 ? "" : "s", reporter_usd(x->bill_nusd, 9, b),
             reporter_usd(x->fleetcost_nusd, 9, f),
             reporter_usd(x->bill_nusd - x->fleetcost_nusd, 9, d), (long long)x->differ);
}

void reporter_reconcile_section_text(fc_buf_t *o, const reporter_recon_t *x)
{
    char line[256], b[32], f[32], d[32], t[4 * 64], note[4 * 256];
    fc_buf_add_str(o, "\nRECONCILIATION WITH THE PROVIDER'S BILL\n");
    if (x->days == 0 && x->unmapped_nusd == 0) {
        fc_buf_add_str(o, "  no reconciliation of these days (fleetcost reconcile)\n");
        return;
    }
    s_summary(x, line, sizeof line);
    fc_buf_addf(o, "  %s\n", line);
    for (size_t i = 0; i < x->n; i++) {
        const reporter_recon_day_t *v = &x->v[i];
        fc_buf_addf(o, "  %s %-24s bill $%s  fleetcost $%s  %s $%s%s%s\n", v->day,
                    fc_esc_text(v->tenant, t, sizeof t), reporter_usd(v->bill_nusd, 9, b),
                    reporter_usd(v->fleetcost_nusd, 9, f), v->status,
                    reporter_usd(v->diff_nusd, 9, d), *v->token_diffs ? "  tokens: " : "",
                    fc_esc_text(v->token_diffs, note, sizeof note));
    }
    if (x->unmapped_nusd)
        fc_buf_addf(o, "  cost of workspaces mapped to no tenant: $%s\n",
                    reporter_usd(x->unmapped_nusd, 9, b));
}

void reporter_reconcile_section_html(fc_buf_t *o, const reporter_recon_t *x)
{
    char line[256], b[32], f[32], d[32];
    fc_buf_add_str(o, "<h2>Reconciliation with the provider&#39;s bill</h2><p>");
    if (x->days == 0 && x->unmapped_nusd == 0) {
        fc_buf_add_str(o, "No reconciliation of these days (fleetcost reconcile).</p>");
        return;
    }
    s_summary(x, line, sizeof line);
    fc_esc_html(o, line);
    if (x->unmapped_nusd)
        fc_buf_addf(o, "; cost of workspaces mapped to no tenant: $%s",
                    reporter_usd(x->unmapped_nusd, 9, b));
    fc_buf_add_str(o, ".</p><table><tr><th>day (UTC)</th><th>tenant</th>"
                      "<th class=\"n\">bill (USD)</th><th class=\"n\">fleetcost (USD)</th>"
                      "<th class=\"n\">bill - fleetcost (USD)</th><th>status</th>"
                      "<th>tokens, bill - fleetcost, by model</th></tr>");
    for (size_t i = 0; i < x->n; i++) {
        const reporter_recon_day_t *v = &x->v[i];
        fc_buf_addf(o, "<tr><td>%s</td><td>", v->day);
        fc_esc_html(o, v->tenant);
        fc_buf_addf(o,
                    "</td><td class=\"n\">%s</td><td class=\"n\">%s</td><td class=\"n\">%s</td>"
                    "<td>%s</td><td>",
                    reporter_usd(v->bill_nusd, 9, b), reporter_usd(v->fleetcost_nusd, 9, f),
                    reporter_usd(v->diff_nusd, 9, d), v->status);
        fc_esc_html(o, v->token_diffs);
        fc_buf_add_str(o, "</td></tr>");
    }
    if (x->n == 0)
        fc_buf_add_str(o, "<tr><td colspan=\"7\">no differences</td></tr>");
    fc_buf_add_str(o, "</table>");
}

void reporter_reconcile_section_json(fc_jw_t *w, const reporter_recon_t *x)
{
    fc_jw_object(w, "reconcile");
    fc_jw_int(w, "days", x->days);
    fc_jw_int(w, "differ", x->differ);
    fc_jw_int(w, "bill_nusd", x->bill_nusd);
    fc_jw_int(w, "fleetcost_nusd", x->fleetcost_nusd);
    fc_jw_int(w, "diff_nusd", x->bill_nusd - x->fleetcost_nusd);
    fc_jw_int(w, "unmapped_nusd", x->unmapped_nusd);
    fc_jw_array(w, "differences");
    for (size_t i = 0; i < x->n; i++) {
        const reporter_recon_day_t *v = &x->v[i];
        fc_jw_object(w, NULL);
        fc_jw_str(w, "day", v->day);
        fc_jw_str(w, "tenant", v->tenant);
        fc_jw_str(w, "status", v->status);
        fc_jw_int(w, "bill_nusd", v->bill_nusd);
        fc_jw_int(w, "fleetcost_nusd", v->fleetcost_nusd);
        fc_jw_int(w, "diff_nusd", v->diff_nusd);
        fc_jw_str(w, "token_diffs", *v->token_diffs ? v->token_diffs : NULL);
        fc_jw_end(w);
    }
    fc_jw_end(w);
    fc_jw_end(w);
}
