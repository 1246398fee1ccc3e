/*  fc_redis: where Redis is, one home for every program that talks to Redis.

    Two ways to name it: a redis:// URL (one server), or Redis Sentinel: a list of
    sentinels and a master name, the URL then giving only the password and database.
    Parsing is plain C (fc_base). Connecting needs hiredis, so fc_redis_connect lives in
    fc_redis_connect.c, a library of its own (fc_redis_connect) that only the programs
    linking hiredis link. */
#ifndef FC_REDIS_H
#define FC_REDIS_H

#include <stdbool.h>
#include <stddef.h>

typedef struct {
    char host[256];
    int port;           //  default 6379
    int db;             //  default 0
    char password[256]; //  "" when the URL has none
} fc_redis_addr_t;

//  Parses "redis://[[user]:password@]host[:port][/db]". Returns 0, or -1 if it is not
//  such a URL (no scheme, empty host, port out of range).
int fc_redis_url_parse(const char *url, fc_redis_addr_t *addr);

#define FC_REDIS_MAX_SENTINELS 16
#define FC_REDIS_MAX_NAME      128

typedef struct {
    char host[256];
    int port;
} fc_redis_node_t;

//  Where to connect: the URL's server, or the master the sentinels name.
typedef struct {
    fc_redis_addr_t addr; //  password and db always; host:port when nsentinels == 0
    fc_redis_node_t sentinels[FC_REDIS_MAX_SENTINELS];
    int nsentinels;
    char master_name[FC_REDIS_MAX_NAME];
} fc_redis_target_t;

//  Parses "host:port[,host:port...]" (the port is required: Sentinel has no usual
//  port worth guessing). Returns how many (1..max), or -1 if malformed or more than max.
int fc_redis_sentinels_parse(const char *list, fc_redis_node_t *out, int max);

//  The three settings of a service (--redis-url, --redis-sentinels, --redis-master-name)
//  into a target; sentinels NULL or "" means none. Returns 0, or -1 with *why set (a
//  constant message that names no secret).
int fc_redis_target_init(fc_redis_target_t *t, const char *url, const char *sentinels,
                         const char *master_name, const char **why);

//  --- fc_redis_connect.c (hiredis) ---------------------------------------------------
struct redisContext;
struct redisReply;

/*  Connects to the current master of t, AUTH and SELECT done. With sentinels it asks
    each in turn `SENTINEL get-master-addr-by-name` and connects to the first address a
    sentinel gives whose server then says ROLE master (a sentinel may still name the old
    master during a failover). timeout_ms bounds each connect and command. Returns the
    context (redisFree it), or NULL with err saying why; where gets "host:port" of the
    server (or of the last one tried). */
struct redisContext *fc_redis_connect(const fc_redis_target_t *t, int timeout_ms, char *where,
                                      size_t wsize, char *err, size_t esize);

//  True for an error reply that means the server is not the master any more (READONLY
//  from a demoted master): drop the connection and connect again.
bool fc_redis_not_master(const struct redisReply *r);

#endif
