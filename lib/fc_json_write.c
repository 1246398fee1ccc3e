/*  fc_json_write: JSON writer on fc_buf (see fc_json_write.h). */
#include "fc_json_write.h"

#include <inttypes.h>

#include "fc_escape.h"

void fc_jw_init(fc_jw_t *w, fc_buf_t *b)
{
    *w = (fc_jw_t){.b = b};
}

//  The comma and key before a value at the current depth.
static void s_key(fc_jw_t *w, const char *key)
{
    if (w->depth > 0) {
        uint32_t bit = UINT32_C(1) << (w->depth - 1);
        if (w->filled & bit)
            fc_buf_add(w->b, ",", 1);
        w->filled |= bit;
        bool in_array = w->array & bit;
        if (in_array != (key == NULL))
            w->b->failed = 1; //  a key in an array, or a member without one
    }
    if (key && w->depth > 0) {
        fc_esc_json(w->b, key);
        fc_buf_add(w->b, ":", 1);
    }
}

static void s_open(fc_jw_t *w, const char *key, bool array)
{
    s_key(w, key);
    if (w->depth >= FC_JW_MAX_DEPTH) {
        w->b->failed = 1;
        return;
    }
    uint32_t bit = UINT32_C(1) << w->depth;
    w->depth++;
    w->filled &= ~bit;
    w->array = array ? w->array | bit : w->array & ~bit;
    fc_buf_add(w->b, array ? "[" : "{", 1);
}

void fc_jw_object(fc_jw_t *w, const char *key)
{
    s_open(w, key, false);
}

void fc_jw_array(fc_jw_t *w, const char *key)
{
    s_open(w, key, true);
}

void fc_jw_end(fc_jw_t *w)
{
    if (w->depth == 0) {
        w->b->failed = 1;
        return;
    }
    w->depth--;
    fc_buf_add(w->b, w->array & (UINT32_C(1) << w->depth) ? "]" : "}", 1);
}

void fc_jw_str(fc_jw_t *w, const char *key, const char *value)
{
    s_key(w, key);
    if (value)
        fc_esc_json(w->b, value);
    else
        fc_buf_add(w->b, "null", 4);
}

void fc_jw_int(fc_jw_t *w, const char *key, int64_t value)
{
    s_key(w, key);
    fc_buf_addf(w->b, "%" PRId64, value);
}

void fc_jw_bool(fc_jw_t *w, const char *key, bool value)
{
    s_key(w, key);
    fc_buf_add_str(w->b, value ? "true" : "false");
}

void fc_jw_null(fc_jw_t *w, const char *key)
{
    s_key(w, key);
    fc_buf_add(w->b, "null", 4);
}

void fc_jw_raw(fc_jw_t *w, const char *key, const char *json)
{
    s_key(w, key);
    fc_buf_add_str(w->b, json);
}
