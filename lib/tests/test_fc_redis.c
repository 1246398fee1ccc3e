/*  fc_redis: redis:// URLs with and without password, port and database; bad ones. */
#include "fc_redis.h"
#include "fc_test.h"

int main(void)
{
    fc_redis_addr_t a;
    FC_CHECK_INT(fc_redis_url_parse("redis://127.0.0.1:56379/0", &a), 0);
    FC_CHECK_STR(a.host, "127.0.0.1");
    FC_CHECK_INT(a.port, 56379);
    FC_CHECK_INT(a.db, 0);
    FC_CHECK_STR(a.password, "");
    FC_CHECK_INT(fc_redis_url_parse("redis://:s3cret@cache.internal/4", &a), 0);
    FC_CHECK_STR(a.host, "cache.internal");
    FC_CHECK_INT(a.port, 6379);
    FC_CHECK_INT(a.db, 4);
    FC_CHECK_STR(a.password, "s3cret");
    FC_CHECK_INT(fc_redis_url_parse("redis://user:pw@h:7000", &a), 0);
    FC_CHECK_STR(a.password, "pw");
    FC_CHECK_INT(a.port, 7000);
    const char *bad[] = {"",           "127.0.0.1:6379", "http://h:1",      "redis://",
                         "redis://:1", "redis://h:0",    "redis://h:70000", "redis://h:x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        FC_CHECK_INT(fc_redis_url_parse(bad[i], &a), -1);
    FC_CHECK_INT(fc_redis_url_parse(NULL, &a), -1);
    return fc_test_done("test_fc_redis");
}
