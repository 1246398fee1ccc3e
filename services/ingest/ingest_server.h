/*  ingest_server: the ROUTER loop. Receives batches from agents, decodes and
    validates every event, groups batches from many agents into one commit, hands
    the group to an idle writer thread (each with its own Postgres connection), acks
    each batch after its commit and publishes the newly stored events with
    (ingest_id, seq), group after group in seq order. */
#ifndef INGEST_SERVER_H
#define INGEST_SERVER_H

#include <stdbool.h>
#include <stdint.h>

typedef struct {
    const char *pg_url;
    const char *bind;     //  agents' ROUTER endpoint(s), comma-separated
    const char *pub_bind; //  event stream PUB endpoint(s), comma-separated
    const char *ingest_id;
    int group_events;      //  flush a group at this many events
    int group_ms;          //  ... or when its oldest batch has waited this long
    int max_pending;       //  stop reading agents while this many events wait
    int writers;           //  group commits in flight at once, each on its own connection
    bool register_tenants; //  unknown tenants: register (true) or reject (false)
    const char *metrics_bind;
    int metrics_port;        //  0: no /metrics endpoint
    int shutdown_timeout_ms; //  on SIGTERM, how long to keep trying to commit
} ingest_config_t;

typedef struct _ingest_server_t ingest_server_t;

//  Binds the sockets and starts the writer thread; NULL on failure (logged).
ingest_server_t *ingest_server_new(const ingest_config_t *config);

//  Runs until fc_signal_stopping(); then stops reading, commits and acks what is in
//  flight (within shutdown_timeout_ms) and returns 0.
int ingest_server_run(ingest_server_t *self);

void ingest_server_destroy(ingest_server_t **self_p);

#endif
