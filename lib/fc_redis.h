/*  fc_redis: redis:// URLs, one parser for every program that talks to Redis. */
#ifndef FC_REDIS_H
#define FC_REDIS_H

typedef struct {
    char host[256];
    int port;           //  default 6379
    int db;             //  default 0
    char password[256]; //  "" when the URL has none
} fc_redis_addr_t;

//  Parses "redis://[[user]:password@]host[:port][/db]". Returns 0, or -1 if it is not
//  such a URL (no scheme, empty host, port out of range).
int fc_redis_url_parse(const char *url, fc_redis_addr_t *addr);

#endif
