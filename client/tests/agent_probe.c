/*  agent_probe: the smallest agent, built on libfleetcost alone, as an agent host would
    build one. It queues one usage event for an ingest that is not there, waits until the
    event is in the spool, and checks the spool holds it.

    test_client_deps runs ldd on this program: what it needs at run time is what any
    program linking libfleetcost needs (linked with --no-as-needed, so every library of
    libfleetcost's link interface shows, used or not).

    usage: agent_probe <spool-dir>   exit 0 when the event was spooled. */
#include <stdio.h>

#include "fleetcost.h"

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: agent_probe <spool-dir>\n");
        return 2;
    }
    //  Port 1 on loopback: nothing listens, so the event stays in the spool.
    fc_client_options_t o = {.endpoints = "tcp://127.0.0.1:1", .spool_dir = argv[1]};
    fc_client_t *client = fc_client_new(&o);
    if (!client)
        return 1;
    fc_event_t ev;
    fc_event_init(&ev);
    ev.type = FC_EV_USAGE;
    snprintf(ev.tenant, sizeof ev.tenant, "probe");
    snprintf(ev.agent, sizeof ev.agent, "agent-probe");
    snprintf(ev.model, sizeof ev.model, "claude-sonnet-4-5");
    ev.input_tokens = 1;
    fc_proto_error_t err;
    int rc = fc_client_send(client, &ev, &err);
    uint64_t unwritten = rc == 0 ? fc_client_sync(client, 5000) : 1;
    fc_client_destroy(&client);
    uint64_t files = 0, events = 0;
    if (rc != 0 || unwritten != 0 || fc_client_spool_count(argv[1], &files, &events) != 0 ||
        events != 1) {
        fprintf(stderr, "agent_probe: the event was not spooled (send %d, unwritten %llu)\n", rc,
                (unsigned long long)unwritten);
        return 1;
    }
    printf("agent_probe: 1 event spooled in %llu file(s)\n", (unsigned long long)files);
    return 0;
}
