/*  fleetcost flush: delivers what the spool holds (events that `fleetcost emit` or an
    agent could not deliver in time). Exit 0 when the spool is empty afterwards, 1 with
    the count left otherwise. */
#include <inttypes.h>
#include <stdio.h>

#include "commands.h"
#include "fc_config.h"
#include "fc_log.h"
#include "fleetcost.h"

int cmd_flush(int argc, char **argv)
{
    const fc_option_t *tables[] = {cmd_client_options, NULL};
    int rc;
    fc_config_t *config =
        fc_config_load("fleetcost flush", "deliver the events waiting in the spool", tables, argc,
                       argv, 0, 0, &rc);
    if (!config)
        return rc;
    fc_client_t *client = cmd_client_open(config, NULL, NULL);
    if (!client) {
        fc_config_destroy(&config);
        return 1;
    }
    int64_t timeout = fc_config_int(config, "timeout-ms");
    fc_client_flush(client, (int)timeout);
    fc_client_stats_t st;
    fc_client_stats(client, &st);
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", fc_client_spool_dir(client));
    fc_client_destroy(&client);
    fc_config_destroy(&config);

    uint64_t files = 0, events = 0;
    if (fc_client_spool_count(dir, &files, &events) != 0) {
        fprintf(stderr, "flush: cannot read %s\n", dir);
        return 1;
    }
    printf("flush: %" PRIu64 " delivered (%" PRIu64 " stored, %" PRIu64 " duplicate, %" PRIu64
           " rejected)\n",
           st.acked + st.duplicate + st.rejected, st.acked, st.duplicate, st.rejected);
    if (st.rejected)
        printf("flush: last rejection: %s %s: %s\n", fc_code_name(st.last_reject_code),
               st.last_reject_field[0] ? st.last_reject_field : "-", st.last_reject_reason);
    if (events == 0) {
        printf("flush: spool %s is empty\n", dir);
        return 0;
    }
    printf("flush: %" PRIu64 " events in %" PRIu64 " batch files left in %s%s\n", events, files,
           dir, st.unacked < events ? " (some are held by running emits or agents)" : "");
    return 1;
}
