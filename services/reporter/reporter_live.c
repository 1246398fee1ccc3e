/*  reporter_live: summaries from the aggregator, newest per tenant. */
#include "reporter_live.h"

#include <assert.h>
#include <czmq.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "fc_curve.h"
#include "fc_log.h"
#include "fc_service.h"
#include "fc_summary.h"
#include "fc_time.h"

#define MODULE      "reporter"
#define MAX_TENANTS 100000

typedef struct {
    char day[11];       //  of the newest summary ("" until one arrives)
    int64_t day_nusd;   //  its day total
    bool closed;        //  its day had ended in the tenant's zone
    time_t at;          //  when it arrived
    bool listed;        //  in the tenant list an all-tenant total covers
    int64_t list_today; //  the tenant's local today when the list was read
} s_entry_t;

struct _reporter_live_t {
    zsock_t *sub;
    pthread_t thread;
    bool running;
    atomic_bool stop;
    pthread_mutex_t mutex;
    pthread_cond_t changed;
    zhashx_t *tenants; //  tenant -> s_entry_t
    fc_metric_t *received;
    uint64_t generation;
    int64_t listed_us;       //  monotonic time of the last tenant list (0: none yet)
    int64_t list_claimed_us; //  ... of the last reporter_live_list_due that said yes
};

static void s_apply(reporter_live_t *self, const fc_summary_t *s)
{
    pthread_mutex_lock(&self->mutex);
    s_entry_t *e = zhashx_lookup(self->tenants, s->tenant);
    if (!e && zhashx_size(self->tenants) < MAX_TENANTS) {
        e = calloc(1, sizeof *e);
        if (e)
            zhashx_insert(self->tenants, s->tenant, e);
    }
    //  A summary for an earlier day (a late event, a closed day sent again) does not
    //  replace the newest day's figure.
    if (e && strcmp(s->day, e->day) >= 0) {
        memcpy(e->day, s->day, sizeof e->day);
        e->day_nusd =
            s->day_billed_nusd; //  billed: the dashboard's headline (= list without a card)
        e->closed = s->closed;
        e->at = time(NULL);
        self->generation++;
        pthread_cond_broadcast(&self->changed);
    }
    pthread_mutex_unlock(&self->mutex);
}

static void *s_thread(void *arg)
{
    reporter_live_t *self = arg;
    while (!atomic_load(&self->stop)) {
        zmsg_t *m = zmsg_recv(self->sub); //  rcvtimeo bounds the wait
        if (!m)
            continue;
        zframe_t *topic = zmsg_first(m), *body = zmsg_next(m);
        fc_summary_t s;
        fc_proto_error_t err;
        char kind[FC_CURVE_MAX_TOPIC], tenant[FC_MAX_TENANT + 1];
        if (topic && body &&
            fc_curve_topic_parse(zframe_data(topic), zframe_size(topic), kind, tenant) == 0 &&
            fc_summary_decode(zframe_data(body), zframe_size(body), &s, &err) == FC_OK &&
            strcmp(s.tenant, tenant) == 0) {
            s_apply(self, &s);
            if (self->received)
                fc_metric_add(self->received, 1);
        }
        zmsg_destroy(&m);
    }
    return NULL;
}

static void s_free_entry(void **item)
{
    free(*item);
    *item = NULL;
}

reporter_live_t *reporter_live_new(const char *endpoints, fc_metric_t *received)
{
    reporter_live_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->received = received;
    pthread_mutex_init(&self->mutex, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&self->changed, &ca);
    pthread_condattr_destroy(&ca);
    self->tenants = zhashx_new();
    zhashx_set_destructor(self->tenants, s_free_entry);
    if (!endpoints || !*endpoints)
        return self;
    fc_curve_t *curve = fc_service_curve();
    self->sub = zsock_new(ZMQ_SUB);
    if (!self->sub || (curve && fc_curve_client(curve, self->sub) != 0)) {
        reporter_live_destroy(&self);
        return NULL;
    }
    zsock_set_rcvtimeo(self->sub, 200);
    zsock_set_maxmsgsize(self->sub, FC_SUMMARY_MAX);
    zsock_set_subscribe(self->sub, "sum.");
    char *list = strdup(endpoints), *save = NULL;
    for (char *ep = list ? strtok_r(list, ",", &save) : NULL; ep; ep = strtok_r(NULL, ",", &save))
        if (zsock_connect(self->sub, "%s", ep) != 0)
            fc_warn(MODULE, "cannot connect to %s: live totals read Postgres", ep);
    free(list);
    if (pthread_create(&self->thread, NULL, s_thread, self) != 0) {
        reporter_live_destroy(&self);
        return NULL;
    }
    self->running = true;
    fc_info(MODULE, "live totals from summaries on %s", endpoints);
    return self;
}

void reporter_live_destroy(reporter_live_t **self_p)
{
    assert(self_p);
    reporter_live_t *self = *self_p;
    if (!self)
        return;
    atomic_store(&self->stop, true);
    if (self->running)
        pthread_join(self->thread, NULL);
    zsock_destroy(&self->sub);
    zhashx_destroy(&self->tenants);
    pthread_cond_destroy(&self->changed);
    pthread_mutex_destroy(&self->mutex);
    free(self);
    *self_p = NULL;
}

bool reporter_live_get(reporter_live_t *self, const char *tenant, const char *day, int64_t *nusd,
                       int max_age_s)
{
    if (!self)
        return false;
    pthread_mutex_lock(&self->mutex);
    s_entry_t *e = zhashx_lookup(self->tenants, tenant);
    bool hit = e && strcmp(e->day, day) == 0 && time(NULL) - e->at <= max_age_s;
    if (hit)
        *nusd = e->day_nusd;
    pthread_mutex_unlock(&self->mutex);
    return hit;
}

void reporter_live_wait(reporter_live_t *self, uint64_t *seen, int ms)
{
    if (!self) {
        zclock_sleep(ms);
        return;
    }
    struct timespec until = fc_time_deadline(CLOCK_MONOTONIC, ms);
    pthread_mutex_lock(&self->mutex);
    while (self->generation == *seen &&
           pthread_cond_timedwait(&self->changed, &self->mutex, &until) == 0)
        ;
    *seen = self->generation;
    pthread_mutex_unlock(&self->mutex);
}

bool reporter_live_enabled(const reporter_live_t *self)
{
    return self && self->sub;
}

void reporter_live_list(reporter_live_t *self, const reporter_window_t *w)
{
    if (!self)
        return;
    pthread_mutex_lock(&self->mutex);
    for (s_entry_t *e = zhashx_first(self->tenants); e; e = zhashx_next(self->tenants))
        e->listed = false;
    for (size_t i = 0; i < w->n; i++) {
        s_entry_t *e = zhashx_lookup(self->tenants, w->v[i].tenant);
        if (!e && zhashx_size(self->tenants) < MAX_TENANTS) {
            e = calloc(1, sizeof *e);
            if (e)
                zhashx_insert(self->tenants, w->v[i].tenant, e);
        }
        if (e && fc_date_parse(w->v[i].today, &e->list_today) == 0)
            e->listed = true;
    }
    self->listed_us = fc_time_mono_us();
    pthread_mutex_unlock(&self->mutex);
}

bool reporter_live_list_due(reporter_live_t *self, int ms)
{
    if (!self)
        return false;
    int64_t now = fc_time_mono_us();
    pthread_mutex_lock(&self->mutex);
    bool due = !self->list_claimed_us || now - self->list_claimed_us >= (int64_t)ms * 1000;
    if (due)
        self->list_claimed_us = now;
    pthread_mutex_unlock(&self->mutex);
    return due;
}

/*  Why the figure is right or absent. The aggregator publishes every tenant's today at
    least every --republish-s (30 s), changed or not, and one message with closed set
    when a tenant's day ends; so in steady state every listed tenant has a summary
    younger than max_age_s. A tenant counts from its newest summary when that summary is
    fresh and its day is the tenant's today: the day of the list (read from Postgres
    at most a few seconds ago), or a later one when the tenant's midnight came after the
    list was read; a summary with closed set says that day is over and the next one
    has no summary yet. Anything else (no summary yet after a restart, a summary older than
    max_age_s because the aggregator stopped or is rebuilding, a day that closed with
    no summary of the next one yet, a tenant another aggregator owns that the reporter
    is not connected to) and the whole figure is refused, so the caller reads Postgres:
    a total is never the sum of part of the tenants. */
bool reporter_live_sum(reporter_live_t *self, int max_age_s, int64_t *nusd, int64_t *today_key,
                       char latest[11])
{
    if (!self || !self->sub)
        return false;
    time_t now = time(NULL);
    int64_t sum = 0, key = 0, max_today = INT64_MIN;
    pthread_mutex_lock(&self->mutex);
    bool ok = self->listed_us != 0;
    for (s_entry_t *e = ok ? zhashx_first(self->tenants) : NULL; e && ok;
         e = zhashx_next(self->tenants)) {
        if (!e->listed)
            continue;
        int64_t d;
        ok = e->day[0] && now - e->at <= max_age_s && fc_date_parse(e->day, &d) == 0 &&
             d >= e->list_today && !e->closed;
        if (ok) {
            sum += e->day_nusd;
            key += d;
            if (d > max_today)
                max_today = d;
        }
    }
    pthread_mutex_unlock(&self->mutex);
    if (!ok || max_today == INT64_MIN) //  no tenants: nothing to sum from
        return false;
    *nusd = sum;
    *today_key = key;
    fc_date_format(max_today, latest);
    return true;
}
