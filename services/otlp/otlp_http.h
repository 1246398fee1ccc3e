/*  otlp_http: the OTLP/HTTP endpoint (libmicrohttpd): POST /v1/logs, JSON only.

    Each request is read whole (at most max_body bytes), mapped by otlp_logs and its
    usage events handed to libfleetcost, which spools them to disk and delivers them to
    ingest. Answers follow OTLP/HTTP: 200 with an ExportLogsServiceResponse
    ({"partialSuccess":{}}, or the rejected count and reasons), and on failure a
    google.rpc.Status {"code":..,"message":..}: 401 without a valid OTLP ingest token
    (otlp_auth; checked before the body is read), 400 malformed, 404, 405, 413 too large,
    415 not JSON (protobuf is not supported) or compressed, 503 when the client cannot
    take more (spool full: the exporter retries, and ids make the retry harmless). */
#ifndef OTLP_HTTP_H
#define OTLP_HTTP_H

#include <stddef.h>

#include "fc_metrics.h"
#include "fleetcost.h"
#include "otlp_auth.h"

typedef struct {
    const char *bind;           //  IPv4 listen address
    int port;                   //  0: any free port (see otlp_http_port)
    size_t max_body;            //  bytes of one request body
    const char *default_tenant; //  operator tokens: records without tenant.id; "": reject
    fc_client_t *client;        //  where events go (not owned)
    otlp_auth_t *auth;          //  who may send, and for which tenant (not owned)
    fc_metrics_t *metrics;      //  counters are registered here (not owned)
} otlp_http_config_t;

typedef struct _otlp_http_t otlp_http_t;

//  Registers the metrics and starts serving; NULL (reason logged) if it cannot listen.
otlp_http_t *otlp_http_start(const otlp_http_config_t *config);

//  The port actually bound.
int otlp_http_port(otlp_http_t *self);

//  Stops accepting, waits for the requests being answered, frees and NULLs the pointer.
void otlp_http_stop(otlp_http_t **self_p);

#endif
