/*  fc_metrics: counters and gauges in Prometheus text format, served over HTTP
    (libmicrohttpd) on a small port of their own. Updates are lock-free atomics, so
    any thread may count. */
#ifndef FC_METRICS_H
#define FC_METRICS_H

#include <stdint.h>

#include "fc_buf.h"

typedef struct _fc_metrics_t fc_metrics_t;
typedef struct _fc_metric_t fc_metric_t;

typedef enum { FC_METRIC_COUNTER, FC_METRIC_GAUGE } fc_metric_kind_t;

fc_metrics_t *fc_metrics_new(const char *prefix);
void fc_metrics_destroy(fc_metrics_t **self_p);

//  Register a metric (before serving starts). name is appended to the prefix:
//  prefix "fleetcost_ingest", name "events_received_total". The registry owns it.
fc_metric_t *fc_metrics_add(fc_metrics_t *self, const char *name, fc_metric_kind_t kind,
                            const char *help);

void fc_metric_add(fc_metric_t *m, int64_t delta);
void fc_metric_set(fc_metric_t *m, int64_t value);
int64_t fc_metric_get(fc_metric_t *m);

//  Render every metric as Prometheus text exposition into out.
void fc_metrics_render(fc_metrics_t *self, fc_buf_t *out);

//  Serve GET /metrics on 127.0.0.1:port (or bind address) in a background thread.
//  port 0 disables. Returns 0, or -1 if the port cannot be bound.
int fc_metrics_serve(fc_metrics_t *self, const char *bind, int port);

#endif
