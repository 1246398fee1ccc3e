/*  reporter_http: the reporter's HTTP server (libmicrohttpd, a thread per connection):
    the JSON API under /api/v1, reports in every format, the dashboard with live totals
    (Server-Sent Events), /healthz and Prometheus /metrics. docs/API.md describes it.

    Every request that reads tenant data authenticates with an API key (reporter_key),
    takes a pooled connection of the reader role, and runs its queries in one read-only
    transaction after set_config('fleetcost.tenant', <key's tenant or '*'>, true): the
    handler checks the tenant a key asks for, and row-level security enforces it again. */
#ifndef REPORTER_HTTP_H
#define REPORTER_HTTP_H

#include <stdbool.h>

typedef struct {
    const char *bind;                //  listen address (IPv4), e.g. 127.0.0.1
    int port;                        //  0 picks a free port (see reporter_http_port)
    const char *pg_url;              //  the reader role's conninfo
    int pool_size;                   //  database connections
    int max_connections;             //  concurrent HTTP connections (one thread each)
    int max_connections_per_address; //  open connections from one client address
    int timeout_s;                   //  a connection idle this long is closed (0: never)
    int max_streams;                 //  live streams in all (<= 0 or too many: 3/4 of connections)
    int max_streams_per_key;         //  live streams of one API key
    int max_streams_per_address;     //  live streams from one client address
    const char *tls_cert;            //  PEM file paths; both set = HTTPS
    const char *tls_key;
    int top_n;                  //  default length of top lists in reports
    const char *aggregator_pub; //  sum.<tenant> endpoints for live totals ("" : Postgres only)
} reporter_http_config_t;

typedef struct _reporter_http_t reporter_http_t;

//  Starts serving. NULL (logged) if the TLS files cannot be read, TLS is not supported
//  by this libmicrohttpd, or the address cannot be bound.
reporter_http_t *reporter_http_start(const reporter_http_config_t *config);

//  The port actually bound.
int reporter_http_port(reporter_http_t *self);

//  Stops serving (ends live streams within about a second) and NULLs the pointer.
void reporter_http_stop(reporter_http_t **self_p);

#endif
