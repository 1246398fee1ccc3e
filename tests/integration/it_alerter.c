/*  it_alerter: the real fleetcost-alerter against a real Postgres, a webhook receiver
    inside this test (libmicrohttpd) and an SMTP sink (Debian's python3-aiosmtpd). The
    test plays the aggregator: it binds a PUB socket, stores events in Postgres and
    publishes the matching sum.<tenant> summaries (PROTOCOL §12).

    usage: it_alerter <fleetcost> <fleetcost-alerter> <it_alerter_smtp.py> */
#include <czmq.h>
#include <dirent.h>
#include <inttypes.h>
#include <microhttpd.h>
#include <msgpack.h>
#include <pthread.h>
#include <sys/socket.h>

#include "fc_test.h"
#include "it_util.h"

#define USD(x) ((int64_t)((x)*1000) * INT64_C(1000000))

//  ---------------------------------------------------------------------------------
//  Webhook receiver: POST /hook/<name>; answers 500 for names in s_failing. Keeps each
//  request's body and Idempotency-Key header.

#define S_MAX_HOOKS 512
typedef struct {
    char name[32];
    char body[4096];
    char key[128]; //  Idempotency-Key ("" when absent)
    int status;
    int64_t at_us;
} s_hook_t;

static s_hook_t s_hooks[S_MAX_HOOKS];
static int s_nhooks;
static pthread_mutex_t s_lock = PTHREAD_MUTEX_INITIALIZER;
static const char *s_failing = "b";

typedef struct {
    char body[4096];
    size_t len;
} s_req_t;

static enum MHD_Result s_handler(void *cls, struct MHD_Connection *c, const char *url,
                                 const char *method, const char *version, const char *data,
                                 size_t *size, void **con_cls)
{
    s_req_t *req = *con_cls;
    if (!req) {
        *con_cls = calloc(1, sizeof(s_req_t));
        return MHD_YES;
    }
    if (*size) {
        size_t n =
            *size < sizeof req->body - 1 - req->len ? *size : sizeof req->body - 1 - req->len;
        memcpy(req->body + req->len, data, n);
        req->len += n;
        *size = 0;
        return MHD_YES;
    }
    const char *name = strncmp(url, "/hook/", 6) == 0 ? url + 6 : "?";
    int status = strcmp(name, s_failing) == 0 ? 500 : 200;
    const char *key = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Idempotency-Key");
    pthread_mutex_lock(&s_lock);
    if (s_nhooks < S_MAX_HOOKS) {
        s_hook_t *h = &s_hooks[s_nhooks++];
        snprintf(h->name, sizeof h->name, "%s", name);
        snprintf(h->key, sizeof h->key, "%s", key ? key : "");
        memcpy(h->body, req->body, req->len + 1);
        h->status = status;
        h->at_us = it_now_us();
    }
    pthread_mutex_unlock(&s_lock);
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(2, (void *)"ok", MHD_RESPMEM_PERSISTENT);
    enum MHD_Result rc = MHD_queue_response(c, (unsigned)status, resp);
    MHD_destroy_response(resp);
    return rc;
}

static void s_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                        enum MHD_RequestTerminationCode toe)
{
    free(*con_cls);
    *con_cls = NULL;
}

//  Requests to hook `name` whose body contains every string of `needles` (NULL-ended).
static int s_hook_count_v(const char *name, const char *const *needles, int64_t *last_at)
{
    int n = 0;
    pthread_mutex_lock(&s_lock);
    for (int i = 0; i < s_nhooks; i++) {
        if (strcmp(s_hooks[i].name, name) != 0)
            continue;
        bool all = true;
        for (int k = 0; needles[k] && all; k++)
            all = strstr(s_hooks[i].body, needles[k]) != NULL;
        if (all) {
            n++;
            if (last_at)
                *last_at = s_hooks[i].at_us;
        }
    }
    pthread_mutex_unlock(&s_lock);
    return n;
}
#define s_hooks_with(name, ...) s_hook_count_v(name, (const char *const[]){__VA_ARGS__, NULL}, NULL)

//  Requests to hook `name` whose Idempotency-Key header is `key` and whose body carries
//  it as "idempotency_key".
static int s_hooks_keyed(const char *name, const char *key)
{
    char field[160];
    snprintf(field, sizeof field, "\"idempotency_key\":\"%s\"", key);
    int n = 0;
    pthread_mutex_lock(&s_lock);
    for (int i = 0; i < s_nhooks; i++)
        n += strcmp(s_hooks[i].name, name) == 0 && strcmp(s_hooks[i].key, key) == 0 &&
             strstr(s_hooks[i].body, field) != NULL;
    pthread_mutex_unlock(&s_lock);
    return n;
}

//  Requests the receiver answered with 2xx.
static int s_hooks_ok(void)
{
    int n = 0;
    pthread_mutex_lock(&s_lock);
    for (int i = 0; i < s_nhooks; i++)
        n += s_hooks[i].status / 100 == 2;
    pthread_mutex_unlock(&s_lock);
    return n;
}

typedef struct {
    const char *name;
    const char *needles[6];
    int want;
    void (*repeat)(void); //  called on every poll (re-publishing through PUB/SUB)
} s_hook_wait_t;

static bool s_hook_cond(void *arg)
{
    s_hook_wait_t *w = arg;
    if (w->repeat)
        w->repeat();
    return s_hook_count_v(w->name, w->needles, NULL) >= w->want;
}

//  ---------------------------------------------------------------------------------
//  Postgres and the summary stream, played by the test.

static PGconn *s_pg;
static zsock_t *s_pub;
static int64_t s_seq;
static char s_today[16], s_month[16];

static void s_event(PGconn *pg, const char *tenant, const char *agent, int64_t cost,
                    const char *model, bool unpriced, const char *when)
{
    char sql[1024];
    snprintf(sql, sizeof sql,
             "INSERT INTO events (event_id, event_time, tenant_id, event_type, agent_id,"
             " agent_type, task_id, model, model_family, cost_nusd, cost_kind, unpriced,"
             " ingest_id, seq) VALUES (gen_random_uuid(), %s, '%s', 'usage', '%s', 'coder',"
             " 'task-1', '%s', '%s', %" PRId64 ", 'usage', %s, 'it', %" PRId64 ")",
             when, tenant, agent, model, model, cost, unpriced ? "true" : "false", ++s_seq);
    it_sql(pg, sql);
}

static void s_key(msgpack_packer *pk, const char *s)
{
    msgpack_pack_str_with_body(pk, s, strlen(s));
}

//  Publishes a summary for tenant with the totals Postgres holds for it today.
static void s_publish_to(zsock_t *pub, PGconn *pg, const char *tenant, const char *day,
                         const char *month)
{
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT coalesce(sum(cost_nusd), 0) FROM events WHERE tenant_id = '%s'"
             " AND to_char(event_time AT TIME ZONE 'UTC', 'YYYY-MM-DD') = '%s'",
             tenant, day);
    int64_t day_cost = it_sql_int(pg, sql);
    snprintf(sql, sizeof sql,
             "SELECT coalesce(sum(cost_nusd), 0) FROM events WHERE tenant_id = '%s'"
             " AND to_char(event_time AT TIME ZONE 'UTC', 'YYYY-MM') = '%s'",
             tenant, month);
    int64_t month_cost = it_sql_int(pg, sql);
    snprintf(sql, sizeof sql,
             "SELECT count(*) FILTER (WHERE unpriced) * 1000000000000 + count(*) FROM events"
             " WHERE tenant_id = '%s'",
             tenant);
    int64_t counts = it_sql_int(pg, sql);
    snprintf(sql, sizeof sql,
             "SELECT (extract(epoch FROM max(event_time)) * 1000000)::bigint FROM events"
             " WHERE tenant_id = '%s'",
             tenant);
    int64_t as_of = it_sql_int(pg, sql);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 8);
    s_key(&pk, "v");
    msgpack_pack_uint8(&pk, 1);
    s_key(&pk, "tenant");
    s_key(&pk, tenant);
    s_key(&pk, "day");
    s_key(&pk, day);
    s_key(&pk, "month");
    s_key(&pk, month);
    s_key(&pk, "day_totals");
    msgpack_pack_map(&pk, 3);
    s_key(&pk, "cost_nusd");
    msgpack_pack_int64(&pk, day_cost);
    s_key(&pk, "events");
    msgpack_pack_int64(&pk, counts % 1000000000000);
    s_key(&pk, "unpriced_events");
    msgpack_pack_int64(&pk, counts / 1000000000000);
    s_key(&pk, "month_totals");
    msgpack_pack_map(&pk, 2);
    s_key(&pk, "cost_nusd");
    msgpack_pack_int64(&pk, month_cost);
    s_key(&pk, "events");
    msgpack_pack_int64(&pk, counts % 1000000000000);
    s_key(&pk, "as_of");
    msgpack_pack_int64(&pk, as_of);
    s_key(&pk, "by_agent_type"); //  an unknown-to-the-alerter key, skipped
    msgpack_pack_array(&pk, 1);
    msgpack_pack_array(&pk, 2);
    s_key(&pk, "coder");
    msgpack_pack_int64(&pk, month_cost);
    zmsg_t *m = zmsg_new();
    zmsg_addstrf(m, "sum.%s.", tenant);
    zmsg_addmem(m, sb.data, sb.size);
    zmsg_send(&m, pub);
    msgpack_sbuffer_destroy(&sb);
}

static void s_publish(const char *tenant)
{
    s_publish_to(s_pub, s_pg, tenant, s_today, s_month);
}

static void s_publish_a(void)
{
    s_publish("a");
}

static void s_publish_a_then_c(void)
{
    s_publish("a");
    s_publish("c");
}

//  ---------------------------------------------------------------------------------
//  Processes and their output.

static char *s_fleetcost, *s_alerter_bin;

//  metrics_port 0: no /metrics.
static pid_t s_start_alerter(const char *url, const char *sub, const char *bind, const char *smtp,
                             const char *hook_base, const char *clock, int metrics_port,
                             const char *log)
{
    char op[128], metrics[16];
    snprintf(op, sizeof op, "%s/operator", hook_base);
    snprintf(metrics, sizeof metrics, "%d", metrics_port);
    char *argv[] = {s_alerter_bin,
                    "--insecure",
                    "--pg-url",
                    (char *)url,
                    "--aggregator-pub",
                    (char *)sub,
                    "--bind",
                    (char *)bind,
                    "--smtp-url",
                    (char *)smtp,
                    "--operator-webhook",
                    op,
                    "--report-url",
                    "http://reports.example/report",
                    "--eval-interval-ms",
                    "1000",
                    "--slow-interval-ms",
                    "300",
                    "--silence",
                    "3s",
                    "--attempt-timeout-ms",
                    "1000",
                    "--max-attempts",
                    "3",
                    "--retry-base-ms",
                    "200",
                    "--clock",
                    (char *)clock,
                    "--metrics-port",
                    metrics,
                    NULL};
    return it_spawn(argv, log);
}

//  Runs fleetcost with args; its stdout into out. Returns the exit status.
static int s_cli(const char *url, char *out, size_t size, const char *const *args)
{
    char *argv[24];
    int n = 0;
    argv[n++] = s_fleetcost;
    for (int i = 0; args[i] && n < 20; i++)
        argv[n++] = (char *)args[i];
    argv[n++] = "--pg-url";
    argv[n++] = (char *)url;
    argv[n] = NULL;
    const char *path = "it_alerter_cli.out";
    unlink(path);
    int rc = it_stop(it_spawn(argv, path), 0, 30000);
    FILE *f = fopen(path, "r");
    size_t len = f ? fread(out, 1, size - 1, f) : 0;
    out[len] = 0;
    if (f)
        fclose(f);
    return rc;
}
#define CLI(url, out, ...) s_cli(url, out, sizeof out, (const char *const[]){__VA_ARGS__, NULL})

static const char *s_mail_dir = "it_alerter_mail";

//  Messages in the SMTP sink containing every needle; the last one's text into last.
static int s_mails(const char *const *needles, char *last, size_t size)
{
    DIR *d = opendir(s_mail_dir);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (!strstr(e->d_name, ".eml"))
            continue;
        char path[512], buf[16384];
        snprintf(path, sizeof path, "%s/%s", s_mail_dir, e->d_name);
        FILE *f = fopen(path, "r");
        size_t len = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
        buf[len] = 0;
        if (f)
            fclose(f);
        bool all = true;
        for (int k = 0; needles[k] && all; k++)
            all = strstr(buf, needles[k]) != NULL;
        if (all) {
            n++;
            if (last)
                snprintf(last, size, "%s", buf);
        }
    }
    if (d)
        closedir(d);
    return n;
}
#define s_mails_with(...) s_mails((const char *const[]){__VA_ARGS__, NULL}, NULL, 0)

static bool s_mail_cond(void *arg)
{
    return s_mails_with("ops-a@example.com", "threshold day 100%") >= 1;
}

typedef struct {
    PGconn *pg;
    const char *sql;
    int64_t want;
} s_sql_wait_t;

//  A delivery counter that has caught up with what the receiver and the sink took:
//  the receiver records a request before it answers, the alerter counts after.
typedef struct {
    int port;
    const char *name;
    int64_t last;     //  the counter, as last read
    int hooks, mails; //  what the receiver and the sink had then
} s_metrics_wait_t;

static bool s_metrics_cond(void *arg)
{
    s_metrics_wait_t *w = arg;
    w->hooks = s_hooks_ok();
    w->mails = s_mails_with("X-Rcpt:");
    w->last = it_metric(w->port, w->name);
    return w->last >= 0 && w->last == w->hooks + w->mails;
}

static bool s_sql_cond(void *arg)
{
    s_sql_wait_t *w = arg;
    return it_sql_int(w->pg, w->sql) == w->want;
}

//  First column of the first row as text into out ("" when there is none).
static void s_sql_str(PGconn *pg, const char *sql, char *out, size_t size)
{
    PGresult *r = PQexec(pg, sql);
    bool ok = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0;
    snprintf(out, size, "%s", ok ? PQgetvalue(r, 0, 0) : "");
    PQclear(r);
}

//  The status code of GET http://127.0.0.1:port<path>, or -1.
static int s_http_status(int port, const char *path)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    char req[256], buf[64] = "";
    int n = snprintf(req, sizeof req, "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", path);
    size_t len = 0;
    ssize_t got = 0;
    if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0 && write(fd, req, n) == n)
        while (len < sizeof buf - 1 && !strchr(buf, '\n') &&
               (got = read(fd, buf + len, sizeof buf - 1 - len)) > 0)
            buf[len += (size_t)got] = 0;
    if (fd >= 0)
        close(fd);
    return strncmp(buf, "HTTP/1.", 7) == 0 && len >= 12 ? atoi(buf + 9) : -1;
}

static bool s_port_open(void *arg)
{
    int port = *(int *)arg;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
    close(fd);
    return ok;
}

//  Alerts received on the alerter's PUB socket for topic prefix, decoded loosely: the
//  thresholds of fired threshold alerts are OR-ed into a bit mask (bit pct/10).
static int s_drain_alerts(zsock_t *sub, int *mask)
{
    int n = 0;
    zmsg_t *m;
    while ((m = zmsg_recv(sub))) {
        char *topic = zmsg_popstr(m);
        zframe_t *body = zmsg_pop(m);
        msgpack_unpacked u;
        msgpack_unpacked_init(&u);
        if (body &&
            msgpack_unpack_next(&u, (const char *)zframe_data(body), zframe_size(body), NULL) ==
                MSGPACK_UNPACK_SUCCESS &&
            u.data.type == MSGPACK_OBJECT_MAP) {
            const char *kind = "", *state = "";
            int64_t thr = 0;
            for (uint32_t i = 0; i < u.data.via.map.size; i++) {
                msgpack_object_kv *kv = &u.data.via.map.ptr[i];
                const msgpack_object_str *k = &kv->key.via.str;
                if (k->size == 4 && memcmp(k->ptr, "kind", 4) == 0)
                    kind = kv->val.via.str.size == 9 ? "threshold" : "other";
                if (k->size == 5 && memcmp(k->ptr, "state", 5) == 0)
                    state = kv->val.via.str.size == 5 ? "fired" : "resolved";
                if (k->size == 9 && memcmp(k->ptr, "threshold", 9) == 0)
                    thr = kv->val.via.i64;
            }
            if (topic && strcmp(topic, "alert.a.") == 0 && strcmp(kind, "threshold") == 0 &&
                strcmp(state, "fired") == 0) {
                n++;
                *mask |= 1 << (thr / 10);
            }
        }
        msgpack_unpacked_destroy(&u);
        zstr_free(&topic);
        zframe_destroy(&body);
        zmsg_destroy(&m);
    }
    return n;
}

//  ---------------------------------------------------------------------------------

//  The forecast on a synthetic month: February 2025 (28 days), the alerter's clock at
//  12:00 UTC on the 11th, so 10.5 days have elapsed (a hair more when the alerter looks: its
//  clock runs on from there). f spent $30 against a $60 monthly
//  budget: 30 x 28 / 10.5 = $80 projected, over. g spent the same against $100: not over
//  (its 25% threshold fires, which shows g was evaluated).
static void s_forecast_case(const char *hook_base, const char *smtp)
{
    char url[512], out[8192];
    it_db_create("alerter_fc", s_fleetcost, url, sizeof url);
    PGconn *pg = it_pg(url);
    it_sql(pg, "SELECT fc_ensure_event_partitions('2025-02-01', '2025-02-28')");
    char sql[512];
    snprintf(sql, sizeof sql,
             "INSERT INTO tenants (tenant_id, webhook_url) VALUES ('f', '%s/f'), ('g', '%s/g')",
             hook_base, hook_base);
    it_sql(pg, sql);
    FC_CHECK_INT(CLI(url, out, "budget", "set", "--tenant", "f", "--monthly", "60"), 0);
    FC_CHECK_INT(
        CLI(url, out, "budget", "set", "--tenant", "g", "--monthly", "100", "--thresholds", "25"),
        0);
    for (int d = 1; d <= 10; d++) {
        char when[64];
        snprintf(when, sizeof when, "'2025-02-%02d 10:00:00+00'", d);
        s_event(pg, "f", "f1", USD(3), "claude-sonnet-4-5", false, when);
        s_event(pg, "g", "g1", USD(3), "claude-sonnet-4-5", false, when);
    }
    char sub[64], bind[64];
    snprintf(sub, sizeof sub, "tcp://127.0.0.1:%d", it_free_port());
    snprintf(bind, sizeof bind, "tcp://127.0.0.1:%d", it_free_port());
    zsock_t *pub = zsock_new_pub(sub);
    pid_t pid = s_start_alerter(url, sub, bind, smtp, hook_base, "2025-02-11T12:00:00Z", 0,
                                "it_alerter_fc.log");
    //  The periodic Postgres evaluation finds both without any summary.
    s_hook_wait_t wf = {"f", {"\"kind\":\"forecast\"", "\"period\":\"2025-02\"", NULL}, 1, NULL};
    FC_CHECK(it_wait(s_hook_cond, &wf, 10000));
    s_hook_wait_t wg = {"g", {"\"kind\":\"threshold\"", "\"threshold_pct\":25", NULL}, 1, NULL};
    FC_CHECK(it_wait(s_hook_cond, &wg, 10000));
    FC_CHECK_INT(it_sql_int(pg, "SELECT count(*) FROM cost_alerts WHERE kind = 'forecast'"), 1);
    FC_CHECK_INT(it_sql_int(pg, "SELECT count(*) FROM cost_alerts WHERE kind = 'forecast'"
                                " AND tenant_id = 'f' AND period_key = '2025-02'"
                                " AND value_nusd BETWEEN 79990000000 AND 80000000000"
                                " AND budget_nusd = 60000000000"),
                 1);
    FC_CHECK(s_hooks_with("f", "on course to spend $80.00 in 2025-02") == 1);
    //  The same month through a summary changes nothing: still one forecast alert.
    s_publish_to(pub, pg, "f", "2025-02-11", "2025-02");
    FC_CHECK_INT(it_stop(pid, SIGTERM, 10000), 0);
    FC_CHECK_INT(it_sql_int(pg, "SELECT count(*) FROM cost_alerts WHERE kind = 'forecast'"), 1);
    zsock_destroy(&pub);
    PQfinish(pg);
    it_db_drop("alerter_fc");
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: it_alerter <fleetcost> <fleetcost-alerter> <smtp sink .py>\n");
        return 2;
    }
    s_fleetcost = argv[1];
    s_alerter_bin = argv[2];
    //  The SMTP sink's library is a precondition: without it the test fails here, naming
    //  the package, rather than later as a port that never opens.
    if (system("/usr/bin/python3 -c 'import aiosmtpd' 2>/dev/null") != 0) {
        fprintf(stderr, "FAIL it_alerter needs python3's aiosmtpd: Debian package "
                        "python3-aiosmtpd (scripts/deps.sh installs it)\n");
        return 1;
    }
    int64_t t0 = it_now_us();
    char url[512], out[16384], sql[1024];
    it_db_create("alerter", s_fleetcost, url, sizeof url);
    s_pg = it_pg(url);

    //  Webhook receiver and SMTP sink.
    int hook_port = it_free_port(), smtp_port = it_free_port();
    struct MHD_Daemon *mhd = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD, (uint16_t)hook_port, NULL, NULL, s_handler, NULL,
        MHD_OPTION_NOTIFY_COMPLETED, s_completed, NULL, MHD_OPTION_END);
    FC_CHECK(mhd != NULL);
    char hook_base[128], smtp[128], port_s[16];
    snprintf(hook_base, sizeof hook_base, "http://127.0.0.1:%d/hook", hook_port);
    snprintf(smtp, sizeof smtp, "smtp://127.0.0.1:%d", smtp_port);
    snprintf(port_s, sizeof port_s, "%d", smtp_port);
    mkdir(s_mail_dir, 0755);
    it_sql(s_pg, "SELECT 1"); //  (the directory may hold an earlier run's messages)
    char rm[256];
    snprintf(rm, sizeof rm, "rm -f %s/*.eml", s_mail_dir);
    FC_CHECK_INT(system(rm), 0);
    char *smtp_argv[] = {"/usr/bin/python3", argv[3], port_s, (char *)s_mail_dir, NULL};
    pid_t smtp_pid = it_spawn(smtp_argv, "it_alerter_smtp.log");
    FC_CHECK(it_wait(s_port_open, &smtp_port, 15000));

    //  Tenants, budgets (through the CLI), the test's summary PUB and the alerter.
    snprintf(sql, sizeof sql,
             "INSERT INTO tenants (tenant_id, webhook_url, email) VALUES"
             " ('a', '%1$s/a', 'ops-a@example.com'), ('b', '%1$s/b', NULL),"
             " ('c', '%1$s/c', NULL), ('n', '%1$s/n', NULL), ('r', '%1$s/r', NULL),"
             " ('d', NULL, NULL), ('u', NULL, NULL)",
             hook_base);
    it_sql(s_pg, sql);
    FC_CHECK_INT(CLI(url, out, "budget", "set", "--default", "--monthly", "1000"), 0);
    FC_CHECK_INT(CLI(url, out, "budget", "set", "--tenant", "a", "--daily", "10", "--actor", "it"),
                 0);
    FC_CHECK_INT(CLI(url, out, "budget", "set", "--tenant", "b", "--daily", "10"), 0);
    FC_CHECK_INT(CLI(url, out, "budget", "set", "--tenant", "c", "--daily", "10"), 0);
    FC_CHECK_INT(CLI(url, out, "budget", "set", "--tenant", "d", "--daily", "5"), 0);
    FC_CHECK_INT(
        CLI(url, out, "budget", "set", "--tenant", "r", "--agent-runaway", "2", "--window", "10m"),
        0);
    FC_CHECK_INT(CLI(url, out, "budget", "set", "--tenant", "x"), 2); //  nothing to set
    FC_CHECK_INT(CLI(url, out, "budget", "list", "--tenant", "a"), 0);
    FC_CHECK(strstr(out, "daily") && strstr(out, "$10.00") && strstr(out, "(default)"));
    it_sql(s_pg, "SELECT 1");
    PGresult *r = PQexec(s_pg, "SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD'),"
                               " to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM')");
    snprintf(s_today, sizeof s_today, "%s", PQgetvalue(r, 0, 0));
    snprintf(s_month, sizeof s_month, "%s", PQgetvalue(r, 0, 1));
    PQclear(r);

    char sub_ep[64], alert_ep[64];
    snprintf(sub_ep, sizeof sub_ep, "tcp://127.0.0.1:%d", it_free_port());
    snprintf(alert_ep, sizeof alert_ep, "tcp://127.0.0.1:%d", it_free_port());
    s_pub = zsock_new_pub(sub_ep);
    zsock_t *alerts = zsock_new_sub(alert_ep, "alert.");
    zsock_set_rcvtimeo(alerts, 0);
    //  Know when the alert subscriber has connected: the crossings below can all happen
    //  within the SUB's first reconnect interval, and PUB/SUB drops what is published
    //  before a subscriber is there.
    zactor_t *monitor = zactor_new(zmonitor, alerts);
    zstr_sendx(monitor, "LISTEN", "CONNECTED", NULL);
    zstr_send(monitor, "START");
    zsock_wait(monitor);
    int metrics_port = it_free_port();
    pid_t pid =
        s_start_alerter(url, sub_ep, alert_ep, smtp, hook_base, "", metrics_port, "it_alerter.log");
    zsock_set_rcvtimeo(monitor, 10000);
    zmsg_t *connected = zmsg_recv(monitor);
    FC_CHECK(connected != NULL);
    zmsg_destroy(&connected);
    zactor_destroy(&monitor);

    //  1. Crossing 50%, 80% and 100% of a's $10 daily budget notifies once each.
    s_event(s_pg, "a", "a1", USD(6), "claude-sonnet-4-5", false, "now()");
    s_hook_wait_t w50 = {
        "a", {"\"threshold_pct\":50", "\"state\":\"fired\"", NULL}, 1, s_publish_a};
    FC_CHECK(it_wait(s_hook_cond, &w50, 10000));
    //  Now that the subscription is live, one summary suffices, and within a second.
    s_event(s_pg, "a", "a1", USD(2.5), "claude-sonnet-4-5", false, "now()");
    int64_t sent = it_now_us(), at = 0;
    s_publish("a");
    s_hook_wait_t w80 = {"a", {"\"threshold_pct\":80", "\"state\":\"fired\"", NULL}, 1, NULL};
    FC_CHECK(it_wait(s_hook_cond, &w80, 5000));
    s_hook_count_v("a", (const char *const[]){"\"threshold_pct\":80", NULL}, &at);
    printf("it_alerter: 80%% crossing notified %" PRId64 " ms after the summary\n",
           (at - sent) / 1000);
    FC_CHECK(at - sent < 1000000);
    s_event(s_pg, "a", "a1", USD(2), "claude-sonnet-4-5", false, "now()");
    s_publish("a");
    s_hook_wait_t w100 = {"a", {"\"threshold_pct\":100", "\"state\":\"fired\"", NULL}, 1, NULL};
    FC_CHECK(it_wait(s_hook_cond, &w100, 5000));
    FC_CHECK(s_hooks_with("a", "\"threshold_pct\":100", "\"value_nusd\":10500000000",
                          "\"budget_nusd\":10000000000", "\"percent\":\"105.0%\"",
                          "\"text\":\"fleetcost: a reached 100% of its daily budget") == 1);
    //  E-mail: the same three, plain text with the figures, breakdown and report link.
    FC_CHECK(it_wait(s_mail_cond, NULL, 10000));
    char mail[16384] = "";
    s_mails((const char *const[]){"threshold day 100%", NULL}, mail, sizeof mail);
    FC_CHECK(strstr(mail, "X-Rcpt: ops-a@example.com") != NULL);
    FC_CHECK(strstr(mail, "Tenant:     a") != NULL);
    FC_CHECK(strstr(mail, "Current:    $10.50") != NULL);
    FC_CHECK(strstr(mail, "Percent:    105.0%") != NULL);
    FC_CHECK(strstr(mail, "Cost by agent type:") && strstr(mail, "coder"));
    FC_CHECK(strstr(mail, "Top tasks:") && strstr(mail, "task-1"));
    FC_CHECK(strstr(mail, "Report: http://reports.example/report?tenant=a&period=") != NULL);
    //  Idempotency: the notice's key (alert id, state, when it took the state) in the
    //  Idempotency-Key header and the body of both webhooks, and in the Message-ID.
    char key_fired[128], key_resolved[128], msgid[160];
    s_sql_str(s_pg,
              "SELECT 'fleetcost-alert-' || alert_id || '-fired-' ||"
              " (extract(epoch FROM fired_at) * 1000000)::bigint FROM cost_alerts"
              " WHERE tenant_id = 'a' AND kind = 'threshold' AND threshold_pct = 100",
              key_fired, sizeof key_fired);
    FC_CHECK(strncmp(key_fired, "fleetcost-alert-", 16) == 0);
    FC_CHECK_INT(s_hooks_keyed("a", key_fired), 1);
    FC_CHECK_INT(s_hooks_keyed("operator", key_fired), 1);
    snprintf(msgid, sizeof msgid, "\r\nMessage-ID: <%s@fleetcost>\r\n", key_fired);
    FC_CHECK(strstr(mail, msgid) != NULL);
    //  Each crossing also went out on alert.a (the 50% one possibly before the alerter
    //  had taken the new subscriber's subscription in).
    int mask = 0;
    FC_CHECK(s_drain_alerts(alerts, &mask) >= 2);
    FC_CHECK_INT(mask & ((1 << 8) | (1 << 10)), (1 << 8) | (1 << 10));
    FC_CHECK_INT(mask & ~((1 << 5) | (1 << 8) | (1 << 10)), 0);

    //  2. b's endpoint answers 500: retried, then failed; c's alert, published right
    //  after b's, arrives within a second regardless.
    s_event(s_pg, "b", "b1", USD(6), "claude-sonnet-4-5", false, "now()");
    s_event(s_pg, "c", "c1", USD(6), "claude-sonnet-4-5", false, "now()");
    sent = it_now_us();
    s_publish("b");
    s_publish("c");
    s_hook_wait_t wc = {"c", {"\"threshold_pct\":50", NULL}, 1, NULL};
    FC_CHECK(it_wait(s_hook_cond, &wc, 5000));
    s_hook_count_v("c", (const char *const[]){"\"threshold_pct\":50", NULL}, &at);
    FC_CHECK(at - sent < 1000000);
    s_sql_wait_t wb = {s_pg,
                       "SELECT count(*) FROM cost_alerts WHERE tenant_id = 'b' AND kind ="
                       " 'threshold' AND delivery_status = 'failed' AND delivery_attempts = 3"
                       " AND delivery_error LIKE '%HTTP 500%'",
                       1};
    FC_CHECK(it_wait(s_sql_cond, &wb, 10000));
    FC_CHECK_INT(s_hooks_with("b", "\"kind\":\"threshold\""), 3);
    //  ... each of the three attempts with the same key, the one its row gives.
    char key_b[128];
    s_sql_str(s_pg,
              "SELECT 'fleetcost-alert-' || alert_id || '-fired-' ||"
              " (extract(epoch FROM fired_at) * 1000000)::bigint FROM cost_alerts"
              " WHERE tenant_id = 'b' AND kind = 'threshold'",
              key_b, sizeof key_b);
    FC_CHECK_INT(s_hooks_keyed("b", key_b), 3);
    FC_CHECK_INT(it_sql_int(s_pg, "SELECT count(*) FROM cost_alerts WHERE tenant_id = 'c'"
                                  " AND delivery_status = 'delivered' AND delivery_attempts = 1"),
                 1);
    FC_CHECK_INT(CLI(url, out, "alerts", "--tenant", "b"), 0);
    FC_CHECK(strstr(out, "failed") && strstr(out, "HTTP 500") && strstr(out, "1 alert"));

    //  /metrics of this first alerter: every webhook the receiver took (2xx) and every
    //  mail the sink took is one delivery; b's three 500s are two retries and a failure.
    //  (no_data alerts of a, b and c may fire meanwhile: hence the lower bounds.)
    FC_CHECK_INT(s_http_status(metrics_port, "/metrics"), 200);
    s_metrics_wait_t wm = {metrics_port, "fleetcost_alerter_notifications_delivered_total", 0, 0,
                           0};
    FC_CHECK(it_wait(s_metrics_cond, &wm, 10000));
    printf("it_alerter: /metrics: %" PRId64 " delivered; the receiver took %d webhooks, the sink"
           " %d mails\n",
           wm.last, wm.hooks, wm.mails);
    FC_CHECK(it_metric(metrics_port, "fleetcost_alerter_notification_failures_total") >= 1);
    FC_CHECK(it_metric(metrics_port, "fleetcost_alerter_notification_retries_total") >= 2);
    FC_CHECK(it_metric(metrics_port, "fleetcost_alerter_alerts_fired_total") >=
             it_sql_int(s_pg, "SELECT count(*) FROM cost_alerts WHERE kind = 'threshold'"));
    FC_CHECK(it_metric(metrics_port, "fleetcost_alerter_evaluations_total") > 0);
    FC_CHECK_INT(it_metric(metrics_port, "fleetcost_alerter_pg_errors_total"), 0);
    FC_CHECK(it_metric(metrics_port, "fleetcost_alerter_notifications_pending") >= 0);

    //  3. A restart re-sends nothing: a's summary again, then a new crossing of c's (80%)
    //  behind it on the same stream; once that arrives, a's was evaluated too.
    FC_CHECK_INT(it_stop(pid, SIGTERM, 10000), 0);
    pid =
        s_start_alerter(url, sub_ep, alert_ep, smtp, hook_base, "", metrics_port, "it_alerter.log");
    s_event(s_pg, "c", "c1", USD(2.5), "claude-sonnet-4-5", false, "now()");
    s_hook_wait_t wc80 = {"c", {"\"threshold_pct\":80", NULL}, 1, s_publish_a_then_c};
    FC_CHECK(it_wait(s_hook_cond, &wc80, 10000));
    FC_CHECK_INT(s_hooks_with("a", "\"kind\":\"threshold\"", "\"state\":\"fired\""), 3);
    FC_CHECK_INT(s_mails_with("ops-a@example.com", "[fleetcost] a: threshold"), 3);
    FC_CHECK_INT(it_sql_int(s_pg, "SELECT count(*) FROM cost_alerts WHERE tenant_id = 'a'"
                                  " AND kind = 'threshold' AND delivery_status = 'delivered'"),
                 3);

    //  4. Raising the budget above the spend resolves the three, without a restart, and
    //  the change is audited.
    FC_CHECK_INT(
        CLI(url, out, "budget", "set", "--tenant", "a", "--daily", "100", "--actor", "it-raise"),
        0);
    s_hook_wait_t wres = {"a", {"\"kind\":\"threshold\"", "\"state\":\"resolved\"", NULL}, 3, NULL};
    FC_CHECK(it_wait(s_hook_cond, &wres, 10000));
    //  The resolved notice has a key of its own.
    s_sql_str(s_pg,
              "SELECT 'fleetcost-alert-' || alert_id || '-resolved-' ||"
              " (extract(epoch FROM resolved_at) * 1000000)::bigint FROM cost_alerts"
              " WHERE tenant_id = 'a' AND kind = 'threshold' AND threshold_pct = 100",
              key_resolved, sizeof key_resolved);
    FC_CHECK(strncmp(key_resolved, "fleetcost-alert-", 16) == 0);
    FC_CHECK(strcmp(key_resolved, key_fired) != 0);
    FC_CHECK_INT(s_hooks_keyed("a", key_resolved), 1);
    FC_CHECK_INT(s_hooks_keyed("a", key_fired), 1);
    //  The restarted alerter counted those resolutions.
    FC_CHECK(it_metric(metrics_port, "fleetcost_alerter_alerts_resolved_total") >= 3);
    FC_CHECK_INT(it_sql_int(s_pg, "SELECT count(*) FROM cost_alerts WHERE tenant_id = 'a'"
                                  " AND kind = 'threshold' AND state = 'resolved'"),
                 3);
    FC_CHECK_INT(it_sql_int(s_pg, "SELECT count(*) FROM audit_log WHERE actor = 'it-raise'"
                                  " AND action = 'budget.set' AND object = 'budget:a/daily'"
                                  " AND (before->>'amount_nusd')::bigint = 10000000000"
                                  " AND (after->>'amount_nusd')::bigint = 100000000000"),
                 1);

    //  5. Runaway: one agent of r spends $3 within the 10-minute window ($2 limit).
    s_event(s_pg, "r", "r-agent-1", USD(1.5), "claude-opus-4-1", false, "now() - interval '5 min'");
    s_event(s_pg, "r", "r-agent-1", USD(1.5), "claude-opus-4-1", false, "now()");
    s_event(s_pg, "r", "r-agent-2", USD(1), "claude-opus-4-1", false, "now()");
    s_publish("r");
    s_hook_wait_t wr = {"r", {"\"kind\":\"runaway\"", "\"subject\":\"r-agent-1\"", NULL}, 1, NULL};
    FC_CHECK(it_wait(s_hook_cond, &wr, 10000));
    FC_CHECK_INT(s_hooks_with("r", "\"kind\":\"runaway\""), 1);

    //  6. Unpriced usage raises an operator alert naming the model.
    s_event(s_pg, "u", "u1", 0, "mystery-model-9", true, "now()");
    s_publish("u");
    s_hook_wait_t wu = {"operator", {"\"kind\":\"unpriced\"", "mystery-model-9", NULL}, 1, NULL};
    FC_CHECK(it_wait(s_hook_cond, &wu, 10000));

    //  7. No data: n was active, then silent for over 3 s; its return resolves it.
    s_event(s_pg, "n", "n1", USD(0.01), "claude-haiku-4-5", false, "now()");
    s_publish("n");
    s_hook_wait_t wn = {"n", {"\"kind\":\"no_data\"", "\"state\":\"fired\"", NULL}, 1, NULL};
    FC_CHECK(it_wait(s_hook_cond, &wn, 15000));
    s_event(s_pg, "n", "n1", USD(0.01), "claude-haiku-4-5", false, "now()");
    s_publish("n");
    s_hook_wait_t wn2 = {"n", {"\"kind\":\"no_data\"", "\"state\":\"resolved\"", NULL}, 1, NULL};
    FC_CHECK(it_wait(s_hook_cond, &wn2, 10000));

    //  8. budget check flips its exit code at the budget ($5 daily for d).
    s_event(s_pg, "d", "d1", USD(4), "claude-sonnet-4-5", false, "now()");
    FC_CHECK_INT(CLI(url, out, "budget", "check", "--tenant", "d"), 0);
    FC_CHECK(strstr(out, "$4.00 of          $5.00") && strstr(out, "within budget"));
    s_event(s_pg, "d", "d1", USD(1), "claude-sonnet-4-5", false, "now()");
    FC_CHECK_INT(CLI(url, out, "budget", "check", "--tenant", "d"), 1); //  exactly at it
    s_event(s_pg, "d", "d1", USD(0.5), "claude-sonnet-4-5", false, "now()");
    FC_CHECK_INT(CLI(url, out, "budget", "check", "--tenant", "d"), 1);
    FC_CHECK(strstr(out, "$5.50 of") && strstr(out, "110.0%") && strstr(out, "OVER BUDGET"));
    FC_CHECK_INT(CLI(url, out, "budget", "check"), 2);

    //  Every threshold alert of a went out exactly once (fired) and once (resolved).
    FC_CHECK_INT(s_hooks_with("a", "\"kind\":\"threshold\"", "\"state\":\"fired\""), 3);
    FC_CHECK_INT(it_stop(pid, SIGTERM, 10000), 0);

    //  9. The forecast, on a synthetic month in a database of its own.
    s_forecast_case(hook_base, smtp);

    zsock_destroy(&alerts);
    zsock_destroy(&s_pub);
    it_stop(smtp_pid, SIGTERM, 5000);
    MHD_stop_daemon(mhd);
    PQfinish(s_pg);
    if (fc_test_failures == 0)
        it_db_drop("alerter");
    printf("it_alerter: %.1f s\n", (double)(it_now_us() - t0) / 1e6);
    return fc_test_done("it_alerter");
}
