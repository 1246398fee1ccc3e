/*  fc_summary: sum.<tenant> encoder and bounded decoder (see fc_summary.h) */
#include "fc_summary.h"

#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

#include "fc_mp.h"

//  --- encoding --------------------------------------------------------------------

static void s_pack_str(msgpack_packer *pk, const char *s)
{
    msgpack_pack_str_with_body(pk, s, strlen(s));
}

static void s_pack_pair(msgpack_packer *pk, const fc_summary_pair_t *p)
{
    msgpack_pack_array(pk, 2);
    s_pack_str(pk, p->key ? p->key : "");
    msgpack_pack_int64(pk, p->value);
}

//  Costliest first, ties by key: the same order for every consumer and every run.
static int s_rank_cmp(const void *a, const void *b)
{
    const fc_summary_pair_t *x = a, *y = b;
    if (x->value != y->value)
        return x->value > y->value ? -1 : 1;
    return strcmp(x->key, y->key);
}

//  [[key, cost], ...]: the top entries of one breakdown. -1 on OOM.
static int s_pack_head(msgpack_packer *pk, const fc_summary_head_t *h, int top)
{
    fc_summary_pair_t *items = malloc((h->n + 1) * sizeof *items);
    if (!items)
        return -1;
    memcpy(items, h->entries, h->n * sizeof *items);
    qsort(items, h->n, sizeof *items, s_rank_cmp);
    size_t n = h->n > (size_t)(top > 0 ? top : 0) ? (size_t)(top > 0 ? top : 0) : h->n;
    msgpack_pack_array(pk, n);
    for (size_t i = 0; i < n; i++)
        s_pack_pair(pk, &items[i]);
    free(items);
    return 0;
}

//  {"cost_nusd":..,...,"agents":n}
static void s_pack_totals(msgpack_packer *pk, const fc_summary_part_t *part)
{
    msgpack_pack_map(pk, part->ntotals + 1);
    for (size_t i = 0; i < part->ntotals; i++) {
        s_pack_str(pk, part->totals[i].key);
        msgpack_pack_int64(pk, part->totals[i].value);
    }
    s_pack_str(pk, "agents");
    msgpack_pack_int64(pk, part->agents);
}

//  {"agent_type":[[k,c]...], "model":..., "agent":..., "kind":..., "task":...}
static int s_pack_heads(msgpack_packer *pk, const fc_summary_part_t *part, int top)
{
    msgpack_pack_map(pk, (size_t)part->nheads + 1);
    for (int d = 0; d < part->nheads; d++) {
        s_pack_str(pk, part->heads[d].name);
        if (s_pack_head(pk, &part->heads[d], top) != 0)
            return -1;
    }
    s_pack_str(pk, "task");
    msgpack_pack_array(pk, part->ntasks);
    for (size_t i = 0; i < part->ntasks; i++)
        s_pack_pair(pk, &part->tasks[i]);
    return 0;
}

uint8_t *fc_summary_encode(const fc_summary_msg_t *m, size_t *size)
{
    if (m->day_part.nheads < 0 || m->day_part.nheads > FC_SUMMARY_MAX_HEADS ||
        m->month_part.nheads < 0 || m->month_part.nheads > FC_SUMMARY_MAX_HEADS)
        return NULL;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 14);
    s_pack_str(&pk, "v");
    msgpack_pack_uint32(&pk, FC_SUMMARY_VERSION);
    s_pack_str(&pk, "tenant");
    s_pack_str(&pk, m->tenant);
    s_pack_str(&pk, "revision");
    msgpack_pack_int64(&pk, m->revision);
    s_pack_str(&pk, "tz");
    s_pack_str(&pk, m->tz);
    s_pack_str(&pk, "day");
    s_pack_str(&pk, m->day);
    s_pack_str(&pk, "month");
    s_pack_str(&pk, m->month);
    s_pack_str(&pk, "closed");
    if (m->closed)
        msgpack_pack_true(&pk);
    else
        msgpack_pack_false(&pk);
    s_pack_str(&pk, "ts");
    msgpack_pack_int64(&pk, m->ts_us);
    s_pack_str(&pk, "as_of");
    msgpack_pack_int64(&pk, m->as_of_us);
    s_pack_str(&pk, "seqs");
    msgpack_pack_map(&pk, m->nseqs);
    for (size_t i = 0; i < m->nseqs; i++) {
        s_pack_str(&pk, m->seqs[i].ingest_id);
        msgpack_pack_uint64(&pk, m->seqs[i].seq);
    }
    s_pack_str(&pk, "day_totals");
    s_pack_totals(&pk, &m->day_part);
    s_pack_str(&pk, "month_totals");
    s_pack_totals(&pk, &m->month_part);
    s_pack_str(&pk, "day_top");
    int rc = s_pack_heads(&pk, &m->day_part, m->top);
    s_pack_str(&pk, "month_top");
    rc |= s_pack_heads(&pk, &m->month_part, m->top);
    if (rc != 0 || !sb.data) {
        msgpack_sbuffer_destroy(&sb);
        return NULL;
    }
    *size = sb.size;
    return (uint8_t *)msgpack_sbuffer_release(&sb);
}

//  --- decoding --------------------------------------------------------------------

//  Reads a map of integer totals, keeping the four the alerter uses. *billed is left
//  alone when absent.
static fc_code_t s_totals(fc_mp_reader_t *r, const fc_mp_item_t *map, int64_t *cost,
                          int64_t *events, int64_t *unpriced, int64_t *billed, const char *field,
                          fc_proto_error_t *err)
{
    if (map->type != FC_MP_MAP)
        return fc_mp_error(err, FC_E_TYPE, field, "not a map");
    if (map->len > FC_MAX_KEYS)
        return fc_mp_error(err, FC_E_TOO_LARGE, field, "%u keys", map->len);
    for (uint32_t i = 0; i < map->len; i++) {
        fc_mp_item_t k, v;
        if (fc_mp_next(r, &k) || k.type != FC_MP_STR || fc_mp_next(r, &v))
            return fc_mp_error(err, FC_E_MALFORMED, field, "bad key or value");
        int64_t *dst = FC_MP_KEY(&k, "cost_nusd")         ? cost
                       : FC_MP_KEY(&k, "events")          ? events
                       : FC_MP_KEY(&k, "unpriced_events") ? unpriced
                       : FC_MP_KEY(&k, "billed_nusd")     ? billed
                                                          : NULL;
        if (!dst) {
            fc_code_t rc = fc_mp_skip(r, &v, err);
            if (rc != FC_OK)
                return rc;
            continue;
        }
        if (fc_mp_get_int(&v, dst) != 0)
            return fc_mp_error(err, FC_E_TYPE, field, "%.*s is not an integer", (int)k.len,
                               (const char *)k.ptr);
        if (*dst < 0)
            return fc_mp_error(err, FC_E_RANGE, field, "negative %.*s", (int)k.len,
                               (const char *)k.ptr);
    }
    return FC_OK;
}

static bool s_digits(const char *s, const char *shape)
{
    for (; *shape; s++, shape++)
        if (*shape == '9' ? (*s < '0' || *s > '9') : *s != *shape)
            return false;
    return *s == 0;
}

fc_code_t fc_summary_decode(const uint8_t *data, size_t size, fc_summary_t *out,
                            fc_proto_error_t *err)
{
    memset(out, 0, sizeof *out);
    if (size > FC_SUMMARY_MAX)
        return fc_mp_error(err, FC_E_TOO_LARGE, "summary", "%zu bytes", size);
    fc_mp_reader_t r = {data, data + size};
    fc_mp_item_t map;
    fc_code_t rc = fc_mp_envelope(&r, size, &map, "summary", err);
    if (rc != FC_OK)
        return rc;
    static const char *const keys[] = {"v",          "tenant",       "day",   "month",
                                       "day_totals", "month_totals", "as_of", "closed"};
    enum { K_V, K_TENANT, K_DAY, K_MONTH, K_DAY_TOTALS, K_MONTH_TOTALS, K_AS_OF, K_CLOSED, K_N };
    uint32_t seen = 0, version = 0;
    int64_t ignored = 0;
    out->day_billed_nusd = out->month_billed_nusd = -1; //  absent until read
    for (uint32_t i = 0; i < map.len; i++) {
        int index;
        fc_mp_item_t v;
        rc = fc_mp_envelope_pair(&r, keys, K_N, &seen, &index, &v, err);
        if (rc != FC_OK)
            return rc;
        switch (index) {
        case K_V:
            rc = fc_mp_version(&v, &version, err);
            break;
        case K_TENANT:
            rc = fc_mp_copy_str(&v, out->tenant, sizeof out->tenant, "tenant", err);
            break;
        case K_DAY:
            rc = fc_mp_copy_str(&v, out->day, sizeof out->day, "day", err);
            break;
        case K_MONTH:
            rc = fc_mp_copy_str(&v, out->month, sizeof out->month, "month", err);
            break;
        case K_DAY_TOTALS:
            rc = s_totals(&r, &v, &out->day_cost_nusd, &ignored, &out->day_unpriced,
                          &out->day_billed_nusd, "day_totals", err);
            break;
        case K_MONTH_TOTALS:
            rc = s_totals(&r, &v, &out->month_cost_nusd, &out->month_events, &ignored,
                          &out->month_billed_nusd, "month_totals", err);
            break;
        case K_AS_OF:
            if (fc_mp_get_int(&v, &out->as_of_us) != 0)
                rc = fc_mp_error(err, FC_E_TYPE, "as_of", "not an integer");
            break;
        case K_CLOSED:
            if (v.type != FC_MP_BOOL)
                rc = fc_mp_error(err, FC_E_TYPE, "closed", "not a boolean");
            else
                out->closed = v.b;
            break;
        default:
            rc = fc_mp_skip(&r, &v, err);
        }
        if (rc != FC_OK)
            return rc;
    }
    if (r.p != r.end)
        return fc_mp_error(err, FC_E_MALFORMED, "summary", "bytes after the map");
    const uint32_t required = 1u << K_V | 1u << K_TENANT | 1u << K_DAY | 1u << K_MONTH |
                              1u << K_DAY_TOTALS | 1u << K_MONTH_TOTALS;
    if ((seen & required) != required)
        return fc_mp_error(err, FC_E_MISSING, "summary",
                           "v, tenant, day, month, day_totals and "
                           "month_totals are required");
    if (!fc_tenant_valid(out->tenant))
        return fc_mp_error(err, FC_E_RANGE, "tenant", "invalid tenant");
    if (!s_digits(out->day, "9999-99-99") || !s_digits(out->month, "9999-99"))
        return fc_mp_error(err, FC_E_RANGE, "day", "day or month malformed");
    if (out->as_of_us < 0)
        return fc_mp_error(err, FC_E_RANGE, "as_of", "negative");
    if (out->day_billed_nusd < 0)
        out->day_billed_nusd = out->day_cost_nusd;
    if (out->month_billed_nusd < 0)
        out->month_billed_nusd = out->month_cost_nusd;
    return FC_OK;
}
