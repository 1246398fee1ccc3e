/*  reporter_reconcile: the reconciliation variance table (see reporter_reconcile.h). */
#include "reporter_reconcile.h"

#include <stdio.h>
#include <stdlib.h>

#include "fc_escape.h"
#include "fc_json_write.h"
#include "fc_money.h"
#include "fc_pg.h"

//  Column names, shared by the CSV header and the JSON keys.
static const char *const s_cols[] = {
    "day",         "tenant",           "bill_nusd", "fleetcost_nusd", "diff_nusd",
    "bill_tokens", "fleetcost_tokens", "status",    "run_id"};
#define S_NCOLS 9

int reporter_reconcile_render(PGconn *pg, const char *module, const char *from, const char *to,
                              const char *tenant, reporter_reconcile_fmt_t fmt, fc_buf_t *out)
{
    const char *p[3] = {from, to, tenant};
    PGresult *r = fc_pg_query(
        pg, module, "reconcile variances",
        "SELECT day::text, tenant_id, bill_nusd, fleetcost_nusd, diff_nusd,"
        " coalesce(bill_tokens::text, ''), fleetcost_tokens, status, run_id FROM reconcile_latest"
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
        fc_buf_addf(out, "%-10s  %-24s %18s %18s %18s %12s %12s  %s\n", "DAY (UTC)", "TENANT",
                    "BILL USD", "FLEETCOST USD", "BILL - FLEETCOST", "BILL TOK", "FC TOK",
                    "STATUS");
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
                else if (PQgetisnull(r, i, c) || !*PQgetvalue(r, i, c))
                    fc_jw_null(&jw, s_cols[c]); //  bill_tokens without a usage report
                else
                    fc_jw_int(&jw, s_cols[c], fc_pg_int(r, i, c));
            }
            fc_jw_end(&jw);
        } else {
            char usd[3][FC_MONEY_BUFSIZE], t[4 * 64];
            for (int c = 0; c < 3; c++)
                fc_money_format(fc_pg_int(r, i, 2 + c), usd[c], sizeof usd[c], 9);
            fc_buf_addf(out, "%-10s  %-24s %18s %18s %18s %12s %12s  %s\n", PQgetvalue(r, i, 0),
                        fc_esc_text(tn, t, sizeof t), usd[0], usd[1], usd[2], PQgetvalue(r, i, 5),
                        PQgetvalue(r, i, 6), PQgetvalue(r, i, 7));
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
