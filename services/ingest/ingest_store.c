/*  ingest_store: one transaction per group of events. See ingest_store.h. */
#include "ingest_store.h"

#include <assert.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fc_buf.h"
#include "fc_hash.h"
#include "fc_log.h"
#include "fc_pg.h"
#include "fc_price_pg.h"
#include "fc_rate_pg.h"
#include "fc_time.h"
#include "ingest_publish.h"

#define MODULE "ingest"

//  Microseconds between the Unix epoch and Postgres' epoch (2000-01-01).
#define PG_EPOCH_US INT64_C(946684800000000)
//  How often the price catalog and the rate cards are reloaded, so `fleetcost price set`
//  and `fleetcost rate set` take effect (docs/RECONCILE.md §4.5: the window this leaves).
#define CATALOG_RELOAD_US INT64_C(10000000)
#define MAX_TENANT_CACHE  65536
#define MAX_DAY_CACHE     4096
//  How long a written group waits, holding its transaction open, for the groups before
//  it to commit. Past that it rolls back and waits without locks (see s_wait_commit).
#define COMMIT_WAIT_MS 1000

/*  Seqs with several writers (PROTOCOL.md §11). Groups are numbered in the order the
    server hands them out (tickets). Each group reserves its seqs, in ticket order and
    before its transaction begins, as a range (base, end] sized for every event it was
    given (an upper bound: dedup, refusals and tenant checks only remove events), so a
    group's seqs are fixed whatever the other writers do and however often it retries.
    Commits happen in ticket order too: a group whose COPY is done waits until every
    group before it committed (or gave up at shutdown), then writes ingest_state and
    commits. Hence:
    - what Postgres holds, and what ingest_state says, is always a prefix of the
      reservations: ingest_state.last_seq is the end of the last committed reservation,
      it only grows, and no committed seq is above it, so a restart (which continues
      from it) never reuses a committed seq;
    - events become visible in seq order, so a subscriber catching up from Postgres
      (`seq > last`) never reads a seq before a smaller one is committed, which it would
      then skip;
    - seqs a group reserved and did not use (its events were duplicates or refused), or
      that a crash left uncommitted, are never published nor stored: a jump in the
      stream, which subscribers already expect (§11 "Gaps and catch-up"). A restart may
      hand out again seqs that no commit used; no one has seen them.
    The server publishes in ticket order as well, and heartbeats carry the end of the
    last group published. */
struct _ingest_seqs_t {
    pthread_mutex_t mutex;
    pthread_cond_t changed;
    bool started, give_up;
    uint64_t epoch, base;               //  the run: fixed at start; base = last_seq as first read
    uint64_t next;                      //  the last seq reserved (the next group's base)
    uint64_t reserve_turn, commit_turn; //  the ticket allowed to reserve / to commit
};

struct _ingest_store_t {
    char *pg_url;
    char ingest_id[64];
    bool register_tenants;
    PGconn *pg;
    //  For ingest_store_cancel from the server's thread: the connection's cancel key.
    pthread_mutex_t cancel_mu;
    PGcancel *cancel;
    ingest_seqs_t *seqs; //  borrowed, shared with the other writers
    fc_catalog_t *catalog;
    fc_rates_t *rates; //  every tenant's rate cards, loaded with the catalog
    int64_t catalog_loaded_us;
    int rule_warnings; //  unpriced-by-rule events logged (s_price)
    //  Tenants known to exist (sorted strings), partitions known to exist (day numbers).
    char **tenants;
    size_t tenant_count;
    //  The group's tenants not known yet, to register at its turn to commit (pointers
    //  into its items; s_check_tenants).
    const char **fresh;
    size_t fresh_count, fresh_cap;
    int32_t days[MAX_DAY_CACHE];
    size_t day_count;
    ingest_item_t item; //  the event being priced or written, decoded again from its record
    fc_buf_t copy;      //  binary COPY payload
    fc_buf_t scratch;   //  JSON rendering
    //  Scratch for in-group dedup: open-addressing table of item indexes.
    uint32_t *slots;
    size_t slot_cap;  //  allocated
    size_t slot_size; //  in use for the current group (a power of two <= slot_cap)
};

ingest_seqs_t *ingest_seqs_new(void)
{
    ingest_seqs_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    pthread_mutex_init(&self->mutex, NULL);
    pthread_cond_init(&self->changed, NULL);
    //  The start time in µs: non-zero and, for one ingest_id, different at every start
    //  (subscribers only compare epochs for equality).
    self->epoch = (uint64_t)fc_time_now_us();
    self->reserve_turn = self->commit_turn = 1;
    return self;
}

void ingest_seqs_destroy(ingest_seqs_t **self_p)
{
    assert(self_p);
    ingest_seqs_t *self = *self_p;
    if (!self)
        return;
    pthread_cond_destroy(&self->changed);
    pthread_mutex_destroy(&self->mutex);
    free(self);
    *self_p = NULL;
}

void ingest_seqs_give_up(ingest_seqs_t *self)
{
    pthread_mutex_lock(&self->mutex);
    self->give_up = true;
    pthread_cond_broadcast(&self->changed);
    pthread_mutex_unlock(&self->mutex);
}

int ingest_seqs_run(ingest_seqs_t *self, uint64_t *epoch, uint64_t *base)
{
    pthread_mutex_lock(&self->mutex);
    bool started = self->started;
    *epoch = self->epoch;
    *base = self->base;
    pthread_mutex_unlock(&self->mutex);
    return started ? 0 : -1;
}

//  Waits (mutex held) until *turn reaches ticket, for at most ms (-1: no limit).
//  Returns 0 at the turn, 1 on time-out, -1 when giving up.
static int s_wait_turn(ingest_seqs_t *q, const uint64_t *turn, uint64_t ticket, int ms)
{
    int64_t deadline = fc_time_mono_us() + (int64_t)ms * 1000;
    while (*turn != ticket && !q->give_up) {
        //  Slices of 50 ms: the condition variable runs on the real-time clock.
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 50 * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&q->changed, &q->mutex, &ts);
        if (ms >= 0 && *turn != ticket && fc_time_mono_us() >= deadline)
            return 1;
    }
    return *turn == ticket ? 0 : -1;
}

ingest_store_t *ingest_store_new(const char *pg_url, const char *ingest_id, bool register_tenants,
                                 ingest_seqs_t *seqs)
{
    ingest_store_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->pg_url = strdup(pg_url);
    snprintf(self->ingest_id, sizeof self->ingest_id, "%s", ingest_id);
    self->register_tenants = register_tenants;
    self->seqs = seqs;
    pthread_mutex_init(&self->cancel_mu, NULL);
    fc_buf_init(&self->copy);
    fc_buf_init(&self->scratch);
    return self;
}

//  Sets (or, NULL, clears) the cancel key the server may use from its thread.
static void s_set_cancel(ingest_store_t *self, PGcancel *cancel)
{
    pthread_mutex_lock(&self->cancel_mu);
    if (self->cancel)
        PQfreeCancel(self->cancel);
    self->cancel = cancel;
    pthread_mutex_unlock(&self->cancel_mu);
}

void ingest_store_cancel(ingest_store_t *self)
{
    pthread_mutex_lock(&self->cancel_mu);
    if (self->cancel) {
        char err[256];
        if (!PQcancel(self->cancel, err, sizeof err))
            fc_warn(MODULE, "cannot cancel a statement: %s", err);
    }
    pthread_mutex_unlock(&self->cancel_mu);
}

static void s_disconnect(ingest_store_t *self)
{
    s_set_cancel(self, NULL);
    if (self->pg)
        PQfinish(self->pg);
    self->pg = NULL;
}

void ingest_store_destroy(ingest_store_t **self_p)
{
    assert(self_p);
    ingest_store_t *self = *self_p;
    if (!self)
        return;
    s_disconnect(self);
    pthread_mutex_destroy(&self->cancel_mu);
    fc_catalog_destroy(&self->catalog);
    fc_rates_destroy(&self->rates);
    for (size_t i = 0; i < self->tenant_count; i++)
        free(self->tenants[i]);
    free(self->tenants);
    free(self->fresh);
    free(self->slots);
    fc_buf_free(&self->copy);
    fc_buf_free(&self->scratch);
    free(self->pg_url);
    free(self);
    *self_p = NULL;
}

//  --- small caches ------------------------------------------------------------------

static int s_strcmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool s_tenant_cached(ingest_store_t *self, const char *tenant)
{
    const char *key = tenant;
    return self->tenant_count &&
           bsearch(&key, self->tenants, self->tenant_count, sizeof(char *), s_strcmp);
}

static void s_tenant_remember(ingest_store_t *self, const char *tenant)
{
    if (s_tenant_cached(self, tenant) || self->tenant_count >= MAX_TENANT_CACHE)
        return;
    char **grown = realloc(self->tenants, (self->tenant_count + 1) * sizeof(char *));
    if (!grown)
        return;
    self->tenants = grown;
    char *copy = strdup(tenant);
    if (!copy)
        return;
    //  Insertion keeps the array sorted; tenants are few and new ones rare.
    size_t i = self->tenant_count;
    while (i > 0 && strcmp(self->tenants[i - 1], copy) > 0) {
        self->tenants[i] = self->tenants[i - 1];
        i--;
    }
    self->tenants[i] = copy;
    self->tenant_count++;
}

//  A text[] literal of n tenant ids (the caller frees it), or NULL when out of memory.
//  Tenant ids match [a-z0-9][a-z0-9_-]* (checked before the store): double quotes
//  suffice, and keep a tenant named "null" from reading as NULL.
static char *s_tenant_array(const char *const *names, size_t n)
{
    fc_buf_t list;
    fc_buf_init(&list);
    fc_buf_add_str(&list, "{");
    for (size_t k = 0; k < n; k++)
        fc_buf_addf(&list, "%s\"%s\"", k ? "," : "", names[k]);
    fc_buf_add(&list, "}", 2);
    if (list.failed) {
        fc_buf_free(&list);
        return NULL;
    }
    return (char *)list.data;
}

static bool s_day_cached(ingest_store_t *self, int32_t day)
{
    for (size_t i = 0; i < self->day_count; i++)
        if (self->days[i] == day)
            return true;
    return false;
}

//  --- connection --------------------------------------------------------------------

static PGresult *s_exec(ingest_store_t *self, const char *sql, int n, const char *const *values,
                        const int *lengths, const int *formats)
{
    return PQexecParams(self->pg, sql, n, NULL, values, lengths, formats, 0);
}

static bool s_ok(PGresult *r)
{
    ExecStatusType st = PQresultStatus(r);
    return st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
}

static int s_load_catalog(ingest_store_t *self)
{
    fc_catalog_t *cat = fc_catalog_load_pg(self->pg, MODULE);
    if (!cat)
        return -1;
    fc_rates_t *rates = fc_rates_load_pg(self->pg, MODULE);
    if (!rates) {
        fc_catalog_destroy(&cat);
        return -1;
    }
    if (!self->catalog || fc_catalog_count(cat) != fc_catalog_count(self->catalog))
        fc_info(MODULE, "price catalog loaded: %zu versions", fc_catalog_count(cat));
    if (!self->rates || fc_rates_count(rates) != fc_rates_count(self->rates))
        fc_info(MODULE, "rate cards loaded: %zu versions", fc_rates_count(rates));
    fc_catalog_destroy(&self->catalog);
    fc_rates_destroy(&self->rates);
    self->catalog = cat;
    self->rates = rates;
    self->catalog_loaded_us = fc_time_now_us();
    return 0;
}

static void s_warm_up(ingest_store_t *self);

int ingest_store_connect(ingest_store_t *self)
{
    if (self->pg && PQstatus(self->pg) == CONNECTION_OK)
        return 0;
    s_disconnect(self);
    //  application_name names the writers in pg_stat_activity (what a stop waits on).
    const char *keys[] = {"dbname", "application_name", NULL};
    const char *values[] = {self->pg_url, "fleetcost-ingest", NULL};
    self->pg = PQconnectdbParams(keys, values, 1);
    if (PQstatus(self->pg) != CONNECTION_OK) {
        char msg[256];
        snprintf(msg, sizeof msg, "%s", PQerrorMessage(self->pg));
        msg[strcspn(msg, "\n")] = 0;
        fc_warn(MODULE, "postgres unavailable (%s): holding acks, will retry", msg);
        s_disconnect(self);
        return -1;
    }
    s_set_cancel(self, PQgetCancel(self->pg));
    /*  The seq continues from ingest_state, which every data transaction updates with
        its events, never from the events themselves: retention drops whole day
        partitions, archiving and restores remove rows, and max(seq) over what is left
        would go back below seqs subscribers already handled, so they would skip (and
        lose) the new messages. It is also one primary-key row, where max(seq) scans
        every partition. */
    const char *params[1] = {self->ingest_id};
    PGresult *r = s_exec(self, "SELECT last_seq FROM ingest_state WHERE ingest_id = $1", 1, params,
                         NULL, NULL);
    if (!s_ok(r)) {
        fc_error(MODULE, "cannot read last seq: %s", PQresultErrorMessage(r));
        PQclear(r);
        s_disconnect(self);
        return -1;
    }
    bool has_row = PQntuples(r) > 0;
    uint64_t seq = has_row ? fc_pg_uint(r, 0, 0) : 0;
    PQclear(r);
    ingest_seqs_t *q = self->seqs;
    pthread_mutex_lock(&q->mutex);
    bool started = q->started;
    pthread_mutex_unlock(&q->mutex);
    if (!has_row && !started) {
        //  No row: a new instance, or one whose row was deleted. Its events, if any are
        //  left, are the only record: continue above them rather than reuse their seqs
        //  (a scan, once, until the first commit writes the row).
        r = s_exec(self, "SELECT coalesce(max(seq), 0) FROM events WHERE ingest_id = $1", 1, params,
                   NULL, NULL);
        if (!s_ok(r)) {
            fc_error(MODULE, "cannot read last seq: %s", PQresultErrorMessage(r));
            PQclear(r);
            s_disconnect(self);
            return -1;
        }
        seq = fc_pg_uint(r, 0, 0);
        PQclear(r);
        if (seq)
            fc_warn(MODULE,
                    "ingest_state has no row for '%s' but events have seqs up to %" PRIu64
                    ": continuing after them",
                    self->ingest_id, seq);
    }
    //  Reservations only go up: a reconnecting writer never takes the counter back
    //  below seqs reserved since (ingest_state holds the end of a committed one).
    pthread_mutex_lock(&q->mutex);
    if (seq > q->next)
        q->next = seq;
    if (!q->started) {
        q->base = q->next;
        q->started = true;
        pthread_cond_broadcast(&q->changed);
    }
    uint64_t next = q->next, epoch = q->epoch, base = q->base;
    pthread_mutex_unlock(&q->mutex);
    //  Partitions that exist now: the ones a COPY can target without DDL.
    r = s_exec(self,
               "SELECT (to_date(substr(c.relname, 8), 'YYYYMMDD') - date '1970-01-01')::int"
               " FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
               " WHERE i.inhparent = 'events'::regclass AND c.relname ~ '^events_[0-9]{8}$'",
               0, NULL, NULL, NULL);
    self->day_count = 0;
    if (s_ok(r))
        for (int i = 0; i < PQntuples(r) && self->day_count < MAX_DAY_CACHE; i++)
            self->days[self->day_count++] = (int32_t)fc_pg_int(r, i, 0);
    PQclear(r);
    r = s_exec(self, "SELECT tenant_id FROM tenants", 0, NULL, NULL, NULL);
    if (s_ok(r))
        for (int i = 0; i < PQntuples(r); i++)
            s_tenant_remember(self, PQgetvalue(r, i, 0));
    PQclear(r);
    if (s_load_catalog(self) != 0) {
        s_disconnect(self);
        return -1;
    }
    s_warm_up(self);
    fc_info(MODULE,
            "postgres connected: last seq %" PRIu64 " (run %" PRIu64 " began after seq %" PRIu64
            "), %zu tenants, %zu partitions",
            next, epoch, base, self->tenant_count, self->day_count);
    return 0;
}

//  --- pricing and in-group dedup ---------------------------------------------------------

//  Decodes a record's event again into the store's scratch item, with the record's
//  tenant (the certificate's when the payload had none). NULL if the bytes no longer
//  decode, which cannot happen: the server decoded the same bytes (kept alive by it).
static ingest_item_t *s_load(ingest_store_t *self, const ingest_rec_t *rec)
{
    ingest_item_t *it = &self->item;
    fc_proto_error_t err;
    if (fc_event_decode_reuse(rec->raw, rec->raw_size, &it->ev, &err) != FC_OK) {
        fc_error(MODULE, "an event decoded before no longer does: %s", err.reason);
        return NULL;
    }
    memcpy(it->ev.tenant, rec->tenant, sizeof it->ev.tenant);
    it->result = rec->result;
    it->raw = rec->raw;
    it->raw_size = rec->raw_size;
    it->seq = rec->seq;
    return it;
}

static void s_price(ingest_store_t *self, ingest_item_t *it)
{
    const fc_event_t *ev = &it->ev;
    it->cost_nusd = 0;
    it->price_version = 0;
    it->unpriced = false;
    it->tiered = false;
    it->tool_cost_nusd = 0;
    it->provider[0] = 0;
    it->model_family[0] = 0;
    it->billed_nusd = 0;
    it->rate_version = 0;
    if (ev->type == FC_EV_COST) {
        it->cost_nusd = ev->cost_nusd;
        it->billed_nusd = ev->cost_nusd; //  rate cards price model usage only
        return;
    }
    if (ev->type != FC_EV_USAGE)
        return;
    fc_usage_t usage = {.tok = {{ev->input_tokens, ev->output_tokens, ev->cache_read_tokens,
                                 ev->cache_write_5m_tokens, ev->cache_write_1h_tokens}},
                        .speed = ev->speed,
                        .geo = ev->geo,
                        .batch = ev->batch,
                        .web_search_requests = ev->web_search_requests,
                        .code_exec_ms = ev->code_exec_ms};
    fc_price_result_t r;
    //  Token counts are bounded by the decoder, so this cannot overflow; if it ever does,
    //  fc_price_usage leaves it unpriced and the usage is still kept rather than dropped.
    (void)fc_price_usage(self->catalog, ev->model, ev->ts_us, &usage, &r);
    snprintf(it->model_family, sizeof it->model_family, "%s", r.family);
    it->cost_nusd = r.cost_nusd;
    it->price_version = r.version;
    it->unpriced = r.unpriced;
    it->tiered = r.tiered;
    it->tool_cost_nusd = r.tool_nusd;
    snprintf(it->provider, sizeof it->provider, "%s", r.provider);
    //  Billed cost by the tenant's rate card in force at the event's time, rounded per
    //  event (lib/fc_rate). Cannot overflow under the per-event cap; if it did, the event
    //  would be billed at list (version 0).
    (void)fc_rates_billed(self->rates, ev->tenant, r.family, ev->ts_us, r.cost_nusd,
                          &it->billed_nusd, &it->rate_version);
    //  A known model left unpriced by a billing rule without a confirmed price (fast
    //  mode, a server tool...) is alerted as unpriced usage like an unknown model; the
    //  log says which rule, for the first few, so that an operator knows what to add.
    if (r.unpriced && fc_catalog_lookup(self->catalog, ev->model, ev->ts_us) &&
        self->rule_warnings < 20) {
        self->rule_warnings++;
        fc_warn(MODULE, "%s usage stored unpriced: %s (proto/PROTOCOL.md 4.2)%s", r.family, r.why,
                self->rule_warnings == 20 ? "; not logging this again" : "");
    }
}

static uint64_t s_id_hash(const uint8_t id[16])
{
    uint64_t h = 1469598103934665603ULL;
    for (int i = 0; i < 16; i++)
        h = (h ^ id[i]) * 1099511628211ULL;
    return h;
}

//  An event's identity is (tenant, id, time), the key of events (0009): two tenants may
//  send the same id and time, and each keeps its own event.
static bool s_same_event(const ingest_rec_t *a, const uint8_t id[16], int64_t ts_us,
                         const char *tenant)
{
    return memcmp(a->st.id, id, 16) == 0 && a->st.ts_us == ts_us && strcmp(a->tenant, tenant) == 0;
}

/*  The per-event cost cap holds for priced usage as it does for cost events (the
    decoder checks those): it is what keeps a tenant's Redis totals out of int64's reach
    (docs/SECURITY.md, "Totals and int64"). The COPY prices the events and stops at one
    over the cap (s_copy_items); the next attempt refuses it here, before seqs are
    given. Runs after the tenant check, so an unknown tenant is what its sender hears
    first. The in-group copies of a refused event, which s_dedup_group marked duplicate,
    are refused with it: "duplicate" would say stored. */
static void s_cap_cost(ingest_rec_t *items, uint32_t count)
{
    for (uint32_t i = 0; i < count; i++) {
        ingest_rec_t *it = &items[i];
        if (it->result != FC_OK || it->st.cost_nusd <= FC_MAX_COST_NUSD)
            continue;
        it->result = FC_E_RANGE;
        it->field[0] = 0; //  no one field: the tokens at their price
        snprintf(it->reason, sizeof it->reason,
                 "priced at %" PRId64 " nano-USD, over the per-event cap of %" PRId64
                 ": send the usage as several events",
                 it->st.cost_nusd, FC_MAX_COST_NUSD);
        for (uint32_t j = i + 1; j < count; j++)
            if (items[j].result == FC_DUPLICATE &&
                s_same_event(&items[j], it->st.id, it->st.ts_us, it->tenant)) {
                items[j].result = FC_E_RANGE;
                items[j].field[0] = 0;
                snprintf(items[j].reason, sizeof items[j].reason, "%s", it->reason);
            }
    }
}

//  Marks the second and later copies of an event (same tenant, id and time) within the
//  group as duplicates. Returns -1 when out of memory.
static int s_dedup_group(ingest_store_t *self, ingest_rec_t *items, uint32_t count)
{
    size_t cap = 16;
    while (cap < (size_t)count * 2)
        cap *= 2;
    if (cap > self->slot_cap) {
        uint32_t *slots = realloc(self->slots, cap * sizeof *slots);
        if (!slots)
            return -1;
        self->slots = slots;
        self->slot_cap = cap;
    }
    memset(self->slots, 0xff, cap * sizeof *self->slots);
    self->slot_size = cap;
    for (uint32_t i = 0; i < count; i++) {
        if (items[i].result != FC_OK)
            continue;
        size_t s = s_id_hash(items[i].st.id) & (cap - 1);
        while (self->slots[s] != UINT32_MAX) {
            ingest_rec_t *other = &items[self->slots[s]];
            if (s_same_event(other, items[i].st.id, items[i].st.ts_us, items[i].tenant)) {
                items[i].result = FC_DUPLICATE;
                break;
            }
            s = (s + 1) & (cap - 1);
        }
        if (items[i].result == FC_OK)
            self->slots[s] = i;
    }
    return 0;
}

//  The group's FC_OK item with this tenant, id and time, via the table s_dedup_group
//  built.
static ingest_rec_t *s_slot_find(ingest_store_t *self, ingest_rec_t *items, const uint8_t id[16],
                                 int64_t ts_us, const char *tenant)
{
    if (!self->slot_size)
        return NULL;
    size_t s = s_id_hash(id) & (self->slot_size - 1);
    while (self->slots[s] != UINT32_MAX) {
        ingest_rec_t *it = &items[self->slots[s]];
        if (s_same_event(it, id, ts_us, tenant))
            return it->result == FC_OK ? it : NULL;
        s = (s + 1) & (self->slot_size - 1);
    }
    return NULL;
}

//  --- binary COPY ------------------------------------------------------------------

static const char *s_copy_sql =
    "COPY events (event_id, event_time, tenant_id, event_type, agent_id, agent_type, task_id,"
    " session_id, request_id, model, model_family, input_tokens, output_tokens,"
    " cache_read_tokens, cache_write_5m_tokens, cache_write_1h_tokens, cost_nusd, cost_kind,"
    " price_version, unpriced, price_tiered, reported_cost_nusd, api_duration_ms, memory_mb,"
    " cpu_percent, attrs, body, ingest_id, seq, speed, inference_geo, batch,"
    " web_search_requests, code_exec_ms, tool_cost_nusd, billed_nusd, rate_card_version)"
    " FROM STDIN (FORMAT binary)";
#define COPY_COLUMNS 37

static void s_col_null(fc_buf_t *b)
{
    fc_buf_add_be32(b, UINT32_MAX);
}

static void s_col_text(fc_buf_t *b, const char *s)
{
    size_t n = strlen(s);
    fc_buf_add_be32(b, (uint32_t)n);
    fc_buf_add(b, s, n);
}

//  Empty strings are absent optional fields: stored as NULL.
static void s_col_opt_text(fc_buf_t *b, const char *s)
{
    if (*s)
        s_col_text(b, s);
    else
        s_col_null(b);
}

static void s_col_int8(fc_buf_t *b, int64_t v)
{
    fc_buf_add_be32(b, 8);
    fc_buf_add_be64(b, (uint64_t)v);
}

static void s_col_opt_int8(fc_buf_t *b, bool has, int64_t v)
{
    if (has)
        s_col_int8(b, v);
    else
        s_col_null(b);
}

static void s_col_jsonb(fc_buf_t *b, const uint8_t *json, size_t n)
{
    fc_buf_add_be32(b, (uint32_t)n + 1);
    uint8_t version = 1;
    fc_buf_add(b, &version, 1);
    fc_buf_add(b, json, n);
}

//  Renders the attrs map as a JSON object into scratch.
static void s_attrs_json(fc_buf_t *out, const fc_event_t *ev);

static const char *s_cost_kind(const fc_event_t *ev)
{
    if (ev->type == FC_EV_USAGE)
        return "usage";
    if (ev->type == FC_EV_COST)
        return ev->kind;
    return "";
}

//  The whole event as JSON, kept for everything but usage events, whose every field
//  has its own column; usage events keep body NULL so the hot path stays lean.
static bool s_needs_body(const fc_event_t *ev)
{
    return ev->type != FC_EV_USAGE;
}

static void s_copy_row(ingest_store_t *self, const ingest_item_t *it)
{
    fc_buf_t *b = &self->copy;
    const fc_event_t *ev = &it->ev;
    fc_buf_add_be16(b, COPY_COLUMNS);
    fc_buf_add_be32(b, 16);
    fc_buf_add(b, ev->id, 16);
    s_col_int8(b, ev->ts_us - PG_EPOCH_US);
    s_col_text(b, ev->tenant);
    s_col_text(b, fc_event_type_name(ev->type));
    s_col_opt_text(b, ev->agent);
    s_col_opt_text(b, ev->agent_type);
    s_col_opt_text(b, ev->task);
    s_col_opt_text(b, ev->session);
    s_col_opt_text(b, ev->request);
    s_col_opt_text(b, ev->model);
    s_col_opt_text(b, it->model_family);
    s_col_int8(b, ev->input_tokens);
    s_col_int8(b, ev->output_tokens);
    s_col_int8(b, ev->cache_read_tokens);
    s_col_int8(b, ev->cache_write_5m_tokens);
    s_col_int8(b, ev->cache_write_1h_tokens);
    s_col_int8(b, it->cost_nusd);
    s_col_opt_text(b, s_cost_kind(ev));
    if (it->price_version > 0) {
        fc_buf_add_be32(b, 4);
        fc_buf_add_be32(b, (uint32_t)it->price_version);
    } else
        s_col_null(b);
    fc_buf_add_be32(b, 1);
    uint8_t unpriced = it->unpriced ? 1 : 0;
    fc_buf_add(b, &unpriced, 1);
    if (it->price_version > 0) { //  the tier is known only for a priced usage event
        fc_buf_add_be32(b, 1);
        uint8_t tiered = it->tiered ? 1 : 0;
        fc_buf_add(b, &tiered, 1);
    } else
        s_col_null(b);
    s_col_opt_int8(b, ev->has_reported_cost, ev->reported_cost_nusd);
    s_col_opt_int8(b, ev->has_api_duration_ms, ev->api_duration_ms);
    s_col_opt_int8(b, ev->has_memory_mb, ev->memory_mb);
    if (ev->has_cpu_percent) {
        float f = (float)ev->cpu_percent;
        uint32_t bits;
        memcpy(&bits, &f, 4);
        fc_buf_add_be32(b, 4);
        fc_buf_add_be32(b, bits);
    } else
        s_col_null(b);
    if (ev->attr_count > 0) {
        fc_buf_reset(&self->scratch);
        s_attrs_json(&self->scratch, ev);
        s_col_jsonb(b, self->scratch.data, self->scratch.len);
    } else
        s_col_null(b);
    if (s_needs_body(ev)) {
        fc_buf_reset(&self->scratch);
        uint8_t *p = fc_buf_reserve(&self->scratch, 65536);
        int n = p ? fc_event_to_json(ev, (char *)p, 65536) : -1;
        if (n > 0)
            s_col_jsonb(b, p, (size_t)n);
        else
            s_col_null(b);
    } else
        s_col_null(b);
    s_col_text(b, self->ingest_id);
    s_col_int8(b, (int64_t)it->seq);
    //  How the request was billed: NULL when the event did not say (PROTOCOL.md §4.2).
    s_col_opt_text(b, ev->speed);
    s_col_opt_text(b, ev->geo);
    if (ev->batch) {
        fc_buf_add_be32(b, 1);
        uint8_t one = 1;
        fc_buf_add(b, &one, 1);
    } else
        s_col_null(b);
    s_col_opt_int8(b, ev->web_search_requests > 0, ev->web_search_requests);
    s_col_opt_int8(b, ev->code_exec_ms > 0, ev->code_exec_ms);
    s_col_opt_int8(b, it->tool_cost_nusd > 0, it->tool_cost_nusd);
    //  NULL without a rate card: billed = list (0016).
    s_col_opt_int8(b, it->rate_version > 0, it->billed_nusd);
    if (it->rate_version > 0) {
        fc_buf_add_be32(b, 4);
        fc_buf_add_be32(b, (uint32_t)it->rate_version);
    } else
        s_col_null(b);
}

static void s_json_string(fc_buf_t *out, const char *s)
{
    fc_buf_add(out, "\"", 1);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            char esc[2] = {'\\', (char)c};
            fc_buf_add(out, esc, 2);
        } else if (c < 0x20)
            fc_buf_addf(out, "\\u%04x", c);
        else
            fc_buf_add(out, s, 1);
    }
    fc_buf_add(out, "\"", 1);
}

static void s_attrs_json(fc_buf_t *out, const fc_event_t *ev)
{
    fc_buf_add(out, "{", 1);
    for (int i = 0; i < ev->attr_count; i++) {
        if (i)
            fc_buf_add(out, ",", 1);
        s_json_string(out, ev->attrs[i].key);
        fc_buf_add(out, ":", 1);
        s_json_string(out, ev->attrs[i].value);
    }
    fc_buf_add(out, "}", 1);
}

//  Sends the COPY of every FC_OK item. Returns the final result of the COPY command;
//  the caller inspects it (unique violation -> slow path).
/*  Each event is decoded again here, priced, given to the record what the stream will
    carry (st), and written as a row. An event priced over the per-event cap stops the
    COPY (*capped set; the caller rolls back, refuses it with s_cap_cost and copies
    again): it is rare, and checking here keeps the common path to one decode in the
    store. Stopping at the first such event keeps the rows sent in step with the items,
    so an error naming a COPY line still names the right item. */
static PGresult *s_copy_items(ingest_store_t *self, ingest_rec_t *items, uint32_t count,
                              bool *capped)
{
    *capped = false;
    PGresult *r = PQexec(self->pg, s_copy_sql);
    if (PQresultStatus(r) != PGRES_COPY_IN)
        return r;
    PQclear(r);
    fc_buf_t *b = &self->copy;
    fc_buf_reset(b);
    static const uint8_t header[11] = {'P', 'G', 'C', 'O', 'P', 'Y', '\n', 0xff, '\r', '\n', 0};
    fc_buf_add(b, header, sizeof header);
    fc_buf_add_be32(b, 0);
    fc_buf_add_be32(b, 0);
    bool ok = true;
    for (uint32_t i = 0; i < count && ok; i++) {
        if (items[i].result != FC_OK)
            continue;
        ingest_item_t *it = s_load(self, &items[i]);
        if (!it) {
            ok = false;
            break;
        }
        s_price(self, it);
        ingest_publish_stored(&items[i].st, it);
        if (items[i].st.cost_nusd > FC_MAX_COST_NUSD) {
            *capped = true;
            ok = false;
            break;
        }
        it->seq = items[i].seq;
        s_copy_row(self, it);
        if (b->len >= 1 << 20) {
            ok = !b->failed && PQputCopyData(self->pg, (const char *)b->data, (int)b->len) == 1;
            fc_buf_reset(b);
        }
    }
    fc_buf_add_be16(b, UINT16_MAX);
    if (ok)
        ok = !b->failed && PQputCopyData(self->pg, (const char *)b->data, (int)b->len) == 1;
    PQputCopyEnd(self->pg, ok        ? NULL
                           : *capped ? "ingest: an event over the per-event cost cap"
                                     : "ingest: could not build COPY data");
    return PQgetResult(self->pg);
}

static bool s_is_unique_violation(PGresult *r)
{
    const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    return state && strcmp(state, "23505") == 0;
}

//  Whether an error is about a row's data (class 22 data exception, 23 integrity), the
//  only errors that dead-letter a row. Anything else (a server shutting down, 57P01,
//  whose error can still name a COPY line while the connection looks up; out of
//  resources; a cancelled or serialisation-failed transaction) is retried: refusing a
//  valid event because of the server's state would lose it.
static bool s_is_row_error(PGresult *r)
{
    const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    return state && (strncmp(state, "22", 2) == 0 || strncmp(state, "23", 2) == 0);
}

//  Drains results until NULL (required after COPY and on errors).
static void s_drain(ingest_store_t *self)
{
    PGresult *r;
    while ((r = PQgetResult(self->pg)) != NULL)
        PQclear(r);
}

static bool s_command(ingest_store_t *self, const char *sql)
{
    PGresult *r = PQexec(self->pg, sql);
    bool ok = s_ok(r);
    if (!ok && PQstatus(self->pg) == CONNECTION_OK)
        fc_error(MODULE, "%s: %s", sql, PQresultErrorMessage(r));
    PQclear(r);
    return ok;
}

//  Marks the items whose (tenant, id, time) already exist in events as duplicates.
//  Returns how many it marked, or -1 on a query error. Tenant ids match
//  [a-z0-9][a-z0-9_-]* (checked before the store): double quotes suffice in the array
//  literal, and keep a tenant named "null" from reading as NULL.
static int s_mark_existing(ingest_store_t *self, ingest_rec_t *items, uint32_t count)
{
    fc_buf_t ids, times, tenants;
    fc_buf_init(&ids);
    fc_buf_init(&times);
    fc_buf_init(&tenants);
    fc_buf_add_str(&ids, "{");
    fc_buf_add_str(&times, "{");
    fc_buf_add_str(&tenants, "{");
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    uint32_t n = 0;
    for (uint32_t i = 0; i < count; i++) {
        if (items[i].result != FC_OK)
            continue;
        char uuid[37];
        fc_uuid_format(items[i].st.id, uuid);
        fc_buf_addf(&ids, "%s%s", n ? "," : "", uuid);
        fc_buf_addf(&times, "%s%" PRId64, n ? "," : "", items[i].st.ts_us);
        fc_buf_addf(&tenants, "%s\"%s\"", n ? "," : "", items[i].tenant);
        if (items[i].st.ts_us < lo)
            lo = items[i].st.ts_us;
        if (items[i].st.ts_us > hi)
            hi = items[i].st.ts_us;
        n++;
    }
    fc_buf_add(&ids, "}", 2);
    fc_buf_add(&times, "}", 2);
    fc_buf_add(&tenants, "}", 2);
    if (n == 0 || ids.failed || times.failed || tenants.failed) {
        fc_buf_free(&ids);
        fc_buf_free(&times);
        fc_buf_free(&tenants);
        return n == 0 ? 0 : -1;
    }
    char los[32], his[32];
    snprintf(los, sizeof los, "%" PRId64, lo);
    snprintf(his, sizeof his, "%" PRId64, hi);
    const char *params[5] = {(const char *)ids.data, (const char *)times.data, los, his,
                             (const char *)tenants.data};
    //  The time range prunes the partitions probed; the join keeps (tenant, id, time)
    //  triples, the primary key, so each probe is one index lookup.
    PGresult *r = s_exec(
        self,
        "SELECT e.event_id::text, (extract(epoch FROM e.event_time) * 1000000)::bigint,"
        " e.tenant_id"
        " FROM events e JOIN unnest($1::uuid[], $2::bigint[], $5::text[]) AS k(id, us, tenant)"
        " ON e.tenant_id = k.tenant AND e.event_id = k.id"
        " AND e.event_time = timestamptz 'epoch' + k.us * interval '1 microsecond'"
        " WHERE e.event_time BETWEEN timestamptz 'epoch' + $3::bigint * interval '1 microsecond'"
        " AND timestamptz 'epoch' + $4::bigint * interval '1 microsecond'",
        5, params, NULL, NULL);
    fc_buf_free(&ids);
    fc_buf_free(&times);
    fc_buf_free(&tenants);
    if (!s_ok(r)) {
        fc_error(MODULE, "duplicate lookup failed: %s", PQresultErrorMessage(r));
        PQclear(r);
        return -1;
    }
    int found = PQntuples(r), marked = 0;
    for (int row = 0; row < found; row++) {
        uint8_t id[16];
        if (fc_uuid_parse(PQgetvalue(r, row, 0), id) != 0)
            continue;
        int64_t us = fc_pg_int(r, row, 1);
        ingest_rec_t *it = s_slot_find(self, items, id, us, PQgetvalue(r, row, 2));
        if (it) {
            it->result = FC_DUPLICATE;
            marked++;
        }
    }
    PQclear(r);
    return marked;
}

//  --- partitions, tenants, dimensions, dead letters ------------------------------------

static int32_t s_day_of(int64_t ts_us)
{
    int64_t s = ts_us / 1000000 - (ts_us % 1000000 < 0);
    return (int32_t)((s - (s % 86400 + 86400) % 86400) / 86400);
}

//  Creates the daily partitions the group needs and does not have yet, each in its own
//  short transaction before the COPY (DDL would otherwise lock the parent for the
//  length of the data transaction).
static int s_ensure_partitions(ingest_store_t *self, ingest_rec_t *items, uint32_t count)
{
    for (uint32_t i = 0; i < count; i++) {
        if (items[i].result != FC_OK)
            continue;
        int32_t day = s_day_of(items[i].st.ts_us);
        if (s_day_cached(self, day))
            continue;
        char d[16];
        snprintf(d, sizeof d, "%d", day);
        const char *params[1] = {d};
        PGresult *r = s_exec(self,
                             "SELECT fc_ensure_event_partitions(date '1970-01-01' + $1::int,"
                             " date '1970-01-01' + $1::int)",
                             1, params, NULL, NULL);
        bool ok = s_ok(r);
        if (!ok)
            fc_error(MODULE, "cannot create partition for day %d: %s", day,
                     PQresultErrorMessage(r));
        PQclear(r);
        if (!ok)
            return -1;
        if (self->day_count < MAX_DAY_CACHE)
            self->days[self->day_count++] = day;
    }
    return 0;
}

/*  Unknown tenants. With registration on (plaintext mode) they are registered with
    defaults (auto_created) in the group's own data transaction, by s_register_tenants
    at the group's turn to commit: a new tenant's first events then cost no transaction
    and no commit of their own, and the registration commits with them or not at all. At
    the turn every group before this one has committed and none after it has
    registered anything, so two writers never wait for each other's uncommitted
    registration (registering before the turn, inside the transaction, would: the
    earlier group would wait for the later one's row, which waits for its turn). Here
    they are only collected into self->fresh.
    With registration off (secure mode), the tenants not cached yet are looked up, one
    statement per 256, outside any transaction, and every event of a tenant that does
    not exist is refused. Tenant ids match [a-z0-9][a-z0-9_-]* (checked before the
    store): double quotes suffice in the array literal. */
static int s_check_tenants(ingest_store_t *self, ingest_rec_t *items, uint32_t count)
{
    enum { ROUND = 256 };
    const char *names[ROUND];
    bool known[ROUND];
    uint32_t next = 0;
    self->fresh_count = 0;
    while (next < count) {
        int n = 0;
        for (; next < count && n < ROUND; next++) {
            const char *t = items[next].tenant;
            if (items[next].result != FC_OK || s_tenant_cached(self, t))
                continue;
            bool seen = false;
            for (int k = 0; k < n && !seen; k++)
                seen = strcmp(names[k], t) == 0;
            if (!seen)
                names[n++] = t;
        }
        if (n == 0)
            break;
        if (self->register_tenants) {
            if (self->fresh_count + (size_t)n > self->fresh_cap) {
                size_t cap = (self->fresh_count + (size_t)n) * 2;
                const char **grown = realloc(self->fresh, cap * sizeof *grown);
                if (!grown)
                    return -1;
                self->fresh = grown;
                self->fresh_cap = cap;
            }
            for (int k = 0; k < n; k++)
                self->fresh[self->fresh_count++] = names[k];
            continue;
        }
        char *list = s_tenant_array(names, (size_t)n);
        if (!list)
            return -1;
        const char *params[1] = {list};
        PGresult *r =
            s_exec(self, "SELECT tenant_id FROM tenants WHERE tenant_id = ANY($1::text[])", 1,
                   params, NULL, NULL);
        free(list);
        if (!s_ok(r)) {
            fc_error(MODULE, "tenant check failed: %s", PQresultErrorMessage(r));
            PQclear(r);
            return -1;
        }
        for (int k = 0; k < n; k++)
            known[k] = false;
        for (int row = 0; row < PQntuples(r); row++)
            for (int k = 0; k < n; k++)
                known[k] = known[k] || strcmp(names[k], PQgetvalue(r, row, 0)) == 0;
        PQclear(r);
        for (int k = 0; k < n; k++)
            if (known[k])
                s_tenant_remember(self, names[k]);
        //  Every event of an unknown tenant in the group is refused.
        for (uint32_t j = 0; j < count; j++) {
            if (items[j].result != FC_OK)
                continue;
            for (int k = 0; k < n; k++)
                if (!known[k] && strcmp(items[j].tenant, names[k]) == 0) {
                    items[j].result = FC_E_TENANT;
                    snprintf(items[j].field, sizeof items[j].field, "tenant");
                    snprintf(items[j].reason, sizeof items[j].reason,
                             "unknown tenant '%s' (ingest refuses unknown tenants)",
                             items[j].tenant);
                    break;
                }
        }
    }
    return 0;
}

/*  Registers the group's new tenants (self->fresh) in its data transaction, at its turn
    to commit (see s_check_tenants). In sorted order, so that two ingest instances
    registering the same tenants lock their rows in the same order and one waits for the
    other's commit rather than deadlocking. Remembered only once the commit succeeds
    (s_tenants_committed). */
static int s_register_tenants(ingest_store_t *self, bool log)
{
    if (!self->fresh_count)
        return 0;
    //  Sorted, and without the repeats that rounds of 256 can leave.
    qsort(self->fresh, self->fresh_count, sizeof *self->fresh, s_strcmp);
    size_t n = 1;
    for (size_t k = 1; k < self->fresh_count; k++)
        if (strcmp(self->fresh[k], self->fresh[n - 1]) != 0)
            self->fresh[n++] = self->fresh[k];
    self->fresh_count = n;
    char *list = s_tenant_array(self->fresh, self->fresh_count);
    if (!list)
        return -1;
    const char *params[1] = {list};
    PGresult *r = s_exec(self,
                         "INSERT INTO tenants (tenant_id, name, auto_created)"
                         " SELECT t, t, true FROM unnest($1::text[]) WITH ORDINALITY AS u(t, i)"
                         " ORDER BY i ON CONFLICT (tenant_id) DO NOTHING RETURNING tenant_id",
                         1, params, NULL, NULL);
    free(list);
    if (!s_ok(r)) {
        fc_error(MODULE, "cannot register new tenants: %s", PQresultErrorMessage(r));
        PQclear(r);
        return -1;
    }
    for (int row = 0; row < PQntuples(r) && log; row++)
        fc_info(MODULE, "tenant '%s' registered with defaults (first event)",
                PQgetvalue(r, row, 0));
    PQclear(r);
    return 0;
}

//  After the commit: the tenants the group registered (or found registered) exist.
static void s_tenants_committed(ingest_store_t *self)
{
    for (size_t k = 0; k < self->fresh_count; k++)
        s_tenant_remember(self, self->fresh[k]);
    self->fresh_count = 0;
}

static const char *s_opt(const char *s)
{
    return *s ? s : NULL;
}

//  Applies a lifecycle or task event to the dimension tables. Returns 0; -1 when the
//  server refused the row's data (class 22/23: the event is dead-lettered); -2 for any
//  other error (deadlock, shutdown: the group is retried). why holds the message.
static int s_dimension(ingest_store_t *self, const ingest_item_t *it, char *why, size_t size)
{
    const fc_event_t *ev = &it->ev;
    char ts[32], code[32], issue[32];
    //  Timestamps go over as integer microseconds and are converted in SQL.
    snprintf(ts, sizeof ts, "%" PRId64, ev->ts_us);
    snprintf(code, sizeof code, "%" PRId64, ev->exit_code);
    snprintf(issue, sizeof issue, "%" PRId64, ev->issue);
#define TS "(timestamptz 'epoch' + $3::bigint * interval '1 microsecond')"
    const char *sql = NULL;
    const char *p[11] = {ev->tenant, NULL, ts};
    int n = 3;
    switch (ev->type) {
    case FC_EV_AGENT_SPAWN:
        sql = "INSERT INTO agents AS a (tenant_id, agent_id, agent_type, host, parent_agent,"
              " task_id, spawned_at, last_seen_at)"
              " VALUES ($1, $2, $4, $5, $6, $7, " TS ", " TS ")"
              " ON CONFLICT (tenant_id, agent_id) DO UPDATE SET"
              " agent_type = coalesce(EXCLUDED.agent_type, a.agent_type),"
              " host = coalesce(EXCLUDED.host, a.host),"
              " parent_agent = coalesce(EXCLUDED.parent_agent, a.parent_agent),"
              " task_id = coalesce(EXCLUDED.task_id, a.task_id),"
              " spawned_at = least(a.spawned_at, EXCLUDED.spawned_at),"
              " last_seen_at = greatest(a.last_seen_at, EXCLUDED.last_seen_at)";
        p[1] = ev->agent;
        p[3] = s_opt(ev->agent_type);
        p[4] = s_opt(ev->host);
        p[5] = s_opt(ev->parent_agent);
        p[6] = s_opt(ev->task);
        n = 7;
        break;
    case FC_EV_AGENT_TERMINATE:
        sql = "INSERT INTO agents AS a (tenant_id, agent_id, agent_type, terminated_at, exit_code,"
              " terminate_reason, last_seen_at)"
              " VALUES ($1, $2, $4, " TS ", $5::int, $6, " TS ")"
              " ON CONFLICT (tenant_id, agent_id) DO UPDATE SET"
              " agent_type = coalesce(a.agent_type, EXCLUDED.agent_type),"
              " terminated_at = EXCLUDED.terminated_at, exit_code = EXCLUDED.exit_code,"
              " terminate_reason = EXCLUDED.terminate_reason,"
              " last_seen_at = greatest(a.last_seen_at, EXCLUDED.last_seen_at)";
        p[1] = ev->agent;
        p[3] = s_opt(ev->agent_type);
        p[4] = ev->has_exit_code ? code : NULL;
        p[5] = s_opt(ev->reason);
        n = 6;
        break;
    case FC_EV_AGENT_REASSIGN:
        sql = "WITH ag AS (INSERT INTO agents AS a (tenant_id, agent_id, task_id, last_seen_at)"
              " VALUES ($1, $2, $4, " TS ") ON CONFLICT (tenant_id, agent_id) DO UPDATE SET"
              " task_id = EXCLUDED.task_id RETURNING 1),"
              " un AS (UPDATE task_agents SET unassigned_at = " TS
              " WHERE tenant_id = $1 AND agent_id = $2 AND task_id = $5 AND unassigned_at IS NULL"
              " RETURNING 1),"
              " tk AS (INSERT INTO tasks (tenant_id, task_id, created_at, updated_at)"
              " VALUES ($1, $4, " TS ", " TS ") ON CONFLICT DO NOTHING RETURNING 1)"
              " INSERT INTO task_agents (tenant_id, task_id, agent_id, assigned_at)"
              " VALUES ($1, $4, $2, " TS ") ON CONFLICT (tenant_id, task_id, agent_id)"
              " DO UPDATE SET unassigned_at = NULL";
        p[1] = ev->agent;
        p[3] = ev->task;
        p[4] = ev->from_task;
        n = 5;
        break;
    case FC_EV_TASK_CREATED:
    case FC_EV_TASK_UPDATED:
    case FC_EV_TASK_COMPLETED: {
        char labels[FC_MAX_LABELS * (FC_MAX_LABEL * 2 + 3) + 3];
        size_t k = 0;
        labels[k++] = '{';
        for (int i = 0; i < ev->label_count; i++) {
            if (i)
                labels[k++] = ',';
            labels[k++] = '"';
            for (const char *c = ev->labels[i]; *c; c++) {
                if (*c == '"' || *c == '\\')
                    labels[k++] = '\\';
                labels[k++] = *c;
            }
            labels[k++] = '"';
        }
        labels[k++] = '}';
        labels[k] = 0;
        sql = "INSERT INTO tasks AS t (tenant_id, task_id, title, task_type, priority, status,"
              " labels, repo, issue, created_at, updated_at, completed_at)"
              " VALUES ($1, $2, $4, $5, $6, $7, $8::text[], $9, $10::bigint,"
              " CASE WHEN $11 = 'task.created' THEN " TS " END, " TS ","
              " CASE WHEN $11 = 'task.completed' THEN " TS " END)"
              " ON CONFLICT (tenant_id, task_id) DO UPDATE SET"
              " title = coalesce(EXCLUDED.title, t.title),"
              " task_type = coalesce(EXCLUDED.task_type, t.task_type),"
              " priority = coalesce(EXCLUDED.priority, t.priority),"
              " status = coalesce(EXCLUDED.status, t.status),"
              " labels = coalesce(EXCLUDED.labels, t.labels),"
              " repo = coalesce(EXCLUDED.repo, t.repo), issue = coalesce(EXCLUDED.issue, t.issue),"
              " created_at = coalesce(least(t.created_at, EXCLUDED.created_at), t.created_at,"
              " EXCLUDED.created_at),"
              " updated_at = greatest(t.updated_at, EXCLUDED.updated_at),"
              " completed_at = coalesce(EXCLUDED.completed_at, t.completed_at)";
        p[1] = ev->task;
        p[3] = s_opt(ev->title);
        p[4] = s_opt(ev->task_type);
        p[5] = s_opt(ev->priority);
        p[6] = ev->type == FC_EV_TASK_COMPLETED && !*ev->status ? "completed" : s_opt(ev->status);
        p[7] = ev->label_count ? labels : NULL;
        p[8] = s_opt(ev->repo);
        p[9] = ev->has_issue ? issue : NULL;
        p[10] = fc_event_type_name(ev->type);
        n = 11;
        break;
    }
    case FC_EV_TASK_ASSIGNED:
        sql = "WITH tk AS (INSERT INTO tasks (tenant_id, task_id, created_at, updated_at)"
              " VALUES ($1, $2, " TS ", " TS ") ON CONFLICT DO NOTHING RETURNING 1),"
              " ag AS (INSERT INTO agents AS a (tenant_id, agent_id, task_id, last_seen_at)"
              " VALUES ($1, $4, $2, " TS ") ON CONFLICT (tenant_id, agent_id) DO UPDATE SET"
              " task_id = EXCLUDED.task_id RETURNING 1)"
              " INSERT INTO task_agents (tenant_id, task_id, agent_id, assigned_at)"
              " VALUES ($1, $2, $4, " TS ") ON CONFLICT (tenant_id, task_id, agent_id)"
              " DO UPDATE SET unassigned_at = NULL";
        p[1] = ev->task;
        p[3] = ev->agent;
        n = 4;
        break;
    case FC_EV_TASK_UNASSIGNED:
        sql = "UPDATE task_agents SET unassigned_at = " TS
              " WHERE tenant_id = $1 AND task_id = $2 AND agent_id = $4";
        p[1] = ev->task;
        p[3] = ev->agent;
        n = 4;
        break;
    default:
        return 0;
    }
#undef TS
    PGresult *r = s_exec(self, sql, n, p, NULL, NULL);
    int rc = 0;
    if (!s_ok(r)) {
        snprintf(why, size, "%s", PQresultErrorMessage(r));
        rc = s_is_row_error(r) ? -1 : -2;
    }
    PQclear(r);
    return rc;
}

//  s_dimension for a record: usage and cost events have no dimension rows, and are
//  not decoded again for it.
static int s_rec_dimension(ingest_store_t *self, const ingest_rec_t *rec, char *why, size_t size)
{
    if (rec->st.type == FC_EV_USAGE || rec->st.type == FC_EV_COST)
        return 0;
    const ingest_item_t *it = s_load(self, rec);
    if (!it) {
        snprintf(why, size, "the event no longer decodes");
        return -1;
    }
    return s_dimension(self, it, why, size);
}

static int s_dead_letter(ingest_store_t *self, const ingest_rec_t *it)
{
    const char *p[6] = {s_opt(it->tenant), self->ingest_id, fc_code_name(it->result),
                        s_opt(it->field),  it->reason,      (const char *)it->raw};
    int len[6] = {0, 0, 0, 0, 0, (int)it->raw_size};
    int fmt[6] = {0, 0, 0, 0, 0, 1};
    if (!it->raw)
        p[5] = "";
    PGresult *r = s_exec(self,
                         "INSERT INTO dead_letters (tenant_id, ingest_id, code, field, reason, raw)"
                         " VALUES ($1, $2, $3, $4, $5, $6)",
                         6, p, len, fmt);
    bool ok = s_ok(r);
    if (!ok)
        fc_error(MODULE, "dead letter insert failed: %s", PQresultErrorMessage(r));
    PQclear(r);
    return ok ? 0 : -1;
}

//  Records the instance's last seq, and the run that committed it, in the data
//  transaction, so a restart continues after exactly what was committed and a rebuild
//  knows which run its snapshot's seq belongs to.
static int s_save_seq(ingest_store_t *self, uint64_t last)
{
    char seq[24], epoch[24];
    snprintf(seq, sizeof seq, "%" PRIu64, last);
    snprintf(epoch, sizeof epoch, "%" PRIu64, self->seqs->epoch); //  fixed at start
    const char *p[3] = {self->ingest_id, seq, epoch};
    PGresult *r = s_exec(self,
                         "INSERT INTO ingest_state (ingest_id, last_seq, epoch) VALUES ($1, $2, $3)"
                         " ON CONFLICT (ingest_id) DO UPDATE SET last_seq = EXCLUDED.last_seq,"
                         " epoch = EXCLUDED.epoch, updated_at = now()",
                         3, p, NULL, NULL);
    bool ok = s_ok(r);
    if (!ok)
        fc_error(MODULE, "cannot save seq: %s", PQresultErrorMessage(r));
    PQclear(r);
    return ok ? 0 : -1;
}

//  --- the write ------------------------------------------------------------------------

//  Seqs: one per tenant present among the items still FC_OK (and per FC_MAX_BATCH
//  events of it), in order of first appearance, continuing from seq. Returns the last
//  seq given. Removing items never makes it give more (fewer events per tenant, fewer
//  tenants), which is what lets a group reserve its seqs before it knows which of its
//  events end up stored.
static uint64_t s_assign_seqs(ingest_rec_t *items, uint32_t count, uint64_t seq)
{
    //  A small open-addressing table maps each tenant of the group to its current seq
    //  and how many events that seq holds, so assignment is one pass over the items.
    enum { SLOTS = 1024 };
    struct {
        const char *tenant;
        uint64_t seq;
        uint32_t n;
    } slot[SLOTS];
    memset(slot, 0, sizeof slot);
    for (uint32_t i = 0; i < count; i++) {
        items[i].seq = 0;
        if (items[i].result != FC_OK)
            continue;
        const char *t = items[i].tenant;
        uint32_t h = fc_fnv1a32_str(t);
        size_t k = h & (SLOTS - 1), probes = 0;
        while (slot[k].tenant && strcmp(slot[k].tenant, t) != 0 && probes++ < SLOTS)
            k = (k + 1) & (SLOTS - 1);
        if (probes >= SLOTS) {
            //  More tenants in one group than slots: give this event a seq of its own.
            items[i].seq = ++seq;
            continue;
        }
        //  One stream message per seq, and a message holds at most FC_MAX_BATCH events.
        if (!slot[k].tenant || slot[k].n >= FC_MAX_BATCH) {
            slot[k].tenant = t;
            slot[k].seq = ++seq;
            slot[k].n = 0;
        }
        items[i].seq = slot[k].seq;
        slot[k].n++;
    }
    return seq;
}

//  Rejects an item Postgres refused; it goes to dead letters with the server's reason.
static void s_reject(ingest_rec_t *it, fc_code_t code, const char *why)
{
    it->result = code;
    snprintf(it->field, sizeof it->field, "%s", "");
    snprintf(it->reason, sizeof it->reason, "refused by the store: %s", why ? why : "?");
    it->reason[strcspn(it->reason, "\n")] = 0;
    fc_warn(MODULE, "event refused by postgres, sent to dead letters: %s", it->reason);
}

//  The item on the COPY line the error context names ("COPY events, line N").
static ingest_rec_t *s_copy_bad_row(ingest_rec_t *items, uint32_t count, PGresult *r)
{
    const char *ctx = PQresultErrorField(r, PG_DIAG_CONTEXT);
    const char *line = ctx ? strstr(ctx, "line ") : NULL;
    if (!line)
        return NULL;
    long n = strtol(line + 5, NULL, 10);
    for (uint32_t i = 0; i < count && n > 0; i++)
        if (items[i].result == FC_OK && --n == 0)
            return &items[i];
    return NULL;
}

static ingest_store_rc_t s_retry(ingest_store_t *self)
{
    if (self->pg && PQstatus(self->pg) == CONNECTION_OK) {
        s_drain(self);
        PGresult *r = PQexec(self->pg, "ROLLBACK");
        PQclear(r);
    } else
        s_disconnect(self);
    return INGEST_STORE_RETRY;
}

//  Reserves the group's seqs, in ticket order (see ingest_seqs_t). No transaction is
//  open here, so waiting for the groups before it holds no lock they could need.
static int s_reserve(ingest_store_t *self, ingest_turn_t *turn, ingest_rec_t *items, uint32_t count)
{
    ingest_seqs_t *q = self->seqs;
    uint64_t need = s_assign_seqs(items, count, 0);
    pthread_mutex_lock(&q->mutex);
    int rc = s_wait_turn(q, &q->reserve_turn, turn->ticket, -1);
    if (rc == 0) {
        turn->base = q->next;
        turn->end = q->next + need;
        turn->reserved = true;
        q->next = turn->end;
        q->reserve_turn++;
        pthread_cond_broadcast(&q->changed);
    }
    pthread_mutex_unlock(&q->mutex);
    return rc;
}

/*  Waits for the group's turn to commit. A group waits with its transaction open, so
    the commit follows at once; but the group before it may be waiting for a lock this
    transaction holds (a resent event in both, the same agent's row, a partition created
    under our COPY; new tenants are registered only at the turn), and then neither would
    move. After COMMIT_WAIT_MS the transaction is rolled back, releasing its locks, and
    the group waits for its turn without them, then starts again (returns 1). 0: the
    turn is ours; -1: giving up (shutdown). */
static int s_wait_commit(ingest_store_t *self, const ingest_turn_t *turn)
{
    ingest_seqs_t *q = self->seqs;
    pthread_mutex_lock(&q->mutex);
    int rc = s_wait_turn(q, &q->commit_turn, turn->ticket, COMMIT_WAIT_MS);
    pthread_mutex_unlock(&q->mutex);
    if (rc != 1)
        return rc;
    fc_debug(MODULE, "group %" PRIu64 " waited %d ms for the groups before it: rolling back",
             turn->ticket, COMMIT_WAIT_MS);
    s_command(self, "ROLLBACK");
    pthread_mutex_lock(&q->mutex);
    rc = s_wait_turn(q, &q->commit_turn, turn->ticket, -1);
    pthread_mutex_unlock(&q->mutex);
    return rc == 0 ? 1 : -1;
}

/*  Runs a group's statements once on a new connection, for an event no one sees, and
    rolls them back: the COPY of a usage event into today's partition, a tenant's
    registration, the seq save. A new server process loads its catalog caches for each
    table, partition, index and type on first use (some 20 ms unloaded here, several
    times that on a loaded machine); done here, at connect, that cost is paid before
    ingest listens (or, after a reconnect, once before the group) and not by the first
    groups' acks, a new tenant's first events among them. Best effort: a failure only
    leaves the caches cold, and a broken connection is seen by the write that follows.
    The rolled-back row leaves a dead tuple in today's partition, which vacuum removes. */
static void s_warm_up(ingest_store_t *self)
{
    int64_t t0 = fc_time_mono_us();
    //  Built in the store's scratch item (8 KB), which the COPY then decodes into.
    fc_event_t *ev = &self->item.ev;
    fc_event_init(ev);
    fc_event_id_new(ev->id);
    ev->ts_us = fc_time_now_us();
    ev->type = FC_EV_USAGE;
    snprintf(ev->tenant, sizeof ev->tenant, "fleetcost-warm-up");
    snprintf(ev->agent, sizeof ev->agent, "warm-up");
    snprintf(ev->model, sizeof ev->model, "claude-sonnet-4-5");
    ev->input_tokens = 1;
    uint8_t raw[1024]; //  a usage event with a few short fields
    fc_proto_error_t err;
    int len = fc_event_encode(ev, raw, sizeof raw, &err);
    ingest_rec_t rec;
    memset(&rec, 0, sizeof rec);
    rec.raw = raw;
    rec.raw_size = len > 0 ? (uint32_t)len : 0;
    memcpy(rec.tenant, ev->tenant, sizeof rec.tenant);
    memcpy(rec.st.id, ev->id, sizeof rec.st.id);
    rec.st.ts_us = ev->ts_us;
    rec.st.type = ev->type;
    rec.result = FC_OK;
    bool ok = len > 0 && s_command(self, "BEGIN");
    if (ok && s_day_cached(self, s_day_of(rec.st.ts_us))) {
        bool capped;
        PGresult *r = s_copy_items(self, &rec, 1, &capped);
        ok = PQresultStatus(r) == PGRES_COMMAND_OK;
        PQclear(r);
        s_drain(self);
    }
    //  The registration statement, for this one tenant (the group's list set aside),
    //  when this ingest registers tenants at all.
    const char *fresh[1] = {rec.tenant};
    const char **group_fresh = self->fresh;
    size_t group_count = self->fresh_count;
    self->fresh = fresh;
    self->fresh_count = 1;
    ok = ok && (!self->register_tenants || s_register_tenants(self, false) == 0);
    self->fresh = group_fresh;
    self->fresh_count = group_count;
    ok = ok && s_save_seq(self, 0) == 0;
    if (PQstatus(self->pg) == CONNECTION_OK)
        s_command(self, "ROLLBACK");
    fc_debug(MODULE, "connection warmed up in %.1f ms%s", (fc_time_mono_us() - t0) / 1000.0,
             ok ? "" : " (in part: a statement failed)");
}

ingest_store_rc_t ingest_store_write(ingest_store_t *self, ingest_turn_t *turn, ingest_rec_t *items,
                                     uint32_t count)
{
    if (ingest_store_connect(self) != 0)
        return INGEST_STORE_RETRY;
    if (fc_time_now_us() - self->catalog_loaded_us > CATALOG_RELOAD_US && s_load_catalog(self) != 0)
        return s_retry(self);
    //  A previous failed attempt may have marked duplicates: start from the input state.
    for (uint32_t i = 0; i < count; i++)
        if (items[i].result == FC_DUPLICATE)
            items[i].result = FC_OK;
    //  Priced by the COPY (s_copy_items); until then no event is over the cap.
    for (uint32_t i = 0; i < count; i++)
        items[i].st.cost_nusd = 0;
    if (s_dedup_group(self, items, count) != 0)
        return INGEST_STORE_RETRY;
    if (s_check_tenants(self, items, count) != 0)
        return s_retry(self);
    if (!turn->reserved && s_reserve(self, turn, items, count) != 0)
        return INGEST_STORE_RETRY;
    if (s_ensure_partitions(self, items, count) != 0)
        return s_retry(self);

    for (int attempt = 0; attempt < 100; attempt++) {
        if (!s_command(self, "BEGIN"))
            return s_retry(self);
        s_cap_cost(items, count);
        if (s_assign_seqs(items, count, turn->base) > turn->end) {
            //  Cannot happen (see s_assign_seqs); never use a seq outside the reservation.
            fc_error(MODULE, "group %" PRIu64 " needs more seqs than it reserved; will retry",
                     turn->ticket);
            s_command(self, "ROLLBACK");
            return INGEST_STORE_RETRY;
        }
        bool capped;
        PGresult *r = s_copy_items(self, items, count, &capped);
        bool copied = PQresultStatus(r) == PGRES_COMMAND_OK;
        if (capped && PQstatus(self->pg) == CONNECTION_OK) {
            PQclear(r);
            s_drain(self);
            s_command(self, "ROLLBACK");
            continue; //  s_cap_cost refuses it (and its in-group copies) next time round
        }
        if (!copied) {
            //  A unique violation means some events were stored before (a resend): find
            //  them and copy the rest. A data or integrity error naming a COPY line is a
            //  row Postgres refuses: that row goes to dead letters, the rest go on.
            //  Anything else is retried.
            bool dup = s_is_unique_violation(r);
            ingest_rec_t *bad = dup || !s_is_row_error(r) ? NULL : s_copy_bad_row(items, count, r);
            if (PQstatus(self->pg) != CONNECTION_OK || (!dup && !bad)) {
                fc_error(MODULE, "COPY failed: %s", PQresultErrorMessage(r));
                PQclear(r);
                return s_retry(self);
            }
            if (bad)
                s_reject(bad, FC_E_RANGE, PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY));
            fc_debug(MODULE, "COPY refused (attempt %d): %s", attempt,
                     PQresultErrorField(r, PG_DIAG_MESSAGE_DETAIL)
                         ? PQresultErrorField(r, PG_DIAG_MESSAGE_DETAIL)
                         : PQresultErrorMessage(r));
            PQclear(r);
            s_drain(self);
            s_command(self, "ROLLBACK");
            int found = dup ? s_mark_existing(self, items, count) : 0;
            if (found < 0)
                return s_retry(self);
            if (dup && found == 0) {
                //  Should not happen; never spin on it: retry later with backoff.
                fc_error(MODULE, "unique violation but no stored copy found; will retry");
                return INGEST_STORE_RETRY;
            }
            fc_debug(MODULE, "%d events of the group were stored before", found);
            continue;
        }
        PQclear(r);
        s_drain(self);
        bool restart = false;
        for (uint32_t i = 0; i < count && !restart; i++) {
            char why[256];
            int dim =
                items[i].result == FC_OK ? s_rec_dimension(self, &items[i], why, sizeof why) : 0;
            if (dim == -2 || (dim != 0 && PQstatus(self->pg) != CONNECTION_OK)) {
                //  Not the row's fault (a deadlock with the other writer's upsert of
                //  the same agent, a server shutting down): the group is retried whole.
                //  A deadlock was once dead-lettered here, losing a valid event.
                why[strcspn(why, "\n")] = 0;
                fc_warn(MODULE, "group %" PRIu64 " retried: %s", turn->ticket, why);
                return s_retry(self);
            }
            if (dim != 0) {
                s_reject(&items[i], FC_E_RANGE, why);
                restart = true;
            } else if (items[i].result >= FC_E_MALFORMED && s_dead_letter(self, &items[i]) != 0)
                return s_retry(self);
        }
        if (restart) {
            s_command(self, "ROLLBACK");
            continue;
        }
        int wait = s_wait_commit(self, turn);
        if (wait < 0)
            return s_retry(self);
        if (wait > 0)
            continue; //  rolled back to let the group before it through: again
        if (s_register_tenants(self, true) != 0)
            return s_retry(self);
        //  The end of the reservation, even if fewer seqs were used: a restart then
        //  continues above every seq this group could have stored.
        if (turn->end > turn->base && s_save_seq(self, turn->end) != 0)
            return s_retry(self);
        if (!s_command(self, "COMMIT"))
            return s_retry(self); //  the turn stays ours: the retry commits next
        s_tenants_committed(self);
        ingest_seqs_t *q = self->seqs;
        pthread_mutex_lock(&q->mutex);
        q->commit_turn = turn->ticket + 1;
        pthread_cond_broadcast(&q->changed);
        pthread_mutex_unlock(&q->mutex);
        return INGEST_STORE_OK;
    }
    return s_retry(self);
}
