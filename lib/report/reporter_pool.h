/*  reporter_pool: a few Postgres connections shared by the HTTP threads. Connections
    are opened on demand up to the pool size and reused; a connection that broke, or
    comes back inside a transaction, is closed or rolled back on release. */
#ifndef REPORTER_POOL_H
#define REPORTER_POOL_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct _reporter_pool_t reporter_pool_t;

//  A pool of at most size connections to url. NULL on OOM.
reporter_pool_t *reporter_pool_new(const char *url, int size, const char *module);
//  Closes every connection (all must have been released) and NULLs the pointer.
void reporter_pool_destroy(reporter_pool_t **self_p);

//  A connection for the caller's exclusive use, waiting up to timeout_ms for one to
//  be free. NULL on timeout or when a new connection cannot be made (logged).
PGconn *reporter_pool_acquire(reporter_pool_t *self, int timeout_ms);
//  Gives the connection back and NULLs the caller's pointer.
void reporter_pool_release(reporter_pool_t *self, PGconn **conn_p);

/*  How far the server behind a connection is behind its primary (docs/SCALING.md,
    "A standby for reads"). On a primary: standby false, both figures 0. On a streaming
    standby: 0 when it has replayed everything it received, else the age of the last
    transaction replayed, and the WAL received but not yet replayed. What the primary
    wrote and the standby has not even received is invisible from the standby (the
    primary's pg_stat_replication shows it). Returns 0, or -1 on a query error. */
typedef struct {
    bool standby;
    int64_t lag_ms, lag_bytes;
} reporter_lag_t;
int reporter_pool_replay_lag(PGconn *pg, reporter_lag_t *lag);

//  Connections open now / checked out now.
//  Asks Postgres to cancel what every checked-out connection runs now (a stop that
//  must not wait for a query stuck on a lock). Returns how many were asked.
int reporter_pool_cancel_busy(reporter_pool_t *self);
int reporter_pool_open(reporter_pool_t *self);
int reporter_pool_busy(reporter_pool_t *self);

#endif
