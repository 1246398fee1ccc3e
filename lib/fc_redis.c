/*  fc_redis: redis:// URL parsing. */
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
