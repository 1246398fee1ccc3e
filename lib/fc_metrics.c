/*  fc_metrics: Prometheus counters. */
#include "fc_metrics.h"

#include <assert.h>
#include <microhttpd.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fc_http.h"

#define FC_METRICS_MAX 64

struct _fc_metric_t {
    char name[96];
    const char *help;
    fc_metric_kind_t kind;
    atomic_llong value;
};

struct _fc_metrics_t {
    char prefix[64];
    fc_metric_t metrics[FC_METRICS_MAX];
    int count;
    fc_http_t *http;
};

fc_metrics_t *fc_metrics_new(const char *prefix)
{
    fc_metrics_t *self = calloc(1, sizeof *self);
    if (self)
        snprintf(self->prefix, sizeof self->prefix, "%s", prefix);
    return self;
}

void fc_metrics_destroy(fc_metrics_t **self_p)
{
    assert(self_p);
    fc_metrics_t *self = *self_p;
    if (!self)
        return;
    fc_http_stop(&self->http);
    free(self);
    *self_p = NULL;
}

fc_metric_t *fc_metrics_add(fc_metrics_t *self, const char *name, fc_metric_kind_t kind,
                            const char *help)
{
    assert(self->count < FC_METRICS_MAX);
    fc_metric_t *m = &self->metrics[self->count++];
    char full[sizeof m->name];
    snprintf(full, sizeof full, "%s_%s", self->prefix, name);
    memcpy(m->name, full, sizeof full);
    m->help = help;
    m->kind = kind;
    atomic_init(&m->value, 0);
    return m;
}

void fc_metric_add(fc_metric_t *m, int64_t delta)
{
    atomic_fetch_add(&m->value, delta);
}

void fc_metric_set(fc_metric_t *m, int64_t value)
{
    atomic_store(&m->value, value);
}

int64_t fc_metric_get(fc_metric_t *m)
{
    return atomic_load(&m->value);
}

void fc_metrics_render(fc_metrics_t *self, fc_buf_t *out)
{
    for (int i = 0; i < self->count; i++) {
        fc_metric_t *m = &self->metrics[i];
        fc_buf_addf(out, "# HELP %s %s\n# TYPE %s %s\n%s %lld\n", m->name, m->help, m->name,
                    m->kind == FC_METRIC_COUNTER ? "counter" : "gauge", m->name,
                    (long long)atomic_load(&m->value));
    }
}

static enum MHD_Result s_handle(void *cls, struct MHD_Connection *conn, const char *url,
                                const char *method, const char *version, const char *upload,
                                size_t *upload_size, void **state)
{
    fc_metrics_t *self = cls;
    struct MHD_Response *resp;
    unsigned status;
    fc_buf_t body;
    fc_buf_init(&body);
    if (strcmp(method, "GET") != 0) {
        fc_buf_add_str(&body, "method not allowed\n");
        status = MHD_HTTP_METHOD_NOT_ALLOWED;
    } else if (strcmp(url, "/metrics") == 0) {
        fc_metrics_render(self, &body);
        status = MHD_HTTP_OK;
    } else if (strcmp(url, "/healthz") == 0) {
        fc_buf_add_str(&body, "ok\n");
        status = MHD_HTTP_OK;
    } else {
        fc_buf_add_str(&body, "not found\n");
        status = MHD_HTTP_NOT_FOUND;
    }
    if (body.failed) {
        fc_buf_free(&body);
        return MHD_NO;
    }
    resp = MHD_create_response_from_buffer(body.len, body.data, MHD_RESPMEM_MUST_COPY);
    fc_buf_free(&body);
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, "Content-Type", "text/plain; version=0.0.4");
    enum MHD_Result rc = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return rc;
}

int fc_metrics_serve(fc_metrics_t *self, const char *bind, int port)
{
    if (port <= 0)
        return 0;
    //  A scrape is small and rare: one polling thread, a few connections, a short timeout.
    fc_http_options_t o = {.module = "metrics",
                           .bind = bind,
                           .port = port,
                           .handler = s_handle,
                           .handler_cls = self,
                           .threads = FC_HTTP_ONE_THREAD,
                           .max_connections = 32,
                           .timeout_s = 10};
    self->http = fc_http_start(&o);
    return self->http ? 0 : -1;
}
