/*  aggregator_summary: sum.<tenant> encoding (see aggregator_summary.h). */
#include "aggregator_summary.h"

#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

#include "aggregator_redis.h"

static void s_key(msgpack_packer *pk, const char *s)
{
    msgpack_pack_str_with_body(pk, s, strlen(s));
}

int64_t aggregator_hash_int(const redisReply *h, const char *field)
{
    if (!h || h->type != REDIS_REPLY_ARRAY)
        return 0;
    for (size_t i = 0; i + 1 < h->elements; i += 2)
        if (h->element[i]->type == REDIS_REPLY_STRING && strcmp(h->element[i]->str, field) == 0)
            return h->element[i + 1]->str ? strtoll(h->element[i + 1]->str, NULL, 10) : 0;
    return 0;
}

typedef struct {
    const char *key;
    int64_t cost;
} s_head_t;

static int s_head_cmp(const void *a, const void *b)
{
    const s_head_t *x = a, *y = b;
    if (x->cost != y->cost)
        return x->cost > y->cost ? -1 : 1;
    return strcmp(x->key, y->key);
}

//  The top entries of one breakdown (hash fields "<dim>:<key>") as [[key, cost], ...].
static void s_pack_head(msgpack_packer *pk, const redisReply *h, const char *dim, int top)
{
    size_t plen = strlen(dim), n = 0;
    s_head_t *items = calloc(h->elements / 2 + 1, sizeof *items);
    for (size_t i = 0; items && i + 1 < h->elements; i += 2) {
        const char *f = h->element[i]->str;
        if (f && strncmp(f, dim, plen) == 0 && f[plen] == ':')
            items[n++] = (s_head_t){f + plen + 1, strtoll(h->element[i + 1]->str, NULL, 10)};
    }
    qsort(items, n, sizeof *items, s_head_cmp);
    if (n > (size_t)top)
        n = (size_t)top;
    msgpack_pack_array(pk, n);
    for (size_t i = 0; i < n; i++) {
        msgpack_pack_array(pk, 2);
        s_key(pk, items[i].key);
        msgpack_pack_int64(pk, items[i].cost);
    }
    free(items);
}

static bool s_part_ok(const redisReply *p)
{
    return p->type == REDIS_REPLY_ARRAY && p->elements == 4 &&
           p->element[0]->type == REDIS_REPLY_ARRAY && p->element[1]->type == REDIS_REPLY_INTEGER &&
           p->element[2]->type == REDIS_REPLY_ARRAY && p->element[3]->type == REDIS_REPLY_ARRAY &&
           p->element[2]->elements == p->element[3]->elements;
}

//  {"cost_nusd":..,...,"agents":n}
static void s_pack_totals(msgpack_packer *pk, const redisReply *part)
{
    msgpack_pack_map(pk, AGGREGATOR_TOTALS + 1);
    for (int i = 0; i < AGGREGATOR_TOTALS; i++) {
        s_key(pk, aggregator_total_fields[i]);
        msgpack_pack_int64(pk, aggregator_hash_int(part->element[0], aggregator_total_fields[i]));
    }
    s_key(pk, "agents");
    msgpack_pack_int64(pk, part->element[1]->integer);
}

//  {"agent_type":[[k,c]...], "model":..., "agent":..., "kind":..., "task":...}
static void s_pack_heads(msgpack_packer *pk, const redisReply *part, int top)
{
    msgpack_pack_map(pk, AGGREGATOR_DIMS + 1);
    for (int d = 0; d < AGGREGATOR_DIMS; d++) {
        s_key(pk, aggregator_dims[d]);
        s_pack_head(pk, part->element[0], aggregator_dims[d], top);
    }
    s_key(pk, "task");
    const redisReply *ids = part->element[2], *costs = part->element[3];
    msgpack_pack_array(pk, ids->elements);
    for (size_t i = 0; i < ids->elements; i++) {
        msgpack_pack_array(pk, 2);
        s_key(pk, ids->element[i]->str ? ids->element[i]->str : "");
        msgpack_pack_int64(pk,
                           costs->element[i]->str ? strtoll(costs->element[i]->str, NULL, 10) : 0);
    }
}

uint8_t *aggregator_summary_encode(const aggregator_summary_t *s, const redisReply *reply,
                                   size_t *size, int64_t *rev)
{
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 4 ||
        reply->element[0]->type != REDIS_REPLY_INTEGER ||
        reply->element[1]->type != REDIS_REPLY_ARRAY || !s_part_ok(reply->element[2]) ||
        !s_part_ok(reply->element[3]))
        return NULL;
    *rev = reply->element[0]->integer;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 14);
    s_key(&pk, "v");
    msgpack_pack_uint32(&pk, AGGREGATOR_SUMMARY_VERSION);
    s_key(&pk, "tenant");
    s_key(&pk, s->tenant);
    s_key(&pk, "revision");
    msgpack_pack_int64(&pk, *rev);
    s_key(&pk, "tz");
    s_key(&pk, s->tz);
    s_key(&pk, "day");
    s_key(&pk, s->day);
    s_key(&pk, "month");
    s_key(&pk, s->month);
    s_key(&pk, "closed");
    if (s->closed)
        msgpack_pack_true(&pk);
    else
        msgpack_pack_false(&pk);
    s_key(&pk, "ts");
    msgpack_pack_int64(&pk, s->ts_us);
    const redisReply *applied = reply->element[1];
    s_key(&pk, "as_of");
    msgpack_pack_int64(&pk, aggregator_hash_int(applied, "_ts"));
    s_key(&pk, "seqs");
    size_t n = 0;
    for (size_t i = 0; i + 1 < applied->elements; i += 2)
        n += applied->element[i]->str && applied->element[i]->str[0] != '_';
    msgpack_pack_map(&pk, n);
    for (size_t i = 0; i + 1 < applied->elements; i += 2)
        if (applied->element[i]->str && applied->element[i]->str[0] != '_') {
            s_key(&pk, applied->element[i]->str);
            msgpack_pack_uint64(&pk, strtoull(applied->element[i + 1]->str, NULL, 10));
        }
    s_key(&pk, "day_totals");
    s_pack_totals(&pk, reply->element[2]);
    s_key(&pk, "month_totals");
    s_pack_totals(&pk, reply->element[3]);
    s_key(&pk, "day_top");
    s_pack_heads(&pk, reply->element[2], s->top);
    s_key(&pk, "month_top");
    s_pack_heads(&pk, reply->element[3], s->top);
    if (!sb.data) {
        msgpack_sbuffer_destroy(&sb);
        return NULL;
    }
    *size = sb.size;
    return (uint8_t *)msgpack_sbuffer_release(&sb);
}
