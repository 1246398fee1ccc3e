/*  fc_strmap: dense indexes in insertion order, found again after the table grows;
    keys are bytes (a NUL inside a key, and keys that differ only after it, are
    distinct); clear forgets keys and the map works again. */
#include <stdio.h>
#include <string.h>

#include "fc_strmap.h"
#include "fc_test.h"

int main(void)
{
    fc_strmap_t *m = fc_strmap_new();
    FC_CHECK(m != NULL);
    FC_CHECK_INT(fc_strmap_find(m, "a", 1), -1);
    char key[32];
    size_t index = 99;
    //  Enough keys to grow the table several times (32 entries at first).
    for (int i = 0; i < 5000; i++) {
        int n = snprintf(key, sizeof key, "tenant-%d", i);
        FC_CHECK_INT(fc_strmap_intern(m, key, (size_t)n, &index), 1);
        FC_CHECK_INT(index, i);
    }
    FC_CHECK_INT(fc_strmap_size(m), 5000);
    for (int i = 4999; i >= 0; i--) {
        int n = snprintf(key, sizeof key, "tenant-%d", i);
        FC_CHECK_INT(fc_strmap_find(m, key, (size_t)n), i);
        FC_CHECK_INT(fc_strmap_intern(m, key, (size_t)n, &index), 0);
        FC_CHECK_INT(index, i);
    }
    size_t len = 0;
    FC_CHECK_STR(fc_strmap_key(m, 1234, &len), "tenant-1234");
    FC_CHECK_INT(len, 11);
    FC_CHECK(fc_strmap_key(m, 5000, NULL) == NULL);
    FC_CHECK_INT(fc_strmap_find(m, "tenant-5000", 11), -1);
    //  A prefix of a key is another key.
    FC_CHECK_INT(fc_strmap_find(m, "tenant-", 7), -1);

    //  Bytes, not C strings: "a\0b" and "a\0c" are two keys, "a" a third.
    FC_CHECK_INT(fc_strmap_intern(m, "a\0b", 3, &index), 1);
    FC_CHECK_INT(index, 5000);
    FC_CHECK_INT(fc_strmap_intern(m, "a\0c", 3, &index), 1);
    FC_CHECK_INT(fc_strmap_intern(m, "a", 1, &index), 1);
    FC_CHECK_INT(index, 5002);
    FC_CHECK_INT(fc_strmap_find(m, "a\0b", 3), 5000);
    FC_CHECK(memcmp(fc_strmap_key(m, 5001, &len), "a\0c", 4) == 0);
    FC_CHECK_INT(len, 3);
    //  The empty key is a key.
    FC_CHECK_INT(fc_strmap_intern(m, "", 0, &index), 1);
    FC_CHECK_INT(fc_strmap_find(m, "", 0), 5003);

    fc_strmap_clear(m);
    FC_CHECK_INT(fc_strmap_size(m), 0);
    FC_CHECK_INT(fc_strmap_find(m, "tenant-7", 8), -1);
    FC_CHECK_INT(fc_strmap_intern(m, "tenant-7", 8, &index), 1);
    FC_CHECK_INT(index, 0);
    fc_strmap_destroy(&m);
    FC_CHECK(m == NULL);
    fc_strmap_destroy(&m); //  destroying NULL is a no-op
    return fc_test_done("test_fc_strmap");
}
