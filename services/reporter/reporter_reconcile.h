/*  reporter_reconcile: the variance table of `fleetcost reconcile` (docs/RECONCILE.md §6),
    one rendering for `fleetcost reconcile show` and GET /api/v1/reconcile: the newest
    run's row per (tenant, UTC day) of reconcile_latest, as text, CSV or JSON. */
#ifndef REPORTER_RECONCILE_H
#define REPORTER_RECONCILE_H

#include <libpq-fe.h>

#include "fc_buf.h"

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

#endif
