/*  fc_redis: redis:// URLs, sentinel lists and targets (connecting: fc_redis_connect.c). */
#include "fc_redis.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int fc_redis_url_parse(const char *url, fc_redis_addr_t *addr)
{
    memset(addr, 0, sizeof *addr);
    addr->port = 6379;
    if (!url || strncmp(url, "redis://", 8) != 0)
        return -1;
    const char *p = url + 8;
    const char *at = strchr(p, '@');
    if (at) {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        const char *pw = colon ? colon + 1 : p;
        snprintf(addr->password, sizeof addr->password, "%.*s", (int)(at - pw), pw);
        p = at + 1;
    }
    size_t hl = strcspn(p, ":/");
    if (hl == 0 || hl >= sizeof addr->host)
        return -1;
    snprintf(addr->host, sizeof addr->host, "%.*s", (int)hl, p);
    p += hl;
    if (*p == ':') {
        char *end;
        long port = strtol(p + 1, &end, 10);
        if (end == p + 1 || port <= 0 || port > 65535)
            return -1;
        addr->port = (int)port;
        p = end;
    }
    if (*p == '/' && p[1])
        addr->db = (int)strtol(p + 1, NULL, 10);
    return 0;
}

int fc_redis_sentinels_parse(const char *list, fc_redis_node_t *out, int max)
{
    if (!list || !*list)
        return -1;
    int n = 0;
    const char *p = list;
    for (;;) {
        size_t len = strcspn(p, ",");
        const char *colon = NULL;
        for (const char *c = p; c < p + len; c++)
            if (*c == ':')
                colon = c; //  the last one: the port follows it
        if (n == max || !colon || colon == p || (size_t)(colon - p) >= sizeof out[n].host)
            return -1;
        char *end;
        long port = strtol(colon + 1, &end, 10);
        if (end == colon + 1 || end != p + len || port <= 0 || port > 65535)
            return -1;
        snprintf(out[n].host, sizeof out[n].host, "%.*s", (int)(colon - p), p);
        out[n].port = (int)port;
        n++;
        if (!p[len])
            return n;
        p += len + 1;
    }
}

int fc_redis_target_init(fc_redis_target_t *t, const char *url, const char *sentinels,
                         const char *master_name, const char **why)
{
    memset(t, 0, sizeof *t);
    *why = NULL;
    if (fc_redis_url_parse(url, &t->addr) != 0) {
        *why = "malformed redis-url (redis://[:password@]host[:port][/db])";
        return -1;
    }
    if (!sentinels || !*sentinels)
        return 0;
    t->nsentinels = fc_redis_sentinels_parse(sentinels, t->sentinels, FC_REDIS_MAX_SENTINELS);
    if (t->nsentinels < 0) {
        *why = "malformed redis-sentinels (host:port[,host:port...], at most 16)";
        return -1;
    }
    //  The name goes into a SENTINEL command as one argument; keep it to what Sentinel
    //  configurations use so a log line can print it as is.
    size_t len = master_name ? strlen(master_name) : 0;
    if (len == 0 || len >= sizeof t->master_name ||
        strspn(master_name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") !=
            len) {
        *why = "redis-master-name must be 1-127 characters of [A-Za-z0-9._-]";
        return -1;
    }
    memcpy(t->master_name, master_name, len + 1);
    return 0;
}
