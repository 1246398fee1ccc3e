/*  alerter_deliver: sends alert notices (webhook and e-mail) from cost_alerts.

    A thread of its own with its own Postgres connection and one libcurl multi handle.
    It claims due rows (delivery_status pending/retry, or a 'sending' row whose lease
    ran out because its sender died) with FOR UPDATE SKIP LOCKED, pushing the row's
    delivery_next_at a lease ahead, then runs every destination of every claimed notice
    concurrently in the multi handle: a slow or failing endpoint holds only its own
    transfer, never another tenant's. Each attempt has a timeout; a notice whose
    destinations did not all succeed is retried with exponential backoff (only to the
    destinations that failed, kept in delivery_done) until max_attempts, then marked
    failed with the last error. The result is written back on the row.

    Destinations: the tenant's webhook_url and email (tenants table) and the operator's
    webhook and address (configuration). 'unpriced' alerts are operator business and go
    to the operator only.

    Delivery is at least once: a sender killed between a POST and the write-back sends
    the notice again. Every notice therefore carries an idempotency key
    (alerter_notice_key) in an Idempotency-Key header, in the JSON body and in the
    e-mail's Message-ID, so receivers can drop the repeat. */
#ifndef ALERTER_DELIVER_H
#define ALERTER_DELIVER_H

#include <stddef.h>
#include <stdint.h>

#include "fc_buf.h"
#include "fc_escape.h"
#include "fc_metrics.h"

typedef struct {
    const char *pg_url;
    const char *smtp_url;  //  smtp://host:port ("" = no e-mail)
    const char *smtp_from; //  envelope and header sender
    const char *operator_webhook, *operator_email;
    const char *report_url; //  base URL of the reporter, for "where to see the report"
    int attempt_timeout_ms; //  one HTTP request or SMTP session
    int max_attempts;
    int retry_base_ms, retry_max_ms; //  backoff: base * 2^(attempt-1), capped
    int max_inflight;                //  notices in flight at once
    fc_metrics_t *metrics;           //  the delivery counters are registered here (not owned)
    fc_metric_t *pg_errors;          //  Postgres failures, shared with the caller (not owned)
} alerter_deliver_config_t;

typedef struct _alerter_deliver_t alerter_deliver_t;

//  Starts the delivery thread (copies the configuration). NULL on failure.
alerter_deliver_t *alerter_deliver_new(const alerter_deliver_config_t *config);

//  Tells the thread that new notices are due (thread-safe, cheap). Without a wake it
//  still looks for due rows every 250 ms, so retries and other replicas' rows move.
void alerter_deliver_wake(alerter_deliver_t *self);

//  Stops the thread: transfers in flight are abandoned and their notices put back as
//  due, so the next start (or another replica) sends them. NULLs the pointer.
void alerter_deliver_destroy(alerter_deliver_t **self_p);

//  The idempotency key of the notice of alert id in state ("fired" / "resolved") taken
//  at ts_us (its fired_at / resolved_at): "fleetcost-alert-<id>-<state>-<ts_us>". The
//  same on every attempt, after a restart and from any replica; different for the
//  fired and the resolved notice, and for a later firing of the same row (a crossing
//  after a raised budget reuses it). Into buf (ALERTER_KEY_MAX fits any).
#define ALERTER_KEY_MAX 96
void alerter_notice_key(int64_t id, const char *state, int64_t ts_us, char *buf, size_t size);

#endif
