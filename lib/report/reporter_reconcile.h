/*  reporter_reconcile: the variance table of `fleetcost reconcile` (docs/RECONCILE.md §6),
    one rendering for `fleetcost reconcile show` and GET /api/v1/reconcile: the newest
    run's row per (tenant, UTC day) of reconcile_latest, as text, CSV or JSON. */
#ifndef REPORTER_RECONCILE_H
#define REPORTER_RECONCILE_H

#include <libpq-fe.h>
#include <stdint.h>

#include "fc_buf.h"
#include "fc_json_write.h"

typedef enum {
    REPORTER_RECONCILE_TEXT,
    REPORTER_RECONCILE_CSV,
    REPORTER_RECONCILE_JSON
} reporter_reconcile_fmt_t;

//  Appends the rows of [from, to] (UTC days, YYYY-MM-DD, inclusive) for tenant ("*":
//  every row the connection may see, the unmapped cost included) to out. Runs in the
//  caller's transaction, so a reader's row-level security applies. Tenant text is
//  escaped for the format's reader. Returns the number of rows, or -1 (logged).
int reporter_reconcile_render(PGconn *pg, const char *module, const char *from, const char *to,
                              const char *tenant, reporter_reconcile_fmt_t fmt, fc_buf_t *out);

//  The reconciliation section of a report: over the report's dates taken as UTC days,
//  the newest run's totals and the tenant-days that differ, largest difference first.
#define REPORTER_RECON_MAX 31
typedef struct {
    char day[11], tenant[64], status[20];
    int64_t bill_nusd, fleetcost_nusd, diff_nusd;
    char token_diffs[256]; //  models whose tokens differ ("claude-opus-4-6 +32000"), or ""
} reporter_recon_day_t;

typedef struct {
    int64_t days, differ;              //  tenant-days reconciled (mapped), and of them differing
    int64_t bill_nusd, fleetcost_nusd; //  their totals
    int64_t unmapped_nusd;             //  cost of workspaces mapped to no tenant ("*" only)
    reporter_recon_day_t v[REPORTER_RECON_MAX];
    size_t n;
} reporter_recon_t;

//  Fills out for [from, to] and tenant ("*": all) in the caller's transaction. 0, or -1
//  (logged).
int reporter_reconcile_gather(PGconn *pg, const char *module, const char *from, const char *to,
                              const char *tenant, reporter_recon_t *out);

//  The section in a report: text (tenant strings escaped for a terminal), HTML, and the
//  JSON member "reconcile":{...} into the object open in w. CSV rows are written by
//  reporter_render with its own row format.
void reporter_reconcile_section_text(fc_buf_t *o, const reporter_recon_t *x);
void reporter_reconcile_section_html(fc_buf_t *o, const reporter_recon_t *x);
void reporter_reconcile_section_json(fc_jw_t *w, const reporter_recon_t *x);

#endif
