/*  fc_mp: bounded msgpack reader and small shared helpers (see fc_mp.h). */
#include "fc_mp.h"

#include "fc_utf8.h"

#include <assert.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t s_be(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = (v << 8) | p[i];
    return v;
}

//  Read n big-endian bytes if available.
static int s_take(fc_mp_reader_t *r, int n, uint64_t *v)
{
    if (r->end - r->p < n)
        return -1;
    *v = s_be(r->p, n);
    r->p += n;
    return 0;
}

static int s_payload(fc_mp_reader_t *r, fc_mp_item_t *item, fc_mp_type_t type, uint64_t len)
{
    if ((uint64_t)(r->end - r->p) < len)
        return -1;
    item->type = type;
    item->ptr = r->p;
    item->len = (uint32_t)len;
    r->p += len;
    return 0;
}

//  Every element takes at least one byte (two per map entry): a count that the rest of
//  the input cannot hold is rejected here, before any caller loops or allocates on it.
static int s_container(fc_mp_reader_t *r, fc_mp_item_t *item, fc_mp_type_t type, uint64_t n)
{
    uint64_t need = type == FC_MP_MAP ? n * 2 : n;
    if ((uint64_t)(r->end - r->p) < need)
        return -1;
    item->type = type;
    item->len = (uint32_t)n;
    return 0;
}

int fc_mp_next(fc_mp_reader_t *r, fc_mp_item_t *item)
{
    if (r->p >= r->end)
        return -1;
    uint8_t c = *r->p++;
    uint64_t v;
    if (c <= 0x7f) {
        item->type = FC_MP_UINT;
        item->u = c;
        return 0;
    }
    if (c >= 0xe0) {
        item->type = FC_MP_INT;
        item->i = (int8_t)c;
        return 0;
    }
    if ((c & 0xf0) == 0x80)
        return s_container(r, item, FC_MP_MAP, c & 0x0f);
    if ((c & 0xf0) == 0x90)
        return s_container(r, item, FC_MP_ARRAY, c & 0x0f);
    if ((c & 0xe0) == 0xa0)
        return s_payload(r, item, FC_MP_STR, c & 0x1f);
    switch (c) {
    case 0xc0:
        item->type = FC_MP_NIL;
        return 0;
    case 0xc2:
    case 0xc3:
        item->type = FC_MP_BOOL;
        item->b = c == 0xc3;
        return 0;
    case 0xc4:
    case 0xc5:
    case 0xc6:
        if (s_take(r, 1 << (c - 0xc4), &v))
            return -1;
        return s_payload(r, item, FC_MP_BIN, v);
    case 0xc7:
    case 0xc8:
    case 0xc9:
        if (s_take(r, 1 << (c - 0xc7), &v) || r->p >= r->end)
            return -1;
        r->p++; //  ext type byte
        return s_payload(r, item, FC_MP_EXT, v);
    case 0xca: {
        if (s_take(r, 4, &v))
            return -1;
        uint32_t bits = (uint32_t)v;
        float f;
        memcpy(&f, &bits, 4);
        item->type = FC_MP_FLOAT;
        item->d = f;
        return 0;
    }
    case 0xcb:
        if (s_take(r, 8, &v))
            return -1;
        memcpy(&item->d, &v, 8);
        item->type = FC_MP_FLOAT;
        return 0;
    case 0xcc:
    case 0xcd:
    case 0xce:
    case 0xcf:
        if (s_take(r, 1 << (c - 0xcc), &v))
            return -1;
        item->type = FC_MP_UINT;
        item->u = v;
        return 0;
    case 0xd0:
    case 0xd1:
    case 0xd2:
    case 0xd3: {
        int n = 1 << (c - 0xd0);
        if (s_take(r, n, &v))
            return -1;
        //  sign-extend from n bytes
        int shift = 64 - 8 * n;
        int64_t s = (int64_t)(v << shift) >> shift;
        if (s >= 0) {
            item->type = FC_MP_UINT;
            item->u = (uint64_t)s;
        } else {
            item->type = FC_MP_INT;
            item->i = s;
        }
        return 0;
    }
    case 0xd4:
    case 0xd5:
    case 0xd6:
    case 0xd7:
    case 0xd8:
        if (r->p >= r->end)
            return -1;
        r->p++; //  ext type byte
        return s_payload(r, item, FC_MP_EXT, (uint64_t)1 << (c - 0xd4));
    case 0xd9:
    case 0xda:
    case 0xdb:
        if (s_take(r, 1 << (c - 0xd9), &v))
            return -1;
        return s_payload(r, item, FC_MP_STR, v);
    case 0xdc:
    case 0xdd:
        if (s_take(r, c == 0xdc ? 2 : 4, &v))
            return -1;
        return s_container(r, item, FC_MP_ARRAY, v);
    case 0xde:
    case 0xdf:
        if (s_take(r, c == 0xde ? 2 : 4, &v))
            return -1;
        return s_container(r, item, FC_MP_MAP, v);
    default: //  0xc1: never used
        return -1;
    }
}

int fc_mp_skip_body(fc_mp_reader_t *r, const fc_mp_item_t *item, int depth_left, bool *too_deep)
{
    if (item->type != FC_MP_ARRAY && item->type != FC_MP_MAP)
        return 0;
    if (depth_left <= 0) {
        *too_deep = true;
        return -1;
    }
    uint64_t n = item->type == FC_MP_MAP ? (uint64_t)item->len * 2 : item->len;
    for (uint64_t i = 0; i < n; i++) {
        fc_mp_item_t sub;
        if (fc_mp_next(r, &sub) || fc_mp_skip_body(r, &sub, depth_left - 1, too_deep))
            return -1;
    }
    return 0;
}

int fc_mp_get_int(const fc_mp_item_t *item, int64_t *out)
{
    if (item->type == FC_MP_INT) {
        *out = item->i;
        return 0;
    }
    if (item->type != FC_MP_UINT)
        return -1;
    if (item->u > (uint64_t)INT64_MAX)
        return -2;
    *out = (int64_t)item->u;
    return 0;
}

fc_code_t fc_mp_error(fc_proto_error_t *err, fc_code_t code, const char *field, const char *fmt,
                      ...)
{
    if (err) {
        err->code = code;
        snprintf(err->field, sizeof err->field, "%s", field ? field : "");
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->reason, sizeof err->reason, fmt, ap);
        va_end(ap);
    }
    return code;
}

bool fc_mp_name_valid(const char *s, size_t max)
{
    size_t i = 0;
    for (; s[i]; i++) {
        char c = s[i];
        bool ok =
            (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (i > 0 && (c == '_' || c == '-'));
        if (!ok || i >= max)
            return false;
    }
    return i > 0;
}

fc_code_t fc_mp_copy_str(const fc_mp_item_t *item, char *dst, size_t cap, const char *field,
                         fc_proto_error_t *err)
{
    if (item->type != FC_MP_STR)
        return fc_mp_error(err, FC_E_TYPE, field, "expected a string");
    if (item->len > cap)
        return fc_mp_error(err, FC_E_TOO_LARGE, field, "string of %u bytes, limit %zu", item->len,
                           cap);
    if (memchr(item->ptr, 0, item->len))
        return fc_mp_error(err, FC_E_RANGE, field, "string contains a NUL byte");
    memcpy(dst, item->ptr, item->len);
    dst[item->len] = 0;
    return FC_OK;
}

int fc_mp_fixbuf_write(void *data, const char *buf, size_t len)
{
    fc_mp_fixbuf_t *fb = data;
    if (fb->overflow || fb->cap - fb->len < len) {
        fb->overflow = true;
        return -1;
    }
    memcpy(fb->buf + fb->len, buf, len);
    fb->len += len;
    return 0;
}

int fc_mp_dynbuf_write(void *data, const char *buf, size_t len)
{
    fc_mp_dynbuf_t *db = data;
    if (db->failed)
        return -1;
    if (db->cap - db->len < len) {
        size_t cap = db->cap ? db->cap : 256;
        while (cap - db->len < len)
            cap *= 2;
        uint8_t *grown = realloc(db->buf, cap);
        if (!grown) {
            db->failed = true;
            return -1;
        }
        db->buf = grown;
        db->cap = cap;
    }
    memcpy(db->buf + db->len, buf, len);
    db->len += len;
    return 0;
}

uint8_t *fc_mp_dynbuf_release(fc_mp_dynbuf_t *db, size_t *size)
{
    uint8_t *data = db->buf;
    *size = db->len;
    if (db->failed) {
        free(data);
        data = NULL;
        *size = 0;
    }
    db->buf = NULL;
    db->cap = db->len = 0;
    db->failed = false;
    return data;
}

//  ---------------------------------------------------------------------------------
//  Field tables

typedef char s_label_t[FC_MAX_LABEL + 1];

#define AT(obj, off, T)  ((T *)((char *)(obj) + (off)))
#define CAT(obj, off, T) ((const T *)((const char *)(obj) + (off)))

void fc_mp_clear_fields(const fc_mp_field_t *fields, size_t n, void *obj)
{
    for (size_t i = 0; i < n; i++) {
        const fc_mp_field_t *f = &fields[i];
        switch (f->kind) {
        case FC_F_STR:
            *AT(obj, f->off, char) = 0;
            break;
        case FC_F_INT:
            *AT(obj, f->off, int64_t) = 0;
            break;
        case FC_F_DBL:
            *AT(obj, f->off, double) = 0;
            break;
        case FC_F_BOOL:
            *AT(obj, f->off, bool) = false;
            break;
        case FC_F_ID:
            memset(AT(obj, f->off, uint8_t), 0, 16);
            break;
        case FC_F_TYPE:
            *AT(obj, f->off, fc_event_type_t) = FC_EV_INVALID;
            break;
        case FC_F_LABELS:
        case FC_F_ATTRS:
            break; //  the count (has_off) says how many are set
        }
        if (f->has_off < 0)
            continue;
        if (f->kind == FC_F_LABELS || f->kind == FC_F_ATTRS)
            *AT(obj, f->has_off, int) = 0;
        else
            *AT(obj, f->has_off, bool) = false;
    }
}

//  Look a key up, starting at *hint: encoders write keys in table order, so the next
//  key is usually the next field and the scan ends at once.
static const fc_mp_field_t *s_find(const fc_mp_field_t *fields, size_t n, const fc_mp_item_t *key,
                                   size_t *hint)
{
    if (key->len == 0)
        return NULL;
    for (size_t k = 0; k < n; k++) {
        size_t i = *hint + k < n ? *hint + k : *hint + k - n;
        if (fields[i].klen == key->len && fields[i].key[0] == (char)key->ptr[0] &&
            memcmp(fields[i].key, key->ptr, key->len) == 0) {
            *hint = i + 1 < n ? i + 1 : 0;
            return &fields[i];
        }
    }
    return NULL;
}

static fc_code_t s_truncated(fc_proto_error_t *err, const char *field)
{
    return fc_mp_error(err, FC_E_MALFORMED, field, "truncated or invalid msgpack");
}

//  Error field names are built only on failure: "labels[3]", "attrs.team".
static fc_code_t s_index_field(fc_proto_error_t *err, const char *name, int index, fc_code_t rc)
{
    if (err)
        snprintf(err->field, sizeof err->field, "%s[%d]", name, index);
    return rc;
}

static fc_code_t s_attr_field(fc_proto_error_t *err, const char *name, const char *key,
                              fc_code_t rc)
{
    if (err)
        snprintf(err->field, sizeof err->field, "%s.%.32s", name, key);
    return rc;
}

static fc_code_t s_decode_labels(const fc_mp_field_t *f, fc_mp_reader_t *r, const fc_mp_item_t *val,
                                 void *obj, fc_proto_error_t *err)
{
    if (val->type != FC_MP_ARRAY)
        return fc_mp_error(err, FC_E_TYPE, f->name, "expected an array of strings");
    if (val->len > FC_MAX_LABELS)
        return fc_mp_error(err, FC_E_TOO_LARGE, f->name, "%u labels, limit %d", val->len,
                           FC_MAX_LABELS);
    s_label_t *labels = AT(obj, f->off, s_label_t);
    for (uint32_t i = 0; i < val->len; i++) {
        fc_mp_item_t item;
        fc_code_t rc = fc_mp_next(r, &item)
                           ? s_truncated(err, "")
                           : fc_mp_copy_str(&item, labels[i], FC_MAX_LABEL, "", err);
        if (rc)
            return s_index_field(err, f->name, (int)i, rc);
    }
    *AT(obj, f->has_off, int) = (int)val->len;
    return FC_OK;
}

static fc_code_t s_decode_attrs(const fc_mp_field_t *f, fc_mp_reader_t *r, const fc_mp_item_t *val,
                                void *obj, fc_proto_error_t *err)
{
    if (val->type != FC_MP_MAP)
        return fc_mp_error(err, FC_E_TYPE, f->name, "expected a map of string to string");
    if (val->len > FC_MAX_ATTRS)
        return fc_mp_error(err, FC_E_TOO_LARGE, f->name, "%u attributes, limit %d", val->len,
                           FC_MAX_ATTRS);
    fc_attr_t *attrs = AT(obj, f->off, fc_attr_t);
    for (uint32_t i = 0; i < val->len; i++) {
        fc_mp_item_t k, v;
        if (fc_mp_next(r, &k))
            return s_truncated(err, f->name);
        fc_code_t rc = fc_mp_copy_str(&k, attrs[i].key, FC_MAX_ATTR_KEY, f->name, err);
        if (rc)
            return rc;
        if (fc_mp_next(r, &v))
            rc = s_truncated(err, "");
        else
            rc = fc_mp_copy_str(&v, attrs[i].value, FC_MAX_ATTR_VALUE, "", err);
        if (rc)
            return s_attr_field(err, f->name, attrs[i].key, rc);
    }
    *AT(obj, f->has_off, int) = (int)val->len;
    return FC_OK;
}

//  Decode one value into its field. Structure and wire types only: ranges are checked
//  by fc_mp_check_fields, which serves the encoder too.
static fc_code_t s_decode_value(const fc_mp_field_t *f, fc_mp_reader_t *r, const fc_mp_item_t *val,
                                void *obj, fc_proto_error_t *err)
{
    switch (f->kind) {
    case FC_F_STR:
        return fc_mp_copy_str(val, AT(obj, f->off, char), f->cap, f->name, err);
    case FC_F_INT: {
        int rc = fc_mp_get_int(val, AT(obj, f->off, int64_t));
        if (rc == -1)
            return fc_mp_error(err, FC_E_TYPE, f->name, "expected an integer");
        if (rc == -2)
            return fc_mp_error(err, FC_E_RANGE, f->name, "integer does not fit in int64");
        break;
    }
    case FC_F_DBL:
        if (val->type == FC_MP_FLOAT)
            *AT(obj, f->off, double) = val->d;
        else if (val->type == FC_MP_UINT)
            *AT(obj, f->off, double) = (double)val->u;
        else if (val->type == FC_MP_INT)
            *AT(obj, f->off, double) = (double)val->i;
        else
            return fc_mp_error(err, FC_E_TYPE, f->name, "expected a number");
        break;
    case FC_F_BOOL:
        if (val->type != FC_MP_BOOL)
            return fc_mp_error(err, FC_E_TYPE, f->name, "expected a boolean");
        *AT(obj, f->off, bool) = val->b;
        break;
    case FC_F_ID:
        if (val->type != FC_MP_BIN)
            return fc_mp_error(err, FC_E_TYPE, f->name, "expected bin 16");
        if (val->len != 16)
            return fc_mp_error(err, FC_E_RANGE, f->name, "id of %u bytes, must be 16", val->len);
        memcpy(AT(obj, f->off, uint8_t), val->ptr, 16);
        break;
    case FC_F_TYPE: {
        if (val->type != FC_MP_STR)
            return fc_mp_error(err, FC_E_TYPE, f->name, "expected a string");
        char name[32];
        fc_event_type_t t = FC_EV_INVALID;
        if (val->len < sizeof name) {
            memcpy(name, val->ptr, val->len);
            name[val->len] = 0;
            t = fc_event_type_parse(name);
        }
        if (t == FC_EV_INVALID)
            return fc_mp_error(err, FC_E_UNKNOWN_TYPE, f->name, "unknown event type \"%.*s\"",
                               (int)(val->len < 32 ? val->len : 32), (const char *)val->ptr);
        *AT(obj, f->off, fc_event_type_t) = t;
        break;
    }
    case FC_F_LABELS:
        return s_decode_labels(f, r, val, obj, err);
    case FC_F_ATTRS:
        return s_decode_attrs(f, r, val, obj, err);
    }
    if (f->has_off >= 0)
        *AT(obj, f->has_off, bool) = true;
    return FC_OK;
}

fc_code_t fc_mp_decode_fields(fc_mp_reader_t *r, const fc_mp_item_t *map,
                              const fc_mp_field_t *fields, size_t n, void *obj, uint64_t *seen,
                              int levels, fc_proto_error_t *err)
{
    assert(n <= 64);
    if (map->len > FC_MAX_KEYS)
        return fc_mp_error(err, FC_E_TOO_LARGE, "", "map of %u keys, limit %d", map->len,
                           FC_MAX_KEYS);
    //  Unknown keys are kept (as pointers into the input) only to reject duplicates.
    fc_mp_item_t unknown[FC_MAX_KEYS];
    size_t unknown_count = 0, hint = 0;
    *seen = 0;
    for (uint32_t i = 0; i < map->len; i++) {
        fc_mp_item_t key, val;
        if (fc_mp_next(r, &key))
            return s_truncated(err, "");
        if (key.type != FC_MP_STR)
            return fc_mp_error(err, FC_E_TYPE, "", "map key %u is not a string", i);
        const fc_mp_field_t *f = s_find(fields, n, &key, &hint);
        const char *name = f ? f->name : "";
        if (fc_mp_next(r, &val))
            return s_truncated(err, name);
        if (f) {
            uint64_t bit = UINT64_C(1) << (f - fields);
            if (*seen & bit)
                return fc_mp_error(err, FC_E_MALFORMED, name, "duplicate key \"%s\"", f->key);
            *seen |= bit;
            fc_code_t rc = s_decode_value(f, r, &val, obj, err);
            if (rc)
                return rc;
            continue;
        }
        for (size_t k = 0; k < unknown_count; k++)
            if (unknown[k].len == key.len && memcmp(unknown[k].ptr, key.ptr, key.len) == 0)
                return fc_mp_error(err, FC_E_MALFORMED, "", "duplicate key \"%.*s\"",
                                   (int)(key.len < 40 ? key.len : 40), (const char *)key.ptr);
        unknown[unknown_count++] = key;
        bool too_deep = false;
        if (fc_mp_skip_body(r, &val, levels - 1, &too_deep))
            return too_deep ? fc_mp_error(err, FC_E_TOO_LARGE, "", "nesting deeper than %d",
                                          FC_MAX_DEPTH)
                            : s_truncated(err, "");
    }
    return FC_OK;
}

static bool s_attr_key_valid(const char *s)
{
    size_t i = 0;
    for (; s[i]; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-'))
            return false;
    }
    return i > 0;
}

//  A bounded string field: NUL within cap + 1 bytes, valid UTF-8.
static fc_code_t s_check_str(const char *s, size_t cap, const char *name, fc_proto_error_t *err)
{
    if (!s[0])
        return FC_OK;
    size_t len = strnlen(s, cap + 1);
    if (len > cap)
        return fc_mp_error(err, FC_E_TOO_LARGE, name, "string over %zu bytes", cap);
    if (!fc_utf8_valid(s, len))
        return fc_mp_error(err, FC_E_RANGE, name, "string is not valid UTF-8");
    return FC_OK;
}

static fc_code_t s_check_field(const fc_mp_field_t *f, const void *obj, fc_proto_error_t *err)
{
    //  has_off is a presence flag only for numbers (a count for labels / attrs)
    bool number = f->kind == FC_F_INT || f->kind == FC_F_DBL;
    bool has = number && (f->has_off < 0 || *CAT(obj, f->has_off, bool));
    switch (f->kind) {
    case FC_F_STR:
        return s_check_str(CAT(obj, f->off, char), f->cap, f->name, err);
    case FC_F_INT: {
        int64_t v = *CAT(obj, f->off, int64_t);
        if (has && (v < f->min || v > f->max))
            return fc_mp_error(err, FC_E_RANGE, f->name,
                               "%" PRId64 " outside [%" PRId64 ", %" PRId64 "]", v, f->min, f->max);
        return FC_OK;
    }
    case FC_F_DBL: {
        double v = *CAT(obj, f->off, double);
        if (has && !(isfinite(v) && v >= (double)f->min && v <= (double)f->max))
            return fc_mp_error(err, FC_E_RANGE, f->name, "%g outside [%" PRId64 ", %" PRId64 "]", v,
                               f->min, f->max);
        return FC_OK;
    }
    case FC_F_BOOL:
    case FC_F_ID:
        return FC_OK;
    case FC_F_TYPE: {
        fc_event_type_t t = *CAT(obj, f->off, fc_event_type_t);
        if (t <= FC_EV_INVALID || t >= FC_EV_COUNT_)
            return fc_mp_error(err, FC_E_UNKNOWN_TYPE, f->name, "event type %d unknown", (int)t);
        return FC_OK;
    }
    case FC_F_LABELS: {
        int count = *CAT(obj, f->has_off, int);
        if (count < 0 || count > FC_MAX_LABELS)
            return fc_mp_error(err, FC_E_TOO_LARGE, f->name, "%d labels, limit %d", count,
                               FC_MAX_LABELS);
        const s_label_t *labels = CAT(obj, f->off, s_label_t);
        for (int i = 0; i < count; i++) {
            fc_code_t rc = labels[i][0] ? s_check_str(labels[i], FC_MAX_LABEL, "", err)
                                        : fc_mp_error(err, FC_E_RANGE, "", "empty label");
            if (rc)
                return s_index_field(err, f->name, i, rc);
        }
        return FC_OK;
    }
    case FC_F_ATTRS: {
        int count = *CAT(obj, f->has_off, int);
        if (count < 0 || count > FC_MAX_ATTRS)
            return fc_mp_error(err, FC_E_TOO_LARGE, f->name, "%d attributes, limit %d", count,
                               FC_MAX_ATTRS);
        const fc_attr_t *attrs = CAT(obj, f->off, fc_attr_t);
        for (int i = 0; i < count; i++) {
            fc_code_t rc = s_check_str(attrs[i].key, FC_MAX_ATTR_KEY, f->name, err);
            if (rc)
                return rc;
            if (!s_attr_key_valid(attrs[i].key))
                rc = fc_mp_error(err, FC_E_RANGE, "",
                                 "attribute key must match [A-Za-z0-9_.-]{1,%d}", FC_MAX_ATTR_KEY);
            else
                rc = s_check_str(attrs[i].value, FC_MAX_ATTR_VALUE, "", err);
            for (int k = 0; rc == FC_OK && k < i; k++)
                if (strcmp(attrs[k].key, attrs[i].key) == 0)
                    rc = fc_mp_error(err, FC_E_MALFORMED, "", "duplicate attribute key");
            if (rc)
                return s_attr_field(err, f->name, attrs[i].key, rc);
        }
        return FC_OK;
    }
    }
    return FC_OK;
}

fc_code_t fc_mp_check_fields(const fc_mp_field_t *fields, size_t n, const void *obj, uint64_t mask,
                             fc_proto_error_t *err)
{
    for (size_t i = 0; i < n; i++) {
        if (!(mask & (UINT64_C(1) << i)))
            continue;
        fc_code_t rc = s_check_field(&fields[i], obj, err);
        if (rc)
            return rc;
    }
    return FC_OK;
}

bool fc_mp_field_present(const fc_mp_field_t *f, const void *obj, fc_event_type_t type)
{
    bool always = f->always == FC_EV_ALL || f->always == type;
    switch (f->kind) {
    case FC_F_STR:
        return CAT(obj, f->off, char)[0] != 0;
    case FC_F_INT:
        if (f->has_off >= 0)
            return *CAT(obj, f->has_off, bool);
        return always || *CAT(obj, f->off, int64_t) != 0;
    case FC_F_DBL:
        return *CAT(obj, f->has_off, bool);
    case FC_F_BOOL:
        return always || *CAT(obj, f->off, bool);
    case FC_F_ID:
    case FC_F_TYPE:
        return true;
    case FC_F_LABELS:
    case FC_F_ATTRS:
        return *CAT(obj, f->has_off, int) > 0;
    }
    return false;
}

void fc_mp_pack_fields(msgpack_packer *pk, const fc_mp_field_t *fields, size_t n, const void *obj,
                       fc_event_type_t type)
{
    size_t count = 0;
    for (size_t i = 0; i < n; i++)
        count += fc_mp_field_present(&fields[i], obj, type);
    msgpack_pack_map(pk, count);
    for (size_t i = 0; i < n; i++) {
        const fc_mp_field_t *f = &fields[i];
        if (!fc_mp_field_present(f, obj, type))
            continue;
        fc_mp_pack_cstr(pk, f->key);
        switch (f->kind) {
        case FC_F_STR:
            fc_mp_pack_cstr(pk, CAT(obj, f->off, char));
            break;
        case FC_F_INT:
            msgpack_pack_int64(pk, *CAT(obj, f->off, int64_t));
            break;
        case FC_F_DBL:
            msgpack_pack_double(pk, *CAT(obj, f->off, double));
            break;
        case FC_F_BOOL:
            if (*CAT(obj, f->off, bool))
                msgpack_pack_true(pk);
            else
                msgpack_pack_false(pk);
            break;
        case FC_F_ID:
            msgpack_pack_bin_with_body(pk, CAT(obj, f->off, uint8_t), 16);
            break;
        case FC_F_TYPE:
            fc_mp_pack_cstr(pk, fc_event_type_name(*CAT(obj, f->off, fc_event_type_t)));
            break;
        case FC_F_LABELS: {
            int count_l = *CAT(obj, f->has_off, int);
            const s_label_t *labels = CAT(obj, f->off, s_label_t);
            msgpack_pack_array(pk, count_l);
            for (int k = 0; k < count_l; k++)
                fc_mp_pack_cstr(pk, labels[k]);
            break;
        }
        case FC_F_ATTRS: {
            int count_a = *CAT(obj, f->has_off, int);
            const fc_attr_t *attrs = CAT(obj, f->off, fc_attr_t);
            msgpack_pack_map(pk, count_a);
            for (int k = 0; k < count_a; k++) {
                fc_mp_pack_cstr(pk, attrs[k].key);
                fc_mp_pack_cstr(pk, attrs[k].value);
            }
            break;
        }
        }
    }
}

//  ---------------------------------------------------------------------------------
//  Envelopes (batch, ack, stream, heartbeat)

//  Read the common "v" key of every envelope: FC_OK or FC_E_VERSION / FC_E_MALFORMED.
fc_code_t fc_mp_version(const fc_mp_item_t *val, uint32_t *version, fc_proto_error_t *err)
{
    if (val->type != FC_MP_UINT)
        return fc_mp_error(err, FC_E_MALFORMED, "v", "version must be an unsigned integer");
    if (val->u != FC_PROTO_VERSION)
        return fc_mp_error(err, FC_E_VERSION, "v", "protocol version %" PRIu64 ", expected %d",
                           val->u, FC_PROTO_VERSION);
    *version = (uint32_t)val->u;
    return FC_OK;
}

//  Skip the value of an unknown envelope key, bounded in depth.
fc_code_t fc_mp_skip(fc_mp_reader_t *r, const fc_mp_item_t *val, fc_proto_error_t *err)
{
    bool too_deep = false;
    if (fc_mp_skip_body(r, val, FC_MAX_DEPTH - 2, &too_deep))
        return too_deep
                   ? fc_mp_error(err, FC_E_TOO_LARGE, "", "nesting deeper than %d", FC_MAX_DEPTH)
                   : fc_mp_error(err, FC_E_MALFORMED, "", "truncated or invalid msgpack");
    return FC_OK;
}

//  Start an envelope: the map header, with its key count bounded.
fc_code_t fc_mp_envelope(fc_mp_reader_t *r, size_t size, fc_mp_item_t *map, const char *what,
                         fc_proto_error_t *err)
{
    if (size > FC_MAX_FRAME)
        return fc_mp_error(err, FC_E_TOO_LARGE, "", "frame of %zu bytes, limit %d", size,
                           FC_MAX_FRAME);
    if (fc_mp_next(r, map))
        return fc_mp_error(err, FC_E_MALFORMED, "", "truncated or invalid msgpack");
    if (map->type != FC_MP_MAP)
        return fc_mp_error(err, FC_E_MALFORMED, "", "%s is not a map", what);
    if (map->len > FC_MAX_KEYS)
        return fc_mp_error(err, FC_E_TOO_LARGE, "", "map of %u keys, limit %d", map->len,
                           FC_MAX_KEYS);
    return FC_OK;
}

//  Read one envelope key/value pair; keys must be strings and not repeat. *index is the
//  position of the key in `keys` or -1 if unknown.
fc_code_t fc_mp_envelope_pair(fc_mp_reader_t *r, const char *const *keys, int nkeys, uint32_t *seen,
                              int *index, fc_mp_item_t *val, fc_proto_error_t *err)
{
    fc_mp_item_t key;
    if (fc_mp_next(r, &key) || fc_mp_next(r, val))
        return fc_mp_error(err, FC_E_MALFORMED, "", "truncated or invalid msgpack");
    if (key.type != FC_MP_STR)
        return fc_mp_error(err, FC_E_MALFORMED, "", "map key is not a string");
    *index = -1;
    for (int i = 0; i < nkeys; i++)
        if (fc_mp_key_is(&key, keys[i], strlen(keys[i])))
            *index = i;
    if (*index >= 0) {
        if (*seen & (1u << *index))
            return fc_mp_error(err, FC_E_MALFORMED, keys[*index], "duplicate key");
        *seen |= 1u << *index;
    }
    return FC_OK;
}
