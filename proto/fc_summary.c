/*  fc_summary: bounded decoder of sum.<tenant> (see fc_summary.h) */
#include "fc_summary.h"

#include <string.h>

#include "fc_mp.h"

//  Reads a map of integer totals, keeping the three the alerter uses.
static fc_code_t s_totals(fc_mp_reader_t *r, const fc_mp_item_t *map, int64_t *cost,
                          int64_t *events, int64_t *unpriced, const char *field,
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
    static const char *const keys[] = {"v",          "tenant",       "day",  "month",
                                       "day_totals", "month_totals", "as_of"};
    enum { K_V, K_TENANT, K_DAY, K_MONTH, K_DAY_TOTALS, K_MONTH_TOTALS, K_AS_OF, K_N };
    uint32_t seen = 0, version = 0;
    int64_t ignored = 0;
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
            rc = s_totals(&r, &v, &out->day_cost_nusd, &ignored, &out->day_unpriced, "day_totals",
                          err);
            break;
        case K_MONTH_TOTALS:
            rc = s_totals(&r, &v, &out->month_cost_nusd, &out->month_events, &ignored,
                          "month_totals", err);
            break;
        case K_AS_OF:
            if (fc_mp_get_int(&v, &out->as_of_us) != 0)
                rc = fc_mp_error(err, FC_E_TYPE, "as_of", "not an integer");
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
    return FC_OK;
}
