/*  fc_redis_connect: connecting to the current Redis master, directly or through Redis
    Sentinel (see fc_redis.h).

    hiredis has no Sentinel client, so discovery follows the Sentinel client guidelines
    with plain commands (https://redis.io/docs/latest/develop/reference/sentinel-clients/):
    ask each sentinel in turn for the master's address with SENTINEL
    get-master-addr-by-name, then check with ROLE that the server found is a master
    before using it, since a sentinel may name the old master until the failover is
    done. A client that later gets READONLY, or loses the connection, connects again
    the same way. */
#include "fc_redis.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static redisContext *s_open(const char *host, int port, int timeout_ms, char *err, size_t esize)
{
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    redisContext *c = redisConnectWithTimeout(host, port, tv);
    if (!c || c->err) {
        snprintf(err, esize, "%s:%d: %s", host, port, c ? c->errstr : "out of memory");
        if (c)
            redisFree(c);
        return NULL;
    }
    redisSetTimeout(c, tv);
    return c;
}

//  Runs one command; 0 if it did not fail (err says why it did).
static int s_ok(redisContext *c, redisReply *r, const char *what, char *err, size_t esize)
{
    if (r && r->type != REDIS_REPLY_ERROR)
        return 0;
    //  The error text of AUTH could echo nothing secret, but keep it out of logs anyway.
    snprintf(err, esize, "%s failed: %s", what, !r ? c->errstr : "error reply");
    return -1;
}

//  AUTH and SELECT on a new connection to a data server, then ROLE if asked to.
static int s_prepare(redisContext *c, const fc_redis_target_t *t, bool check_master, char *err,
                     size_t esize)
{
    redisReply *r;
    if (*t->addr.password) {
        r = redisCommand(c, "AUTH %s", t->addr.password);
        int rc = s_ok(c, r, "AUTH", err, esize);
        freeReplyObject(r);
        if (rc)
            return -1;
    }
    if (t->addr.db) {
        r = redisCommand(c, "SELECT %d", t->addr.db);
        int rc = s_ok(c, r, "SELECT", err, esize);
        freeReplyObject(r);
        if (rc)
            return -1;
    }
    if (!check_master)
        return 0;
    r = redisCommand(c, "ROLE");
    bool master = r && r->type == REDIS_REPLY_ARRAY && r->elements >= 1 &&
                  r->element[0]->type == REDIS_REPLY_STRING &&
                  strcmp(r->element[0]->str, "master") == 0;
    if (!master)
        snprintf(err, esize, "not a master (yet): ROLE says %s",
                 r && r->type == REDIS_REPLY_ARRAY && r->elements >= 1 &&
                         r->element[0]->type == REDIS_REPLY_STRING
                     ? r->element[0]->str
                     : "nothing");
    freeReplyObject(r);
    return master ? 0 : -1;
}

//  Asks one sentinel where the master is. 0 with host/port, or -1 (err).
static int s_ask(const fc_redis_node_t *s, const char *name, int timeout_ms, char *host,
                 size_t hsize, int *port, char *err, size_t esize)
{
    redisContext *c = s_open(s->host, s->port, timeout_ms, err, esize);
    if (!c)
        return -1;
    redisReply *r = redisCommand(c, "SENTINEL get-master-addr-by-name %s", name);
    int rc = -1;
    if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
        r->element[0]->type == REDIS_REPLY_STRING && r->element[1]->type == REDIS_REPLY_STRING &&
        r->element[0]->len > 0 && r->element[0]->len < hsize) {
        snprintf(host, hsize, "%s", r->element[0]->str);
        long p = strtol(r->element[1]->str, NULL, 10);
        if (p > 0 && p <= 65535) {
            *port = (int)p;
            rc = 0;
        }
    }
    if (rc)
        snprintf(err, esize, "sentinel %s:%d: %s", s->host, s->port,
                 !r                             ? c->errstr
                 : r->type == REDIS_REPLY_NIL   ? "does not know the master name"
                 : r->type == REDIS_REPLY_ERROR ? "error reply"
                                                : "unexpected reply");
    freeReplyObject(r);
    redisFree(c);
    return rc;
}

redisContext *fc_redis_connect(const fc_redis_target_t *t, int timeout_ms, char *where,
                               size_t wsize, char *err, size_t esize)
{
    *err = 0;
    if (!t->nsentinels) {
        snprintf(where, wsize, "%s:%d", t->addr.host, t->addr.port);
        redisContext *c = s_open(t->addr.host, t->addr.port, timeout_ms, err, esize);
        if (c && s_prepare(c, t, false, err, esize) != 0) {
            redisFree(c);
            c = NULL;
        }
        return c;
    }
    snprintf(where, wsize, "master '%s'", t->master_name);
    //  A sentinel that does not answer quickly is skipped: the guidelines suggest a few
    //  hundred milliseconds, the next one may know.
    int ask_ms = timeout_ms < 500 ? timeout_ms : 500;
    for (int i = 0; i < t->nsentinels; i++) {
        char host[256], why[256];
        int port;
        if (s_ask(&t->sentinels[i], t->master_name, ask_ms, host, sizeof host, &port, err, esize) !=
            0)
            continue; //  err says which sentinel and why; the next may know
        snprintf(where, wsize, "%s:%d", host, port);
        redisContext *c = s_open(host, port, timeout_ms, why, sizeof why);
        if (c && s_prepare(c, t, true, why, sizeof why) == 0)
            return c;
        if (c)
            redisFree(c);
        snprintf(err, esize, "sentinel %s:%d names %s:%d: %s", t->sentinels[i].host,
                 t->sentinels[i].port, host, port, why);
    }
    return NULL;
}

bool fc_redis_not_master(const redisReply *r)
{
    return r && r->type == REDIS_REPLY_ERROR && r->str && strncmp(r->str, "READONLY", 8) == 0;
}
