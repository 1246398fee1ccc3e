/*  The fleetcost command's subcommands. Each takes argv with argv[0] = its name and
    returns the process exit status. */
#ifndef FC_COMMANDS_H
#define FC_COMMANDS_H

#include <libpq-fe.h>

#include "fc_config.h"
#include "fleetcost.h"

int cmd_migrate(int argc, char **argv);
int cmd_retention(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_billing(int argc, char **argv);
int cmd_key(int argc, char **argv);
int cmd_emit(int argc, char **argv);
int cmd_flush(int argc, char **argv);
int cmd_cert(int argc, char **argv);
int cmd_budget(int argc, char **argv);
int cmd_alerts(int argc, char **argv);
int cmd_watch(int argc, char **argv);
int cmd_simulate(int argc, char **argv);
int cmd_tenant(int argc, char **argv);
int cmd_price(int argc, char **argv);
int cmd_reprice(int argc, char **argv);
int cmd_rate(int argc, char **argv);
int cmd_github(int argc, char **argv);
int cmd_reconcile(int argc, char **argv);

//  Recomputes the list and billed cost of every usage event of [from 00:00 UTC, to + 1
//  00:00 UTC) (tenant NULL: all tenants) with the prices and rate cards in force at each
//  event's time, records a restatement per tenant whose events changed (reason:
//  "reprice", "rate.set"...), and brings rollups and Redis back in line. The one
//  restatement path (cmd_price.c), for `reprice` and `rate`. Returns the exit status.
int cmd_price_restate(fc_config_t *cfg, PGconn *pg, const char *from, const char *to,
                      const char *tenant, const char *reason);

//  Who an audited change is by: --actor, else $USER, else "unknown". Defined in
//  fleetcost.c; every command that writes audit_log rows asks it.
const char *cmd_actor(fc_config_t *config);

//  Settings of the commands that talk to ingest through libfleetcost (emit, flush):
//  ingest-endpoints, spool-dir, timeout-ms, verbose. Defined in cmd_emit.c.
extern const fc_option_t cmd_client_options[];
//  A client from those settings (default spool directory resolved); NULL if it fails.
fc_client_t *cmd_client_open(fc_config_t *config, fc_client_result_fn *on_result, void *arg);

#endif
