/*  reporter_pool: a few Postgres connections shared by the HTTP threads. Connections
    are opened on demand up to the pool size and reused; a connection that broke, or
    comes back inside a transaction, is closed or rolled back on release. */
#ifndef REPORTER_POOL_H
#define REPORTER_POOL_H

#include <libpq-fe.h>

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

//  Connections open now / checked out now.
int reporter_pool_open(reporter_pool_t *self);
int reporter_pool_busy(reporter_pool_t *self);

#endif
