/*  otlp_http: POST /v1/logs over libmicrohttpd (see otlp_http.h). */
#include "otlp_http.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <microhttpd.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fc_buf.h"
#include "fc_http.h"
#include "fc_json_write.h"
#include "fc_log.h"
#include "otlp_auth.h"
#include "otlp_logs.h"

#define MODULE "otlp"
//  Two workers map requests at a time: each parse holds up to ten times its body in
//  tokens, so this bounds memory as well as CPU. Connections beyond the limit wait in
//  the kernel's backlog.
#define S_WORKERS     2
#define S_CONNECTIONS 64
#define S_TIMEOUT_S   30
#define S_RETRY_AFTER "5"

struct _otlp_http_t {
    char *bind, *default_tenant;
    size_t max_body;
    fc_client_t *client;
    otlp_auth_t *auth;
    fc_http_t *http;
    atomic_uint_fast64_t logged;     //  requests with rejections logged so far
    atomic_uint_fast64_t refused;    //  requests answered 401 so far (for log sampling)
    atomic_uint_fast64_t mismatched; //  requests with foreign-tenant records so far
    fc_metric_t *m_requests, *m_client_errors, *m_unavailable, *m_records, *m_events, *m_rejected,
        *m_ignored, *m_unauthorized, *m_foreign;
};

//  One request: its body as it arrives.
typedef struct {
    fc_buf_t body;
    bool too_big;
    char tenant[FC_MAX_TENANT + 1]; //  the token's tenant; "" for an operator token
} s_upload_t;

//  Queues body (taken over) with status as application/json.
static enum MHD_Result s_respond(otlp_http_t *self, struct MHD_Connection *mc, unsigned status,
                                 fc_buf_t *body)
{
    if (status >= 400 && status != MHD_HTTP_SERVICE_UNAVAILABLE)
        fc_metric_add(self->m_client_errors, 1);
    if (body->failed) {
        fc_buf_free(body);
        return MHD_NO;
    }
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(body->len, body->data, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        fc_buf_free(body);
        return MHD_NO;
    }
    MHD_add_response_header(resp, "Content-Type", "application/json");
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    if (status == MHD_HTTP_SERVICE_UNAVAILABLE)
        MHD_add_response_header(resp, "Retry-After", S_RETRY_AFTER);
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(resp, "Allow", "POST");
    if (status == MHD_HTTP_UNAUTHORIZED)
        MHD_add_response_header(resp, "WWW-Authenticate", "Bearer realm=\"fleetcost-otlp\"");
    enum MHD_Result rc = MHD_queue_response(mc, status, resp);
    MHD_destroy_response(resp);
    return rc;
}

//  An OTLP failure: a google.rpc.Status with the gRPC code matching the HTTP status.
static enum MHD_Result s_fail(otlp_http_t *self, struct MHD_Connection *mc, unsigned status,
                              const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static enum MHD_Result s_fail(otlp_http_t *self, struct MHD_Connection *mc, unsigned status,
                              const char *fmt, ...)
{
    char msg[OTLP_MAX_MSG];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    int code = status == 401   ? 16 //  UNAUTHENTICATED
               : status == 404 ? 5  //  NOT_FOUND
               : status == 405 ? 12 //  UNIMPLEMENTED
               : status == 503 ? 14 //  UNAVAILABLE
               : status == 413 ? 8  //  RESOURCE_EXHAUSTED
               : status >= 500 ? 13 //  INTERNAL
                               : 3; //  INVALID_ARGUMENT
    fc_buf_t b;
    fc_buf_init(&b);
    fc_jw_t w;
    fc_jw_init(&w, &b);
    fc_jw_object(&w, NULL);
    fc_jw_int(&w, "code", code);
    fc_jw_str(&w, "message", msg);
    fc_jw_end(&w);
    fc_buf_add_str(&b, "\n");
    fc_debug(MODULE, "answered %u: %s", status, msg);
    return s_respond(self, mc, status, &b);
}

#define S_SYNC_MS 5000 //  how long an export waits for its events to reach the spool

static int s_emit(void *arg, fc_event_t *ev, fc_proto_error_t *err)
{
    otlp_http_t *self = arg;
    return fc_client_send(self->client, ev, err);
}

//  The whole body is in: map it and answer.
static enum MHD_Result s_export(otlp_http_t *self, struct MHD_Connection *mc, s_upload_t *u)
{
    otlp_result_t res;
    otlp_status_t st = otlp_logs_map(u->body.data ? (const char *)u->body.data : "", u->body.len,
                                     u->tenant, self->default_tenant, s_emit, self, &res);
    fc_metric_add(self->m_records, res.records);
    fc_metric_add(self->m_events, res.events);
    fc_metric_add(self->m_rejected, res.rejected);
    fc_metric_add(self->m_ignored, res.ignored);
    fc_metric_add(self->m_foreign, res.foreign);
    if (res.foreign) {
        //  A tenant's sender naming another tenant: an attack or a misconfigured fleet.
        //  The first ones and then one in a hundred are logged; the metric counts all.
        uint64_t n = atomic_fetch_add(&self->mismatched, 1);
        if (n < 10 || n % 100 == 0)
            fc_warn(MODULE, "token of tenant %s: %d records naming another tenant refused",
                    u->tenant, res.foreign);
    }
    if (st == OTLP_MALFORMED)
        return s_fail(self, mc, MHD_HTTP_BAD_REQUEST, "%s", res.message);
    if (st == OTLP_UNAVAILABLE) {
        fc_metric_add(self->m_unavailable, 1);
        fc_warn(MODULE, "answering 503 (the exporter will retry): %s", res.message);
        return s_fail(self, mc, MHD_HTTP_SERVICE_UNAVAILABLE, "%s", res.message);
    }
    //  200 only once the events are in the spool on disk: after that a crash of this
    //  process loses nothing the exporter was told was accepted.
    if (res.events && fc_client_sync(self->client, S_SYNC_MS) != 0) {
        fc_metric_add(self->m_unavailable, 1);
        fc_warn(MODULE, "answering 503: events not on disk within %d ms", S_SYNC_MS);
        return s_fail(self, mc, MHD_HTTP_SERVICE_UNAVAILABLE,
                      "events not yet safely stored; retry");
    }
    fc_buf_t b;
    fc_buf_init(&b);
    if (res.rejected) {
        //  A misconfigured fleet repeats the same rejection every export: log the first
        //  ones and then one in a hundred; the metric counts them all.
        uint64_t n = atomic_fetch_add(&self->logged, 1);
        if (n < 10 || n % 100 == 0)
            fc_warn(MODULE, "%s", res.message);
    }
    //  OTLP/JSON writes 64-bit integers as strings (rejectedLogRecords is an int64).
    char rejected[24];
    snprintf(rejected, sizeof rejected, "%d", res.rejected);
    fc_jw_t w;
    fc_jw_init(&w, &b);
    fc_jw_object(&w, NULL);
    fc_jw_object(&w, "partialSuccess");
    if (res.rejected) {
        fc_jw_str(&w, "rejectedLogRecords", rejected);
        fc_jw_str(&w, "errorMessage", res.message);
    }
    fc_jw_end(&w);
    fc_jw_end(&w);
    fc_buf_add_str(&b, "\n");
    fc_debug(MODULE, "%d records: %d events, %d rejected, %d ignored", res.records, res.events,
             res.rejected, res.ignored);
    return s_respond(self, mc, MHD_HTTP_OK, &b);
}

//  The sender's token, checked before any of the body is read: an unauthenticated
//  request costs one hash and is answered 401 (503 while no token set is loaded).
//  Returns true when a response was queued (*rc set); else tenant holds the token's.
static bool s_check_auth(otlp_http_t *self, struct MHD_Connection *mc, enum MHD_Result *rc,
                         char tenant[FC_MAX_TENANT + 1])
{
    const char *auth = MHD_lookup_connection_value(mc, MHD_HEADER_KIND, "Authorization");
    otlp_auth_rc_t ar = otlp_auth_check(self->auth, auth, tenant);
    if (ar == OTLP_AUTH_OK)
        return false;
    if (ar == OTLP_AUTH_UNAVAILABLE) {
        fc_metric_add(self->m_unavailable, 1);
        *rc = s_fail(self, mc, MHD_HTTP_SERVICE_UNAVAILABLE, "tokens not loaded yet; retry");
        return true;
    }
    fc_metric_add(self->m_unauthorized, 1);
    //  Never the header itself: it may hold a real token with a typo.
    uint64_t n = atomic_fetch_add(&self->refused, 1);
    if (n < 10 || n % 100 == 0) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        char peer[INET_ADDRSTRLEN] = "?";
        if (ci && ci->client_addr && ci->client_addr->sa_family == AF_INET)
            inet_ntop(AF_INET, &((const struct sockaddr_in *)ci->client_addr)->sin_addr, peer,
                      sizeof peer);
        fc_warn(MODULE, "answering 401 to %s: %s (%" PRIu64 " so far)", peer,
                auth ? "token not valid (unknown, revoked or malformed)" : "no token", n + 1);
    }
    *rc = s_fail(self, mc, MHD_HTTP_UNAUTHORIZED,
                 "an OTLP ingest token is required: Authorization: Bearer <token> "
                 "(fleetcost key create --scope otlp)");
    return true;
}

//  First call of a request: everything that can be answered from the headers alone.
//  Returns true when a response was queued (*rc set).
static bool s_check_headers(otlp_http_t *self, struct MHD_Connection *mc, const char *url,
                            const char *method, enum MHD_Result *rc)
{
    if (strcmp(url, "/v1/logs") != 0) {
        *rc = s_fail(self, mc, MHD_HTTP_NOT_FOUND,
                     "%s: not served here (OTLP logs only: POST /v1/logs)", url);
        return true;
    }
    if (strcmp(method, "POST") != 0) {
        *rc = s_fail(self, mc, MHD_HTTP_METHOD_NOT_ALLOWED, "only POST is supported");
        return true;
    }
    const char *type = MHD_lookup_connection_value(mc, MHD_HEADER_KIND, "Content-Type");
    if (!type || strncasecmp(type, "application/json", 16) != 0 ||
        (type[16] && type[16] != ';' && type[16] != ' ')) {
        *rc = s_fail(self, mc, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE,
                     "Content-Type %.64s is not supported: only application/json (OTLP/HTTP "
                     "JSON; set OTEL_EXPORTER_OTLP_PROTOCOL=http/json, protobuf is not accepted)",
                     type ? type : "(none)");
        return true;
    }
    const char *enc = MHD_lookup_connection_value(mc, MHD_HEADER_KIND, "Content-Encoding");
    if (enc && *enc && strcasecmp(enc, "identity") != 0) {
        *rc = s_fail(self, mc, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE,
                     "Content-Encoding %.32s is not supported: send uncompressed JSON "
                     "(unset OTEL_EXPORTER_OTLP_COMPRESSION)",
                     enc);
        return true;
    }
    const char *length = MHD_lookup_connection_value(mc, MHD_HEADER_KIND, "Content-Length");
    if (length && strtoull(length, NULL, 10) > self->max_body) {
        *rc = s_fail(self, mc, MHD_HTTP_CONTENT_TOO_LARGE,
                     "body of %.20s bytes is over the limit of %zu", length, self->max_body);
        return true;
    }
    return false;
}

static enum MHD_Result s_handle(void *cls, struct MHD_Connection *mc, const char *url,
                                const char *method, const char *version, const char *upload,
                                size_t *upload_size, void **state)
{
    otlp_http_t *self = cls;
    s_upload_t *u = *state;
    if (!u) {
        fc_metric_add(self->m_requests, 1);
        enum MHD_Result rc;
        char tenant[FC_MAX_TENANT + 1];
        if (s_check_headers(self, mc, url, method, &rc) || s_check_auth(self, mc, &rc, tenant))
            return rc;
        u = calloc(1, sizeof *u);
        if (!u)
            return MHD_NO;
        memcpy(u->tenant, tenant, sizeof tenant);
        fc_buf_init(&u->body);
        *state = u;
        return MHD_YES;
    }
    if (*upload_size) {
        //  A body without Content-Length (chunked) that outgrows the limit: the rest is
        //  read and dropped (a response can only be queued once the body is in).
        if (!u->too_big && u->body.len + *upload_size > self->max_body) {
            u->too_big = true;
            fc_buf_free(&u->body);
        }
        if (!u->too_big)
            fc_buf_add(&u->body, upload, *upload_size);
        *upload_size = 0;
        return MHD_YES;
    }
    if (u->too_big)
        return s_fail(self, mc, MHD_HTTP_CONTENT_TOO_LARGE, "body over the limit of %zu bytes",
                      self->max_body);
    if (u->body.failed)
        return s_fail(self, mc, MHD_HTTP_SERVICE_UNAVAILABLE, "out of memory");
    return s_export(self, mc, u);
}

static void s_completed(void *cls, struct MHD_Connection *mc, void **state,
                        enum MHD_RequestTerminationCode toe)
{
    s_upload_t *u = *state;
    if (u) {
        fc_buf_free(&u->body);
        free(u);
        *state = NULL;
    }
}

static void s_free(otlp_http_t *self)
{
    free(self->bind);
    free(self->default_tenant);
    free(self);
}

otlp_http_t *otlp_http_start(const otlp_http_config_t *config)
{
    otlp_http_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->bind = strdup(config->bind && *config->bind ? config->bind : "127.0.0.1");
    self->default_tenant = strdup(config->default_tenant ? config->default_tenant : "");
    self->max_body = config->max_body;
    self->client = config->client;
    self->auth = config->auth;
    if (!self->bind || !self->default_tenant) {
        s_free(self);
        return NULL;
    }
    fc_metrics_t *m = config->metrics;
    self->m_requests =
        fc_metrics_add(m, "http_requests_total", FC_METRIC_COUNTER, "HTTP requests received.");
    self->m_client_errors = fc_metrics_add(m, "http_client_errors_total", FC_METRIC_COUNTER,
                                           "Requests answered 4xx (malformed, too large, ...).");
    self->m_unavailable = fc_metrics_add(m, "http_unavailable_total", FC_METRIC_COUNTER,
                                         "Requests answered 503: the spool took no more.");
    self->m_records =
        fc_metrics_add(m, "log_records_total", FC_METRIC_COUNTER, "OTLP log records received.");
    self->m_events = fc_metrics_add(m, "events_total", FC_METRIC_COUNTER,
                                    "Usage events handed to libfleetcost (spool, then ingest).");
    self->m_rejected = fc_metrics_add(m, "records_rejected_total", FC_METRIC_COUNTER,
                                      "API request records refused (no tenant, bad values).");
    self->m_ignored = fc_metrics_add(m, "records_ignored_total", FC_METRIC_COUNTER,
                                     "Log records that are not API requests.");
    self->m_unauthorized =
        fc_metrics_add(m, "http_unauthorized_total", FC_METRIC_COUNTER,
                       "Requests answered 401: no token, or an unknown or revoked one.");
    self->m_foreign = fc_metrics_add(m, "records_foreign_tenant_total", FC_METRIC_COUNTER,
                                     "Records refused: tenant.id named a tenant other than "
                                     "the token's (also in records_rejected_total).");

    //  ipv4_only: s_check_auth logs the peer as an IPv4 address.
    fc_http_options_t o = {.module = MODULE,
                           .bind = self->bind,
                           .port = config->port,
                           .ipv4_only = true,
                           .handler = s_handle,
                           .handler_cls = self,
                           .completed = s_completed,
                           .completed_cls = self,
                           .threads = FC_HTTP_THREAD_POOL,
                           .pool_size = S_WORKERS,
                           .max_connections = S_CONNECTIONS,
                           .timeout_s = S_TIMEOUT_S};
    self->http = fc_http_start(&o);
    if (!self->http) {
        s_free(self);
        return NULL;
    }
    fc_info(MODULE, "serving OTLP/HTTP JSON logs on http://%s:%d/v1/logs (body limit %zu bytes)",
            self->bind, fc_http_port(self->http), self->max_body);
    return self;
}

int otlp_http_port(otlp_http_t *self)
{
    return fc_http_port(self->http);
}

void otlp_http_stop(otlp_http_t **self_p)
{
    otlp_http_t *self = *self_p;
    if (!self)
        return;
    fc_http_stop(&self->http);
    s_free(self);
    *self_p = NULL;
}
