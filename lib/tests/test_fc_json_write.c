/*  fc_json_write: commas, keys, escaping and nesting; misuse marks the buffer failed. */
#include "fc_json_write.h"
#include "fc_test.h"

static const char *s_text(fc_buf_t *b)
{
    fc_buf_add(b, "", 1);
    return b->failed ? NULL : (const char *)b->data;
}

int main(void)
{
    fc_buf_t b;
    fc_jw_t w;
    fc_buf_init(&b);
    fc_jw_init(&w, &b);
    fc_jw_object(&w, NULL);
    fc_jw_str(&w, "tenant", "acme");
    fc_jw_int(&w, "cost_nusd", INT64_MIN);
    fc_jw_array(&w, "kinds");
    fc_jw_str(&w, NULL, "a\"b");
    fc_jw_object(&w, NULL);
    fc_jw_end(&w);
    fc_jw_array(&w, NULL);
    fc_jw_end(&w);
    fc_jw_bool(&w, NULL, true);
    fc_jw_null(&w, NULL);
    fc_jw_end(&w);
    fc_jw_raw(&w, "events", "42");
    fc_jw_str(&w, "none", NULL);
    fc_jw_str(&w, "<k>", "</script>\xff");
    fc_jw_end(&w);
    FC_CHECK_STR(s_text(&b), "{\"tenant\":\"acme\",\"cost_nusd\":-9223372036854775808,"
                             "\"kinds\":[\"a\\\"b\",{},[],true,null],\"events\":42,\"none\":null,"
                             "\"\\u003ck\\u003e\":\"\\u003c/script\\u003e\\ufffd\"}");
    FC_CHECK_INT(w.depth, 0);
    //  A top-level scalar, then misuse: a key inside an array, a member without a key,
    //  an end with nothing open, nesting too deep.
    fc_buf_reset(&b);
    fc_jw_init(&w, &b);
    fc_jw_str(&w, NULL, "x");
    FC_CHECK_STR(s_text(&b), "\"x\"");
    fc_buf_free(&b);
    fc_buf_init(&b);
    fc_jw_init(&w, &b);
    fc_jw_array(&w, NULL);
    fc_jw_int(&w, "k", 1);
    FC_CHECK(b.failed);
    fc_buf_free(&b);
    fc_buf_init(&b);
    fc_jw_init(&w, &b);
    fc_jw_object(&w, NULL);
    fc_jw_int(&w, NULL, 1);
    FC_CHECK(b.failed);
    fc_buf_free(&b);
    fc_buf_init(&b);
    fc_jw_init(&w, &b);
    fc_jw_end(&w);
    FC_CHECK(b.failed);
    fc_buf_free(&b);
    fc_buf_init(&b);
    fc_jw_init(&w, &b);
    for (int i = 0; i <= FC_JW_MAX_DEPTH; i++)
        fc_jw_array(&w, NULL);
    FC_CHECK(b.failed);
    fc_buf_free(&b);
    return fc_test_done("test_fc_json_write");
}
