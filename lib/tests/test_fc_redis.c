/*  fc_redis: redis:// URLs with and without password, port and database; sentinel lists
    and targets; bad ones. */
#include "fc_redis.h"
#include "fc_test.h"

#include <string.h>

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

    //  Sentinel lists: the port is required; an IPv6 literal keeps its colons.
    fc_redis_node_t s[3];
    FC_CHECK_INT(fc_redis_sentinels_parse("127.0.0.1:26379,s2:26380,::1:26381", s, 3), 3);
    FC_CHECK_STR(s[0].host, "127.0.0.1");
    FC_CHECK_INT(s[0].port, 26379);
    FC_CHECK_STR(s[1].host, "s2");
    FC_CHECK_INT(s[1].port, 26380);
    FC_CHECK_STR(s[2].host, "::1");
    FC_CHECK_INT(s[2].port, 26381);
    const char *bad_lists[] = {"",        "h",   "h:",    ":1",       "h:1,",           "h:1,,h:2",
                               "h:65536", "h:0", "h:12x", "h:1 ,h:2", "a:1,b:2,c:3,d:4"};
    for (size_t i = 0; i < sizeof bad_lists / sizeof bad_lists[0]; i++)
        FC_CHECK_INT(fc_redis_sentinels_parse(bad_lists[i], s, 3), -1);
    FC_CHECK_INT(fc_redis_sentinels_parse(NULL, s, 3), -1);

    //  Targets: without sentinels the URL's server; with them its password and db only.
    fc_redis_target_t t;
    const char *why;
    FC_CHECK_INT(fc_redis_target_init(&t, "redis://:pw@h:7000/2", "", "ignored", &why), 0);
    FC_CHECK_INT(t.nsentinels, 0);
    FC_CHECK_INT(t.addr.port, 7000);
    FC_CHECK_INT(fc_redis_target_init(&t, "redis://:pw@h:7000/2", "a:1,b:2", "fc-main", &why), 0);
    FC_CHECK_INT(t.nsentinels, 2);
    FC_CHECK_STR(t.master_name, "fc-main");
    FC_CHECK_STR(t.addr.password, "pw");
    FC_CHECK_INT(t.addr.db, 2);
    FC_CHECK_INT(fc_redis_target_init(&t, "redis://h", "a:1", "", &why), -1);
    FC_CHECK(why != NULL);
    FC_CHECK_INT(fc_redis_target_init(&t, "redis://h", "a:1", "bad name", &why), -1);
    FC_CHECK_INT(fc_redis_target_init(&t, "redis://h", "a", "m", &why), -1);
    FC_CHECK_INT(fc_redis_target_init(&t, "nope", "", "m", &why), -1);
    FC_CHECK(why && !strstr(why, "pw"));
    return fc_test_done("test_fc_redis");
}
