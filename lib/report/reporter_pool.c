/*  reporter_pool: a mutex-and-condition pool of libpq connections. */
#include "reporter_pool.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fc_log.h"
#include "fc_pg.h"
#include "fc_time.h"

struct _reporter_pool_t {
    char *url;
    char module[32];
    int size;
    pthread_mutex_t lock;
    pthread_cond_t freed;
    PGconn **idle; //  stack of idle connections
    int idle_n;
    int open; //  connections in existence (idle + checked out + being made)
    //  Checked-out connections and their cancel keys (reporter_pool_cancel_busy).
    PGconn **busy;
    PGcancel **cancels;
};

reporter_pool_t *reporter_pool_new(const char *url, int size, const char *module)
{
    assert(size > 0);
    reporter_pool_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->url = strdup(url);
    self->idle = calloc((size_t)size, sizeof *self->idle);
    self->busy = calloc((size_t)size, sizeof *self->busy);
    self->cancels = calloc((size_t)size, sizeof *self->cancels);
    if (!self->url || !self->idle || !self->busy || !self->cancels) {
        free(self->url);
        free(self->busy);
        free(self->cancels);
        free(self->idle);
        free(self);
        return NULL;
    }
    self->size = size;
    snprintf(self->module, sizeof self->module, "%s", module);
    pthread_mutex_init(&self->lock, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&self->freed, &attr);
    pthread_condattr_destroy(&attr);
    return self;
}

void reporter_pool_destroy(reporter_pool_t **self_p)
{
    assert(self_p);
    reporter_pool_t *self = *self_p;
    if (!self)
        return;
    for (int i = 0; i < self->idle_n; i++)
        PQfinish(self->idle[i]);
    pthread_mutex_destroy(&self->lock);
    pthread_cond_destroy(&self->freed);
    for (int i = 0; i < self->size; i++)
        if (self->cancels[i])
            PQfreeCancel(self->cancels[i]);
    free(self->busy);
    free(self->cancels);
    free(self->idle);
    free(self->url);
    free(self);
    *self_p = NULL;
}

//  Records conn as checked out, with its cancel key (made on the thread that owns it).
static PGconn *s_checked_out(reporter_pool_t *self, PGconn *conn)
{
    if (!conn)
        return NULL;
    PGcancel *cancel = PQgetCancel(conn);
    pthread_mutex_lock(&self->lock);
    for (int i = 0; i < self->size; i++)
        if (!self->busy[i]) {
            self->busy[i] = conn;
            self->cancels[i] = cancel;
            cancel = NULL;
            break;
        }
    pthread_mutex_unlock(&self->lock);
    if (cancel)
        PQfreeCancel(cancel); //  cannot happen: at most size connections exist
    return conn;
}

PGconn *reporter_pool_acquire(reporter_pool_t *self, int timeout_ms)
{
    struct timespec deadline = fc_time_deadline(CLOCK_MONOTONIC, timeout_ms);
    pthread_mutex_lock(&self->lock);
    while (self->idle_n == 0 && self->open >= self->size) {
        if (pthread_cond_timedwait(&self->freed, &self->lock, &deadline) == ETIMEDOUT) {
            pthread_mutex_unlock(&self->lock);
            fc_warn(self->module, "no database connection free within %d ms", timeout_ms);
            return NULL;
        }
    }
    if (self->idle_n > 0) {
        PGconn *conn = self->idle[--self->idle_n];
        pthread_mutex_unlock(&self->lock);
        return s_checked_out(self, conn);
    }
    self->open++; //  reserve the slot, then connect without holding the lock
    pthread_mutex_unlock(&self->lock);
    PGconn *conn = fc_pg_connect(self->url, self->module);
    if (!conn) {
        pthread_mutex_lock(&self->lock);
        self->open--;
        pthread_cond_signal(&self->freed);
        pthread_mutex_unlock(&self->lock);
    }
    return s_checked_out(self, conn);
}

void reporter_pool_release(reporter_pool_t *self, PGconn **conn_p)
{
    PGconn *conn = *conn_p;
    *conn_p = NULL;
    if (!conn)
        return;
    PGcancel *cancel = NULL;
    pthread_mutex_lock(&self->lock);
    for (int i = 0; i < self->size; i++)
        if (self->busy[i] == conn) {
            self->busy[i] = NULL;
            cancel = self->cancels[i];
            self->cancels[i] = NULL;
            break;
        }
    pthread_mutex_unlock(&self->lock);
    if (cancel)
        PQfreeCancel(cancel);
    //  Drain anything a failed streaming response left behind, then leave no
    //  transaction open: the next user must start from a clean session.
    PGresult *res;
    while ((res = PQgetResult(conn)))
        PQclear(res);
    if (PQstatus(conn) == CONNECTION_OK && PQtransactionStatus(conn) != PQTRANS_IDLE)
        fc_pg_rollback(conn);
    bool broken = PQstatus(conn) != CONNECTION_OK || PQtransactionStatus(conn) != PQTRANS_IDLE;
    if (broken)
        PQfinish(conn);
    pthread_mutex_lock(&self->lock);
    if (broken)
        self->open--;
    else
        self->idle[self->idle_n++] = conn;
    pthread_cond_signal(&self->freed);
    pthread_mutex_unlock(&self->lock);
}

int reporter_pool_cancel_busy(reporter_pool_t *self)
{
    int n = 0;
    pthread_mutex_lock(&self->lock);
    for (int i = 0; i < self->size; i++) {
        char err[256];
        if (self->cancels[i] && PQcancel(self->cancels[i], err, sizeof err))
            n++;
    }
    pthread_mutex_unlock(&self->lock);
    return n;
}

int reporter_pool_open(reporter_pool_t *self)
{
    pthread_mutex_lock(&self->lock);
    int n = self->open;
    pthread_mutex_unlock(&self->lock);
    return n;
}

int reporter_pool_busy(reporter_pool_t *self)
{
    pthread_mutex_lock(&self->lock);
    int n = self->open - self->idle_n;
    pthread_mutex_unlock(&self->lock);
    return n;
}

int reporter_pool_replay_lag(PGconn *pg, reporter_lag_t *lag)
{
    //  pg_last_xact_replay_timestamp() alone keeps growing on a caught-up standby while
    //  the primary is idle, so a standby that replayed all it received reports 0.
    static const char sql[] =
        "SELECT r::int,"
        "       CASE WHEN NOT r OR pg_last_wal_receive_lsn() IS NOT DISTINCT FROM"
        "                          pg_last_wal_replay_lsn() THEN 0"
        "            ELSE coalesce(round(1000 * extract(epoch FROM"
        "                   clock_timestamp() - pg_last_xact_replay_timestamp())), 0) END,"
        "       CASE WHEN r THEN coalesce(pg_wal_lsn_diff(pg_last_wal_receive_lsn(),"
        "                                                 pg_last_wal_replay_lsn()), 0)"
        "            ELSE 0 END"
        "  FROM pg_is_in_recovery() r";
    PGresult *res = fc_pg_query(pg, "reporter", "replay lag", sql, 0, NULL);
    if (!res)
        return -1;
    bool ok = PQntuples(res) == 1;
    if (ok) {
        lag->standby = strcmp(PQgetvalue(res, 0, 0), "1") == 0;
        lag->lag_ms = fc_pg_int(res, 0, 1);
        lag->lag_bytes = fc_pg_int(res, 0, 2);
    }
    PQclear(res);
    return ok ? 0 : -1;
}
