/*  alerter_deliver: webhook and e-mail delivery (see alerter_deliver.h). */
#include "alerter_deliver.h"

#include <assert.h>
#include <curl/curl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alerter_rules.h"
#include "fc_json_write.h"
#include "fc_log.h"
#include "fc_money.h"
#include "fc_pg.h"
#include "fc_time.h"

#define MODULE "alerter"

//  How often the thread looks for due rows when nobody woke it.
#define S_IDLE_POLL_MS 250
//  How often it counts the undelivered notices for the pending gauge.
#define S_PENDING_POLL_MS 1000

enum { D_WEBHOOK, D_EMAIL, D_OP_WEBHOOK, D_OP_EMAIL, D_COUNT };
static const char *const s_dest_names[D_COUNT] = {"webhook", "email", "operator-webhook",
                                                  "operator-email"};

typedef struct s_job s_job_t;

typedef struct {
    s_job_t *job;
    int dest;
    CURL *h;
    struct curl_slist *headers, *rcpt;
    fc_buf_t body;
    size_t off; //  bytes of body already handed to libcurl (SMTP upload)
    char errbuf[CURL_ERROR_SIZE];
} s_xfer_t;

//  One claimed notice: the cost_alerts row and its transfers.
struct s_job {
    char tenant[64], kind[16], scope[16], period[32], subject[128], state[16];
    char webhook[2048], email[320], tz[64];
    char key[ALERTER_KEY_MAX]; //  alerter_notice_key
    char *text;
    int64_t id, value, budget, ts_us;
    bool has_value, has_budget;
    int threshold, attempts;
    unsigned done, needed, ok; //  destination masks
    int running;               //  transfers in flight
    char error[512];
    s_xfer_t x[D_COUNT];
    s_job_t *next;
};

struct _alerter_deliver_t {
    alerter_deliver_config_t c;
    char *strings[6]; //  owned copies of the configuration strings
    PGconn *pg;
    CURLM *multi;
    pthread_t thread;
    atomic_bool stop, woken;
    s_job_t *jobs;
    int njobs;
    int64_t next_poll_us, next_pending_us;
    fc_metric_t *m_delivered, *m_failures, *m_retries, *m_pending;
};

void alerter_notice_key(int64_t id, const char *state, int64_t ts_us, char *buf, size_t size)
{
    snprintf(buf, size, "fleetcost-alert-%" PRId64 "-%s-%" PRId64, id, state, ts_us);
}

static void s_usd(int64_t nusd, char *buf, size_t size)
{
    buf[0] = '$';
    fc_money_format(nusd, buf + 1, size - 1, 2);
}

static void s_report_link(alerter_deliver_t *self, const s_job_t *j, char *buf, size_t size)
{
    snprintf(buf, size, "%s?tenant=%s&period=%s", self->c.report_url, j->tenant,
             strcmp(j->kind, "no_data") == 0 ? "" : j->period);
}

//  Slack-compatible JSON: "text" for chat tools, "alert" with the structured fields.
static void s_webhook_body(alerter_deliver_t *self, const s_job_t *j, fc_buf_t *b)
{
    char ts[32], usd[32], link[1024], pct[32];
    fc_time_format(j->ts_us, 0, ts, sizeof ts);
    s_report_link(self, j, link, sizeof link);
    //  "text" is read by people in Slack-compatible chat: escaped for Slack's mrkdwn first
    //  (a tenant's agent id must not @channel or link), then for JSON. The structured
    //  fields under "alert" are for programs and carry the values as they are.
    fc_buf_t text;
    fc_buf_init(&text);
    fc_esc_slack(&text, j->text);
    fc_buf_add(&text, "", 1);
    fc_jw_t w;
    fc_jw_init(&w, b);
    fc_jw_object(&w, NULL);
    fc_jw_str(&w, "text", text.failed ? "" : (const char *)text.data);
    if (text.failed)
        b->failed = 1;
    fc_buf_free(&text);
    fc_jw_object(&w, "alert");
    fc_jw_int(&w, "id", j->id);
    fc_jw_str(&w, "idempotency_key", j->key);
    fc_jw_str(&w, "tenant", j->tenant);
    fc_jw_str(&w, "kind", j->kind);
    fc_jw_str(&w, "scope", j->scope);
    fc_jw_str(&w, "period", j->period);
    fc_jw_str(&w, "subject", j->subject);
    fc_jw_int(&w, "threshold_pct", j->threshold);
    fc_jw_str(&w, "state", j->state);
    fc_jw_str(&w, "ts", ts);
    if (j->has_value) {
        s_usd(j->value, usd, sizeof usd);
        fc_jw_int(&w, "value_nusd", j->value);
        fc_jw_str(&w, "value_usd", usd);
    }
    if (j->has_budget) {
        s_usd(j->budget, usd, sizeof usd);
        fc_jw_int(&w, "budget_nusd", j->budget);
        fc_jw_str(&w, "budget_usd", usd);
    }
    if (j->has_value && j->has_budget && j->budget > 0) {
        alerter_percent_format(alerter_permille(j->value, j->budget), pct, sizeof pct);
        fc_jw_str(&w, "percent", pct);
    }
    fc_jw_str(&w, "report_url", link);
    fc_jw_end(&w);
    fc_jw_end(&w);
}

//  Appends "  name  $cost" lines of a breakdown query (name, cost) to the mail body.
static void s_breakdown(alerter_deliver_t *self, const s_job_t *j, fc_buf_t *b, const char *title,
                        const char *sql)
{
    const char *p[] = {j->tenant, j->period};
    PGresult *r = fc_pg_query(self->pg, MODULE, title, sql, 2, p);
    if (!r) {
        fc_metric_add(self->c.pg_errors, 1);
        fc_buf_addf(b, "\r\n%s: not available (database error)\r\n", title);
        return;
    }
    fc_buf_addf(b, "\r\n%s:\r\n", title);
    if (PQntuples(r) == 0)
        fc_buf_add_str(b, "  (none)\r\n");
    for (int i = 0; i < PQntuples(r); i++) {
        char usd[32];
        s_usd(fc_pg_int(r, i, 1), usd, sizeof usd);
        char name[256];
        fc_esc_text(PQgetvalue(r, i, 0), name, sizeof name);
        fc_buf_addf(b, "  %-40.40s %14s\r\n", name, usd);
    }
    PQclear(r);
}

//  The events of the period of key $2 ("YYYY-MM-DD" a day, "YYYY-MM" a month) of tenant
//  $1, in its zone, for the two breakdown queries: the period as a window of local days
//  (fc_spend_windows), its instants (fc_local_start) and its events (fc_window_events),
//  all from the one home of period spend (migrations 0017, 0018). List cost, as always.
#define S_PERIOD_CTE                                                                               \
    "WITH b AS (SELECT CASE WHEN length($2) = 7 THEN ($2 || '-01')::date ELSE $2::date END AS d0," \
    "              CASE WHEN length($2) = 7 THEN (($2 || '-01')::date + interval '1 month')::date" \
    "                   ELSE $2::date + 1 END AS d1),"                                             \
    " w AS (SELECT v.lo, v.hi, fc_local_start(v.lo, v.tz) AS t0,"                                  \
    "              fc_local_start(v.hi + 1, v.tz) AS t1"                                           \
    "         FROM b, fc_spend_windows(ARRAY[$1], ARRAY[b.d0], ARRAY[b.d1 - 1]) v) "
#define S_PERIOD_EVENTS                                                                            \
    " FROM w CROSS JOIN LATERAL"                                                                   \
    " fc_window_events(ARRAY[$1], ARRAY[w.lo], ARRAY[w.hi], w.t0, w.t1) e"

//  Plain text an operator would want: what, how much, where it went, where to look.
static void s_email_body(alerter_deliver_t *self, const s_job_t *j, const char *to, fc_buf_t *b)
{
    char date[64], subject[256], link[1024], from[640], rcpt[640];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &tm);
    //  Every header and body line is built from escaped text: a CR or LF from a tenant
    //  (in a task title, an agent id) must not add a header or a forged body part.
    char period[2 * sizeof j->period], subj[2 * sizeof j->subject];
    fc_esc_text(j->period, period, sizeof period);
    fc_esc_text(j->subject, subj, sizeof subj);
    snprintf(subject, sizeof subject, "[fleetcost] %s%s: %s %s%s%s", j->tenant,
             strcmp(j->state, "resolved") == 0 ? " RESOLVED" : "", j->kind, j->scope,
             j->threshold ? " " : "", "");
    if (j->threshold)
        snprintf(subject + strlen(subject), sizeof subject - strlen(subject), "%d%%", j->threshold);
    snprintf(subject + strlen(subject), sizeof subject - strlen(subject), " %s", period);
    s_report_link(self, j, link, sizeof link);
    fc_buf_addf(b,
                "Date: %s\r\nFrom: %s\r\nTo: %s\r\nSubject: %s\r\n"
                "Message-ID: <%s@fleetcost>\r\n"
                "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n",
                date, fc_esc_text(self->c.smtp_from, from, sizeof from),
                fc_esc_text(to, rcpt, sizeof rcpt), subject, j->key);
    fc_esc_text_buf(b, j->text);
    fc_buf_add_str(b, "\r\n\r\n");
    char ts[32], usd[32], pct[32];
    fc_time_format(j->ts_us, 0, ts, sizeof ts);
    fc_buf_addf(b, "Tenant:     %s\r\n", j->tenant);
    fc_buf_addf(b, "Alert:      %s (%s %s)%s%s\r\n", j->kind, j->scope, period,
                j->subject[0] ? ", " : "", subj);
    fc_buf_addf(b, "State:      %s at %s\r\n", j->state, ts);
    if (j->threshold)
        fc_buf_addf(b, "Threshold:  %d%%\r\n", j->threshold);
    if (j->has_value) {
        s_usd(j->value, usd, sizeof usd);
        fc_buf_addf(b, "%s %s\r\n",
                    strcmp(j->kind, "forecast") == 0 ? "Projected: " : "Current:   ", usd);
    }
    if (j->has_budget) {
        s_usd(j->budget, usd, sizeof usd);
        fc_buf_addf(b, "Budget:     %s\r\n", usd);
    }
    if (j->has_value && j->has_budget && j->budget > 0) {
        alerter_percent_format(alerter_permille(j->value, j->budget), pct, sizeof pct);
        fc_buf_addf(b, "Percent:    %s\r\n", pct);
    }
    if (strcmp(j->kind, "no_data") != 0) {
        s_breakdown(self, j, b, "Cost by agent type",
                    S_PERIOD_CTE
                    "SELECT coalesce(e.agent_type, '(none)'), sum(e.cost_nusd)" S_PERIOD_EVENTS
                    " GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 10");
        s_breakdown(self, j, b, "Top tasks",
                    S_PERIOD_CTE
                    "SELECT coalesce(e.task_id || coalesce(' ' || t.title, ''), '(no task)'),"
                    " sum(e.cost_nusd)" S_PERIOD_EVENTS
                    " LEFT JOIN tasks t ON t.tenant_id = e.tenant_id AND t.task_id = e.task_id"
                    " GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 5");
    }
    fc_buf_addf(b, "\r\nReport: %s\r\n", link);
    fc_buf_addf(b, "Alerts: fleetcost alerts --tenant %s\r\n", j->tenant);
}

static size_t s_read(char *buf, size_t size, size_t nitems, void *arg)
{
    s_xfer_t *x = arg;
    size_t n = x->body.len - x->off;
    if (n > size * nitems)
        n = size * nitems;
    memcpy(buf, x->body.data + x->off, n);
    x->off += n;
    return n;
}

static size_t s_discard(char *buf, size_t size, size_t nitems, void *arg)
{
    return size * nitems;
}

//  Starts one destination of a job. false if it cannot even be set up.
static bool s_start(alerter_deliver_t *self, s_job_t *j, int d)
{
    s_xfer_t *x = &j->x[d];
    memset(x, 0, sizeof *x);
    x->job = j;
    x->dest = d;
    fc_buf_init(&x->body);
    x->h = curl_easy_init();
    if (!x->h)
        return false;
    CURL *h = x->h;
    curl_easy_setopt(h, CURLOPT_PRIVATE, x);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, x->errbuf);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)self->c.attempt_timeout_ms);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)self->c.attempt_timeout_ms);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, s_discard);
    if (d == D_WEBHOOK || d == D_OP_WEBHOOK) {
        char key[sizeof j->key + 32];
        snprintf(key, sizeof key, "Idempotency-Key: %s", j->key);
        s_webhook_body(self, j, &x->body);
        x->headers = curl_slist_append(NULL, "Content-Type: application/json");
        struct curl_slist *both = x->headers ? curl_slist_append(x->headers, key) : NULL;
        if (!both)
            return false; //  s_xfer_free frees what there is
        curl_easy_setopt(h, CURLOPT_URL, d == D_WEBHOOK ? j->webhook : self->c.operator_webhook);
        curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, x->headers);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, (const char *)x->body.data);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)x->body.len);
    } else {
        const char *to = d == D_EMAIL ? j->email : self->c.operator_email;
        s_email_body(self, j, to, &x->body);
        x->rcpt = curl_slist_append(NULL, to);
        curl_easy_setopt(h, CURLOPT_URL, self->c.smtp_url);
        curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
        curl_easy_setopt(h, CURLOPT_MAIL_FROM, self->c.smtp_from);
        curl_easy_setopt(h, CURLOPT_MAIL_RCPT, x->rcpt);
        curl_easy_setopt(h, CURLOPT_READFUNCTION, s_read);
        curl_easy_setopt(h, CURLOPT_READDATA, x);
        curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
    }
    if (x->body.failed || curl_multi_add_handle(self->multi, h) != CURLM_OK)
        return false;
    j->running++;
    return true;
}

static void s_xfer_free(alerter_deliver_t *self, s_xfer_t *x)
{
    if (x->h) {
        curl_multi_remove_handle(self->multi, x->h);
        curl_easy_cleanup(x->h);
        x->h = NULL;
    }
    curl_slist_free_all(x->headers);
    curl_slist_free_all(x->rcpt);
    x->headers = x->rcpt = NULL;
    fc_buf_free(&x->body);
}

static void s_job_free(alerter_deliver_t *self, s_job_t *j)
{
    for (int d = 0; d < D_COUNT; d++)
        s_xfer_free(self, &j->x[d]);
    free(j->text);
    free(j);
}

//  Writes a job's outcome back to its row and forgets the job. The WHERE clause makes
//  the write a no-op when the alert changed state meanwhile (a resolve queued a new
//  notice, which starts again from attempt 0).
static void s_finish(alerter_deliver_t *self, s_job_t *j, bool interrupted)
{
    unsigned done = j->done | j->ok;
    const char *status;
    int64_t delay_ms = 0;
    if ((j->needed & ~done) == 0)
        status = j->needed ? "delivered" : "none";
    else if (interrupted)
        status = "retry";
    else if (j->attempts >= self->c.max_attempts)
        status = "failed";
    else {
        status = "retry";
        delay_ms = self->c.retry_base_ms;
        for (int i = 1; i < j->attempts && delay_ms < self->c.retry_max_ms; i++)
            delay_ms *= 2;
        if (delay_ms > self->c.retry_max_ms)
            delay_ms = self->c.retry_max_ms;
    }
    char done_arr[128] = "{", delay[32], id[32], attempts[16];
    for (int d = 0; d < D_COUNT; d++)
        if (done & (1u << d))
            snprintf(done_arr + strlen(done_arr), sizeof done_arr - strlen(done_arr), "%s%s",
                     done_arr[1] ? "," : "", s_dest_names[d]);
    strcat(done_arr, "}");
    snprintf(delay, sizeof delay, "%" PRId64, delay_ms);
    snprintf(id, sizeof id, "%" PRId64, j->id);
    snprintf(attempts, sizeof attempts, "%d", j->attempts);
    const char *p[] = {j->tenant, id,       done_arr, status, j->error[0] ? j->error : NULL,
                       delay,     attempts, j->state};
    PGresult *r = fc_pg_query(
        self->pg, MODULE, "delivery result",
        "UPDATE cost_alerts SET delivery_done = $3::text[], delivery_status = $4,"
        " delivery_error = $5, delivery_next_at = now() + $6::bigint * interval '1 millisecond',"
        " delivered_at = CASE WHEN $4 = 'delivered' THEN now() END"
        " WHERE tenant_id = $1 AND alert_id = $2::bigint AND delivery_status = 'sending'"
        " AND delivery_attempts = $7::int AND state = $8",
        8, p);
    if (!r)
        fc_metric_add(self->c.pg_errors, 1);
    PQclear(r);
    //  Counted per destination, like deliveries: those still owed the notice.
    int owed = __builtin_popcount(j->needed & ~done);
    if (strcmp(status, "failed") == 0)
        fc_metric_add(self->m_failures, owed);
    else if (!interrupted && strcmp(status, "retry") == 0)
        fc_metric_add(self->m_retries, owed);
    if (strcmp(status, "delivered") == 0)
        fc_info(MODULE, "alert %s/%" PRId64 " (%s %s) delivered after %d attempt%s", j->tenant,
                j->id, j->kind, j->state, j->attempts, j->attempts == 1 ? "" : "s");
    else if (strcmp(status, "failed") == 0)
        fc_warn(MODULE, "alert %s/%" PRId64 " undeliverable after %d attempts: %s; giving up",
                j->tenant, j->id, j->attempts, j->error);
    else if (!interrupted && strcmp(status, "retry") == 0)
        fc_warn(MODULE, "alert %s/%" PRId64 " attempt %d failed: %s; retrying in %" PRId64 " ms",
                j->tenant, j->id, j->attempts, j->error, delay_ms);
    s_job_t **pp = &self->jobs;
    while (*pp != j)
        pp = &(*pp)->next;
    *pp = j->next;
    self->njobs--;
    s_job_free(self, j);
}

static unsigned s_done_mask(const char *list)
{
    unsigned m = 0;
    for (int d = 0; d < D_COUNT; d++) {
        const char *p = strstr(list, s_dest_names[d]);
        //  "webhook" is a suffix of "operator-webhook": match whole items only.
        while (p && ((p != list && p[-1] != ',') ||
                     (p[strlen(s_dest_names[d])] != 0 && p[strlen(s_dest_names[d])] != ',')))
            p = strstr(p + 1, s_dest_names[d]);
        if (p)
            m |= 1u << d;
    }
    return m;
}

//  Claims due notices (at most the free in-flight slots) and starts their transfers.
static void s_claim(alerter_deliver_t *self)
{
    int free_slots = self->c.max_inflight - self->njobs;
    if (free_slots <= 0)
        return;
    char limit[16], lease[32];
    snprintf(limit, sizeof limit, "%d", free_slots);
    //  The lease outlives every transfer of an attempt, so a live sender's row is never
    //  claimed twice; a dead sender's row comes due again when it runs out.
    snprintf(lease, sizeof lease, "%d", 2 * self->c.attempt_timeout_ms + 10000);
    const char *p[] = {limit, lease};
    PGresult *r = fc_pg_query(
        self->pg, MODULE, "claim notices",
        "WITH c AS (SELECT tenant_id, alert_id FROM cost_alerts"
        "  WHERE delivery_status IN ('pending', 'retry', 'sending') AND delivery_next_at <= now()"
        "  ORDER BY delivery_next_at LIMIT $1::int FOR UPDATE SKIP LOCKED)"
        " UPDATE cost_alerts a SET delivery_status = 'sending',"
        " delivery_attempts = a.delivery_attempts + 1,"
        " delivery_next_at = now() + $2::bigint * interval '1 millisecond'"
        " FROM c WHERE a.tenant_id = c.tenant_id AND a.alert_id = c.alert_id"
        " RETURNING a.tenant_id, a.alert_id, a.kind, a.scope, a.period_key, a.subject,"
        " a.threshold_pct, a.value_nusd, a.budget_nusd, a.state, coalesce(a.text, ''),"
        " a.delivery_attempts, array_to_string(a.delivery_done, ','),"
        " (extract(epoch FROM coalesce(a.resolved_at, a.fired_at)) * 1000000)::bigint,"
        " coalesce((SELECT webhook_url FROM tenants t WHERE t.tenant_id = a.tenant_id), ''),"
        " coalesce((SELECT email FROM tenants t WHERE t.tenant_id = a.tenant_id), '')",
        2, p);
    if (!r) {
        fc_metric_add(self->c.pg_errors, 1);
        return;
    }
    for (int i = 0; i < PQntuples(r); i++) {
        s_job_t *j = calloc(1, sizeof *j);
        if (!j || !(j->text = strdup(PQgetvalue(r, i, 10)))) {
            free(j);
            break; //  the rows come due again when their lease runs out
        }
        snprintf(j->tenant, sizeof j->tenant, "%s", PQgetvalue(r, i, 0));
        j->id = fc_pg_int(r, i, 1);
        snprintf(j->kind, sizeof j->kind, "%s", PQgetvalue(r, i, 2));
        snprintf(j->scope, sizeof j->scope, "%s", PQgetvalue(r, i, 3));
        snprintf(j->period, sizeof j->period, "%s", PQgetvalue(r, i, 4));
        snprintf(j->subject, sizeof j->subject, "%s", PQgetvalue(r, i, 5));
        j->threshold = (int)fc_pg_int(r, i, 6);
        j->has_value = !PQgetisnull(r, i, 7);
        j->value = fc_pg_int(r, i, 7);
        j->has_budget = !PQgetisnull(r, i, 8);
        j->budget = fc_pg_int(r, i, 8);
        snprintf(j->state, sizeof j->state, "%s", PQgetvalue(r, i, 9));
        j->attempts = (int)fc_pg_int(r, i, 11);
        j->done = s_done_mask(PQgetvalue(r, i, 12));
        j->ts_us = fc_pg_int(r, i, 13);
        snprintf(j->webhook, sizeof j->webhook, "%s", PQgetvalue(r, i, 14));
        snprintf(j->email, sizeof j->email, "%s", PQgetvalue(r, i, 15));
        alerter_notice_key(j->id, j->state, j->ts_us, j->key, sizeof j->key);
        bool operator_only = strcmp(j->kind, "unpriced") == 0 || strcmp(j->kind, "reconcile") == 0;
        bool mail = self->c.smtp_url[0] != 0;
        if (j->webhook[0] && !operator_only)
            j->needed |= 1u << D_WEBHOOK;
        if (j->email[0] && mail && !operator_only)
            j->needed |= 1u << D_EMAIL;
        if (self->c.operator_webhook[0])
            j->needed |= 1u << D_OP_WEBHOOK;
        if (self->c.operator_email[0] && mail)
            j->needed |= 1u << D_OP_EMAIL;
        j->next = self->jobs;
        self->jobs = j;
        self->njobs++;
        for (int d = 0; d < D_COUNT; d++)
            if ((j->needed & ~j->done) & (1u << d) && !s_start(self, j, d))
                snprintf(j->error, sizeof j->error, "%s: cannot start the transfer",
                         s_dest_names[d]);
        if (j->running == 0)
            s_finish(self, j, false);
    }
    PQclear(r);
}

//  Collects finished transfers; a job whose last transfer finished is written back.
static void s_reap(alerter_deliver_t *self)
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(self->multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        s_xfer_t *x = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
        s_job_t *j = x->job;
        long code = 0;
        curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &code);
        bool http = x->dest == D_WEBHOOK || x->dest == D_OP_WEBHOOK;
        if (m->data.result == CURLE_OK && (!http || (code >= 200 && code < 300))) {
            j->ok |= 1u << x->dest;
            fc_metric_add(self->m_delivered, 1);
        } else if (m->data.result == CURLE_OK)
            snprintf(j->error, sizeof j->error, "%s: HTTP %ld", s_dest_names[x->dest], code);
        else
            snprintf(j->error, sizeof j->error, "%s: %s", s_dest_names[x->dest],
                     x->errbuf[0] ? x->errbuf : curl_easy_strerror(m->data.result));
        s_xfer_free(self, x);
        if (--j->running == 0)
            s_finish(self, j, false);
    }
}

//  Sets the pending gauge: notices of every sender not yet delivered or given up on.
static void s_count_pending(alerter_deliver_t *self)
{
    PGresult *r = fc_pg_query(self->pg, MODULE, "pending notices",
                              "SELECT count(*) FROM cost_alerts"
                              " WHERE delivery_status IN ('pending', 'retry', 'sending')",
                              0, NULL);
    if (!r) {
        fc_metric_add(self->c.pg_errors, 1);
        return;
    }
    fc_metric_set(self->m_pending, fc_pg_int(r, 0, 0));
    PQclear(r);
}

static void *s_thread(void *arg)
{
    alerter_deliver_t *self = arg;
    while (!atomic_load(&self->stop)) {
        if (!self->pg || PQstatus(self->pg) != CONNECTION_OK) {
            if (self->pg)
                PQfinish(self->pg);
            self->pg = fc_pg_connect(self->c.pg_url, MODULE);
            if (!self->pg)
                fc_metric_add(self->c.pg_errors, 1);
        }
        int64_t now = fc_time_mono_us();
        if (self->pg && (atomic_exchange(&self->woken, false) || now >= self->next_poll_us)) {
            self->next_poll_us = now + S_IDLE_POLL_MS * 1000;
            s_claim(self);
        }
        if (self->pg && now >= self->next_pending_us) {
            self->next_pending_us = now + S_PENDING_POLL_MS * 1000;
            s_count_pending(self);
        }
        int running;
        curl_multi_perform(self->multi, &running);
        s_reap(self);
        curl_multi_poll(self->multi, NULL, 0, S_IDLE_POLL_MS, NULL);
    }
    //  Put what is in flight back as due: another start or replica sends it.
    while (self->jobs) {
        s_job_t *j = self->jobs;
        snprintf(j->error, sizeof j->error, "interrupted by shutdown");
        if (self->pg)
            s_finish(self, j, true);
        else {
            self->jobs = j->next;
            s_job_free(self, j);
        }
    }
    return NULL;
}

static char *s_own(alerter_deliver_t *self, int i, const char *s)
{
    self->strings[i] = strdup(s ? s : "");
    return self->strings[i];
}

alerter_deliver_t *alerter_deliver_new(const alerter_deliver_config_t *config)
{
    assert(config->metrics && config->pg_errors);
    alerter_deliver_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->c = *config;
    fc_metrics_t *m = config->metrics;
    self->m_delivered = fc_metrics_add(m, "notifications_delivered_total", FC_METRIC_COUNTER,
                                       "notices a destination accepted (webhook 2xx, SMTP sent)");
    self->m_retries = fc_metrics_add(m, "notification_retries_total", FC_METRIC_COUNTER,
                                     "failed attempts at a destination, retried later");
    self->m_failures = fc_metrics_add(m, "notification_failures_total", FC_METRIC_COUNTER,
                                      "destinations given up on after --max-attempts");
    self->m_pending = fc_metrics_add(m, "notifications_pending", FC_METRIC_GAUGE,
                                     "notices not yet delivered or failed (every replica's)");
    self->c.pg_url = s_own(self, 0, config->pg_url);
    self->c.smtp_url = s_own(self, 1, config->smtp_url);
    self->c.smtp_from = s_own(self, 2, config->smtp_from);
    self->c.operator_webhook = s_own(self, 3, config->operator_webhook);
    self->c.operator_email = s_own(self, 4, config->operator_email);
    self->c.report_url = s_own(self, 5, config->report_url);
    for (int i = 0; i < 6; i++)
        if (!self->strings[i])
            goto fail;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    self->multi = curl_multi_init();
    if (!self->multi || pthread_create(&self->thread, NULL, s_thread, self) != 0)
        goto fail;
    return self;
fail:
    fc_error(MODULE, "cannot start the delivery thread");
    if (self->multi)
        curl_multi_cleanup(self->multi);
    for (int i = 0; i < 6; i++)
        free(self->strings[i]);
    free(self);
    return NULL;
}

void alerter_deliver_wake(alerter_deliver_t *self)
{
    atomic_store(&self->woken, true);
    curl_multi_wakeup(self->multi);
}

void alerter_deliver_destroy(alerter_deliver_t **self_p)
{
    alerter_deliver_t *self = *self_p;
    if (!self)
        return;
    atomic_store(&self->stop, true);
    curl_multi_wakeup(self->multi);
    pthread_join(self->thread, NULL);
    curl_multi_cleanup(self->multi);
    if (self->pg)
        PQfinish(self->pg);
    for (int i = 0; i < 6; i++)
        free(self->strings[i]);
    free(self);
    *self_p = NULL;
}
