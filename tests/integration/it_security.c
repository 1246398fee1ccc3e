/*  it_security: CurveZMQ end to end, the real ingest in secure mode.

    An unknown key is refused; a client holding tenant A's certificate cannot store an
    event for tenant B (tenant_mismatch, in dead_letters) and its events without a
    tenant get A; a revoked certificate is refused on reconnect; an unauthenticated
    subscriber receives nothing, a tenant subscriber only its own tenant's events, an
    operator all; a service in secure mode without its certificates does not start.

    usage: it_security <fleetcost> <fleetcost-ingest> */
#include <czmq.h>
#include <inttypes.h>

#include "fc_curve.h"
#include "fc_stream.h"
#include "fc_test.h"
#include "fleetcost.h"
#include "it_util.h"

static char s_url[512], s_dir[256], s_certs[300], s_bind[64], s_pub[64];
static char *s_ingest_bin;

static pid_t s_start_ingest(const char *cert_dir)
{
    char *argv[] = {s_ingest_bin, "--cert-dir",  (char *)cert_dir, "--pg-url",
                    s_url,        "--bind",      s_bind,           "--pub-bind",
                    s_pub,        "--ingest-id", "it-sec",         "--metrics-port",
                    "0",          NULL};
    return it_spawn(argv, "it_security.log");
}

static fc_client_t *s_client(const char *name, const char *cert)
{
    char spool[400], server[400];
    snprintf(spool, sizeof spool, "%s/spool-%s", s_dir, name);
    snprintf(server, sizeof server, "%s/server.cert", s_certs);
    fc_client_options_t o = {.endpoints = s_bind,
                             .spool_dir = spool,
                             .fsync = FC_FSYNC_NONE,
                             .ack_timeout_ms = 500,
                             .client_cert = cert,
                             .server_cert = server};
    return fc_client_new(&o);
}

static void s_send(fc_client_t *c, const char *tenant, const char *agent)
{
    fc_event_t ev;
    fc_event_init(&ev);
    ev.type = FC_EV_USAGE;
    snprintf(ev.tenant, sizeof ev.tenant, "%s", tenant);
    snprintf(ev.agent, sizeof ev.agent, "%s", agent);
    snprintf(ev.model, sizeof ev.model, "claude-haiku-4-5");
    ev.input_tokens = 100;
    fc_proto_error_t err;
    FC_CHECK_INT(fc_client_send(c, &ev, &err), 0);
}

//  A subscriber with a certificate (NULL: plaintext) subscribed to everything it may.
static zsock_t *s_sub(const char *cert)
{
    zsock_t *sub = zsock_new(ZMQ_SUB);
    if (cert) {
        char server[400];
        snprintf(server, sizeof server, "%s/server.cert", s_certs);
        FC_CHECK_INT(fc_curve_client_files(sub, cert, server), 0);
    }
    zsock_set_subscribe(sub, "");
    zsock_set_rcvtimeo(sub, 100);
    zsock_connect(sub, "%s", s_pub);
    return sub;
}

//  Waits for a heartbeat: proof the subscription was granted.
static bool s_granted(zsock_t *sub)
{
    int64_t deadline = it_now_us() + 10000000;
    while (it_now_us() < deadline) {
        zmsg_t *m = zmsg_recv(sub);
        if (!m)
            continue;
        char *topic = zmsg_popstr(m);
        bool hb = topic && strncmp(topic, "hb.", 3) == 0;
        free(topic);
        zmsg_destroy(&m);
        if (hb)
            return true;
    }
    return false;
}

//  Events received per tenant until want events arrived or the time is up.
static void s_collect(zsock_t *sub, int want, int ms, int *alpha, int *beta)
{
    int64_t deadline = it_now_us() + (int64_t)ms * 1000;
    static fc_stored_event_t evs[FC_MAX_BATCH];
    while (*alpha + *beta < want && it_now_us() < deadline) {
        zmsg_t *m = zmsg_recv(sub);
        if (!m)
            continue;
        zframe_t *topic = zmsg_first(m), *body = zmsg_next(m);
        fc_stream_header_t h;
        size_t n = 0;
        fc_proto_error_t err;
        if (topic && body && zframe_size(topic) > 3 && memcmp(zframe_data(topic), "ev.", 3) == 0 &&
            fc_stream_decode(zframe_data(body), zframe_size(body), &h, evs, FC_MAX_BATCH, &n,
                             &err) == FC_OK) {
            if (strcmp(h.tenant, "alpha") == 0)
                *alpha += (int)n;
            else
                *beta += (int)n;
        }
        zmsg_destroy(&m);
    }
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: it_security <fleetcost> <fleetcost-ingest>\n");
        return 2;
    }
    s_ingest_bin = argv[2];
    snprintf(s_dir, sizeof s_dir, "%s/it_security", P_tmpdir);
    zsys_dir_delete(s_dir);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s/empty'", s_dir, s_dir);
    if (system(cmd) != 0)
        return 2;
    snprintf(s_certs, sizeof s_certs, "%s/certs", s_dir);
    snprintf(s_bind, sizeof s_bind, "tcp://127.0.0.1:%d", it_free_port());
    snprintf(s_pub, sizeof s_pub, "tcp://127.0.0.1:%d", it_free_port());
    it_db_create("security", argv[1], s_url, sizeof s_url);
    PGconn *pg = it_pg(s_url);

    //  Secure mode without certificates: refuses to start.
    char empty[300];
    snprintf(empty, sizeof empty, "%s/empty", s_dir);
    pid_t pid = s_start_ingest(empty);
    FC_CHECK_INT(it_stop(pid, 0, 15000), 2);

    //  The deployment's certificates, made with the code `fleetcost cert` uses.
    FC_CHECK_INT(fc_curve_cert_server(s_certs), 0);
    FC_CHECK_INT(fc_curve_cert_create(s_certs, "operator", NULL), 0);
    FC_CHECK_INT(fc_curve_cert_create(s_certs, "host-a", "alpha"), 0);
    FC_CHECK_INT(fc_curve_cert_create(s_certs, "host-b", "beta"), 0);
    //  Secure mode registers no tenant from events: the operator registers both (as
    //  `fleetcost tenant set` does; tests/security/sec_tenants.sh covers the refusal).
    it_sql(pg, "INSERT INTO tenants (tenant_id, name) VALUES ('alpha', 'alpha'), ('beta', 'beta')");
    //  A key nobody registered.
    char rogue[400], cert_a[400], cert_b[400], cert_op[400];
    snprintf(rogue, sizeof rogue, "%s/rogue.cert", s_dir);
    zcert_t *r = zcert_new();
    zcert_save(r, rogue);
    zcert_destroy(&r);
    snprintf(cert_a, sizeof cert_a, "%s/host-a.cert", s_certs);
    snprintf(cert_b, sizeof cert_b, "%s/host-b.cert", s_certs);
    snprintf(cert_op, sizeof cert_op, "%s/operator.cert_secret", s_certs);

    pid = s_start_ingest(s_certs);
    zsock_t *op_sub = s_sub(cert_op);
    char cert_a_secret[420];
    snprintf(cert_a_secret, sizeof cert_a_secret, "%s_secret", cert_a);
    zsock_t *a_sub = s_sub(cert_a_secret);
    zsock_t *plain_sub = s_sub(NULL);
    FC_CHECK(s_granted(op_sub));
    FC_CHECK(s_granted(a_sub));

    //  Tenant A: events without a tenant are A's; one naming B is refused.
    fc_client_t *a = s_client("a", cert_a);
    fc_client_t *b = s_client("b", cert_b);
    FC_CHECK(a && b);
    for (int i = 0; i < 3; i++)
        s_send(a, "", "agent-a");
    s_send(a, "beta", "agent-a");
    s_send(b, "beta", "agent-b");
    s_send(b, "", "agent-b");
    FC_CHECK_INT(fc_client_flush(a, 15000), 0);
    FC_CHECK_INT(fc_client_flush(b, 15000), 0);
    fc_client_stats_t st;
    fc_client_stats(a, &st);
    FC_CHECK_INT(st.rejected, 1);
    FC_CHECK_INT(st.last_reject_code, FC_E_TENANT_MISMATCH);
    FC_CHECK_INT(it_sql_int(pg, "SELECT count(*) FROM events WHERE tenant_id = 'alpha'"), 3);
    FC_CHECK_INT(it_sql_int(pg, "SELECT count(*) FROM events WHERE tenant_id = 'beta'"), 2);
    FC_CHECK_INT(it_sql_int(pg, "SELECT count(*) FROM events WHERE agent_id = 'agent-a'"
                                " AND tenant_id <> 'alpha'"),
                 0);
    FC_CHECK_INT(it_sql_int(pg, "SELECT count(*) FROM dead_letters WHERE code = 'tenant_mismatch'"
                                " AND tenant_id = 'beta'"),
                 1);
    fc_client_destroy(&a);
    fc_client_destroy(&b);

    //  The stream: the operator sees both tenants, tenant A only A, plaintext nothing.
    int op_alpha = 0, op_beta = 0, a_alpha = 0, a_beta = 0, p_alpha = 0, p_beta = 0;
    s_collect(op_sub, 5, 10000, &op_alpha, &op_beta);
    FC_CHECK_INT(op_alpha, 3);
    FC_CHECK_INT(op_beta, 2);
    s_collect(a_sub, 5, 1500, &a_alpha, &a_beta);
    FC_CHECK_INT(a_alpha, 3);
    FC_CHECK_INT(a_beta, 0);
    s_collect(plain_sub, 1, 500, &p_alpha, &p_beta);
    FC_CHECK_INT(p_alpha + p_beta, 0);

    //  An unknown key: nothing is acked, nothing stored.
    fc_client_t *x = s_client("rogue", rogue);
    FC_CHECK(x != NULL);
    s_send(x, "alpha", "agent-x");
    FC_CHECK_INT(fc_client_flush(x, 1500), 1);
    fc_client_destroy(&x);
    FC_CHECK_INT(it_sql_int(pg, "SELECT count(*) FROM events WHERE agent_id = 'agent-x'"), 0);

    //  Revoked: host-b's certificate removed; a new connection with it is refused.
    FC_CHECK_INT(fc_curve_cert_revoke(s_certs, "host-b"), 0);
    b = s_client("b2", cert_b);
    s_send(b, "beta", "agent-b2");
    FC_CHECK_INT(fc_client_flush(b, 1500), 1);
    fc_client_destroy(&b);
    FC_CHECK_INT(it_sql_int(pg, "SELECT count(*) FROM events WHERE agent_id = 'agent-b2'"), 0);

    FC_CHECK_INT(it_stop(pid, SIGTERM, 15000), 0);
    zsock_destroy(&op_sub);
    zsock_destroy(&a_sub);
    zsock_destroy(&plain_sub);
    PQfinish(pg);
    int rc = fc_test_done("it_security");
    if (rc == 0)
        it_db_drop("security");
    return rc;
}
