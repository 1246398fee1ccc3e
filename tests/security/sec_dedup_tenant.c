/*  sec_dedup_tenant: an event's identity includes its tenant (issue #15, migration 0009).

    Tenant B sending an event with the id and time of one of tenant A's events is stored
    as B's (ack code 0, not 1) and A's row is untouched; real resends of either are
    duplicates (code 1); copies of one id and time for two tenants inside one batch, and
    a batch where a resend of A sits beside B's first copy, store exactly the new ones.
    The real ingest against a real Postgres, raw DEALER sockets.

    usage: sec_dedup_tenant <fleetcost> <fleetcost-ingest> */
#include <czmq.h>
#include <inttypes.h>

#include "fc_proto.h"
#include "fc_test.h"
#include "it_util.h"
#include "sec_util.h"

static char s_url[512], s_bind[64], s_pub[64];

static void s_usage(fc_event_t *ev, const char *tenant, const uint8_t id[16], int64_t ts_us,
                    int64_t input_tokens)
{
    fc_event_init(ev);
    memcpy(ev->id, id, 16);
    ev->ts_us = ts_us;
    ev->type = FC_EV_USAGE;
    snprintf(ev->tenant, sizeof ev->tenant, "%s", tenant);
    snprintf(ev->agent, sizeof ev->agent, "agent-%s", tenant);
    snprintf(ev->model, sizeof ev->model, "claude-haiku-4-5");
    ev->input_tokens = input_tokens;
}

//  A batch must be acknowledged (counted as a check).
static bool s_acked(bool ok)
{
    FC_CHECK(ok);
    return ok;
}

//  input_tokens of tenant's row with this id (-1: no row; exits on more than one).
static int64_t s_tokens(PGconn *pg, const char *tenant, const uint8_t id[16])
{
    char uuid[37], sql[256];
    fc_uuid_format(id, uuid);
    snprintf(sql, sizeof sql,
             "SELECT coalesce((SELECT input_tokens FROM events WHERE tenant_id = '%s'"
             " AND event_id = '%s'), -1)",
             tenant, uuid);
    return it_sql_int(pg, sql);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: sec_dedup_tenant <fleetcost> <fleetcost-ingest>\n");
        return 2;
    }
    it_db_create("sec_dedup", argv[1], s_url, sizeof s_url);
    snprintf(s_bind, sizeof s_bind, "tcp://127.0.0.1:%d", it_free_port());
    snprintf(s_pub, sizeof s_pub, "tcp://127.0.0.1:%d", it_free_port());
    char *args[] = {argv[2],          "--insecure", "--pg-url",   s_url,         "--bind",
                    s_bind,           "--pub-bind", s_pub,        "--ingest-id", "sec-dedup",
                    "--metrics-port", "0",          "--group-ms", "2",           NULL};
    pid_t pid = it_spawn(args, "sec_dedup_tenant.log");
    PGconn *pg = it_pg(s_url);
    zsock_t *d = sec_dealer(s_bind);

    uint8_t x[16], y[16];
    fc_event_id_new(x);
    fc_event_id_new(y);
    int64_t t = (int64_t)time(NULL) * 1000000;
    fc_event_t ev[2];
    int codes[2];

    //  1. A stores X.
    s_usage(&ev[0], "tenant-a", x, t, 100);
    if (s_acked(sec_send(d, 1, ev, 1, codes)))
        FC_CHECK_INT(codes[0], FC_OK);
    //  2. B sends an event with A's id and time: B's own event, stored (not "duplicate",
    //  which would both lose it and tell B that A has an event with this id).
    s_usage(&ev[0], "tenant-b", x, t, 7);
    if (s_acked(sec_send(d, 2, ev, 1, codes)))
        FC_CHECK_INT(codes[0], FC_OK);
    FC_CHECK_INT(s_tokens(pg, "tenant-a", x), 100);
    FC_CHECK_INT(s_tokens(pg, "tenant-b", x), 7);
    //  3. Real resends stay duplicates, for both tenants, and change nothing.
    s_usage(&ev[0], "tenant-a", x, t, 100);
    s_usage(&ev[1], "tenant-b", x, t, 7);
    if (s_acked(sec_send(d, 3, ev, 2, codes))) {
        FC_CHECK_INT(codes[0], FC_DUPLICATE);
        FC_CHECK_INT(codes[1], FC_DUPLICATE);
    }
    //  4. One batch, one id and time, two tenants: both new (the in-group dedup keys on
    //  the tenant too).
    s_usage(&ev[0], "tenant-a", y, t + 1, 11);
    s_usage(&ev[1], "tenant-c", y, t + 1, 13);
    if (s_acked(sec_send(d, 4, ev, 2, codes))) {
        FC_CHECK_INT(codes[0], FC_OK);
        FC_CHECK_INT(codes[1], FC_OK);
    }
    //  5. A resend of A's X beside C's first X in one batch: the COPY hits A's key, the
    //  duplicate lookup must mark A's copy only and store C's.
    s_usage(&ev[0], "tenant-a", x, t, 100);
    s_usage(&ev[1], "tenant-c", x, t, 17);
    if (s_acked(sec_send(d, 5, ev, 2, codes))) {
        FC_CHECK_INT(codes[0], FC_DUPLICATE);
        FC_CHECK_INT(codes[1], FC_OK);
    }
    //  6. Same tenant, same id, another time: a different event (time is in the key).
    s_usage(&ev[0], "tenant-a", x, t + 5, 19);
    if (s_acked(sec_send(d, 6, ev, 1, codes)))
        FC_CHECK_INT(codes[0], FC_OK);

    FC_CHECK_INT(s_tokens(pg, "tenant-a", y), 11);
    FC_CHECK_INT(s_tokens(pg, "tenant-c", y), 13);
    FC_CHECK_INT(s_tokens(pg, "tenant-c", x), 17);
    FC_CHECK_INT(it_sql_int(pg, "SELECT count(*) FROM events"), 6);
    FC_CHECK_INT(it_sql_int(pg, "SELECT count(*) FROM events WHERE tenant_id = 'tenant-a'"), 3);
    //  A's original row is byte for byte what A sent: tokens, cost and seq unchanged.
    FC_CHECK_INT(it_sql_int(pg, "SELECT count(*) FROM events WHERE tenant_id = 'tenant-a'"
                                " AND input_tokens = 100 AND cost_nusd > 0"),
                 1);
    FC_CHECK_INT(it_sql_int(pg, "SELECT count(*) FROM dead_letters"), 0);
    //  The key itself: (event_id, tenant_id, event_time).
    FC_CHECK_INT(it_sql_int(pg, "SELECT count(*) FROM pg_constraint WHERE conname = 'events_pkey'"
                                " AND pg_get_constraintdef(oid) ="
                                " 'PRIMARY KEY (event_id, tenant_id, event_time)'"),
                 1);

    zsock_destroy(&d);
    PQfinish(pg);
    FC_CHECK_INT(it_stop(pid, SIGTERM, 10000), 0);
    it_db_drop("sec_dedup");
    return fc_test_done("sec_dedup_tenant");
}
