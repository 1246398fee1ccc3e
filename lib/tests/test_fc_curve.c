/*  fc_curve: certificates as `fleetcost cert` makes them, zauth refusing unknown and
    revoked keys, the tenant arriving as metadata, publisher-side tenant enforcement,
    and secure mode refusing to start without its certificates. Every wait is bounded. */
#include <sys/stat.h>

#include "fc_curve.h"
#include "fc_test.h"

#define MODULE "test_fc_curve"

static char s_dir[48];     //  the deployment's certificate directory
static char s_other[48];   //  keys zauth never heard of
static char s_staging[48]; //  a second directory, to swap a certificate in
static int s_port;

static void s_path(char *buf, size_t size, const char *dir, const char *file)
{
    snprintf(buf, size, "%s/%s", dir, file);
}

//  A DEALER connected to the ROUTER with <dir>/<name>.cert_secret, or plaintext if name
//  is NULL.
static zsock_t *s_dealer(const char *dir, const char *name)
{
    zsock_t *sock = zsock_new(ZMQ_DEALER);
    assert(sock);
    zsock_set_linger(sock, 0);
    if (name) {
        char secret[256], server[256], file[128];
        snprintf(file, sizeof file, "%s.cert_secret", name);
        s_path(secret, sizeof secret, dir, file);
        s_path(server, sizeof server, s_dir, "server.cert");
        FC_CHECK_INT(fc_curve_client_files(sock, secret, server), 0);
    }
    zsock_connect(sock, "tcp://127.0.0.1:%d", s_port);
    return sock;
}

//  The next message on sock within ms, or NULL.
static zmsg_t *s_recv(zsock_t *sock, int ms)
{
    zpoller_t *poller = zpoller_new(sock, NULL);
    zmsg_t *msg = zpoller_wait(poller, ms) == sock ? zmsg_recv(sock) : NULL;
    zpoller_destroy(&poller);
    return msg;
}

//  Sends "hello" from a fresh connection with that key; returns what the ROUTER got (or
//  NULL within ms).
static zmsg_t *s_try(zsock_t *router, const char *dir, const char *name, int ms)
{
    zsock_t *dealer = s_dealer(dir, name);
    zstr_send(dealer, "hello");
    zmsg_t *msg = s_recv(router, ms);
    zsock_destroy(&dealer);
    return msg;
}

static void s_test_topics(void)
{
    char buf[FC_CURVE_MAX_TOPIC + 1], kind[FC_CURVE_MAX_TOPIC + 1], tenant[FC_MAX_TENANT + 1];
    FC_CHECK_INT(fc_curve_topic(buf, sizeof buf, "sum", "acme"), 9);
    FC_CHECK_STR(buf, "sum.acme.");
    FC_CHECK_INT(fc_curve_topic_parse(buf, 9, kind, tenant), 0);
    FC_CHECK_STR(kind, "sum");
    FC_CHECK_STR(tenant, "acme");
    char longest[FC_MAX_TENANT + 1];
    memset(longest, 'a', FC_MAX_TENANT);
    longest[FC_MAX_TENANT] = '\0';
    FC_CHECK_INT(fc_curve_topic(buf, sizeof buf, "alert", longest), FC_CURVE_MAX_TOPIC);
    FC_CHECK_INT(fc_curve_topic(buf, 8, "sum", "acme"), -1);      //  too small
    FC_CHECK_INT(fc_curve_topic(buf, sizeof buf, "hb", "a"), -1); //  not a tenant kind
    FC_CHECK_INT(fc_curve_topic(buf, sizeof buf, "ev", "Acme"), -1);
    FC_CHECK_INT(fc_curve_topic(buf, sizeof buf, "ev", ""), -1);
    const char *bad[] = {"sum.acme", "sum..", "hb.x.", "sum.ac.me.", ".acme.", "sum.-a.", ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        FC_CHECK_INT(fc_curve_topic_parse(bad[i], strlen(bad[i]), kind, tenant), -1);
}

static void s_test_files(void)
{
    char path[256];
    FC_CHECK_INT(fc_curve_cert_server(s_dir), 0);
    FC_CHECK_INT(fc_curve_cert_server(s_dir), 1); //  never overwritten
    FC_CHECK_INT(fc_curve_cert_create(s_dir, "acme-host", "acme"), 0);
    FC_CHECK_INT(fc_curve_cert_create(s_dir, "acme-host", "other"), 1);
    const char *bad_names[] = {"", ".hidden", "a/b", "../x", "server", "clients", "a b"};
    for (size_t i = 0; i < sizeof bad_names / sizeof bad_names[0]; i++)
        FC_CHECK_INT(fc_curve_cert_create(s_dir, bad_names[i], "acme"), -1);
    FC_CHECK_INT(fc_curve_cert_create(s_dir, "x", "Acme"), -1);
    FC_CHECK_INT(fc_curve_cert_create(s_dir, "x", "-acme"), -1);

    //  The secret is private; the registered copy is public only and names the tenant.
    struct stat st;
    s_path(path, sizeof path, s_dir, "acme-host.cert_secret");
    FC_CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
    s_path(path, sizeof path, s_dir, "server.cert_secret");
    FC_CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
    s_path(path, sizeof path, s_dir, "clients/acme-host.cert");
    zcert_t *pub = zcert_load(path);
    FC_CHECK(pub != NULL);
    if (pub) {
        FC_CHECK_STR(zcert_meta(pub, "tenant"), "acme");
        FC_CHECK_STR(zcert_meta(pub, "role"), "tenant");
        FC_CHECK_STR(zcert_meta(pub, "name"), "acme-host");
        static const byte zero[32] = {0};
        FC_CHECK(memcmp(zcert_secret_key(pub), zero, 32) == 0);
    }
    zcert_destroy(&pub);
    s_path(path, sizeof path, s_dir, "clients/server.cert");
    FC_CHECK(access(path, F_OK) != 0); //  the server is not a client
}

static void s_test_refuses_to_start(void)
{
    char empty[64];
    snprintf(empty, sizeof empty, "%s/empty", s_other);
    FC_CHECK(fc_curve_new(empty, false, MODULE) == NULL); //  no server.cert_secret
    FC_CHECK_INT(fc_curve_cert_server(empty), 0);
    FC_CHECK(fc_curve_new(empty, false, MODULE) == NULL); //  no operator.cert_secret
    FC_CHECK_INT(fc_curve_cert_create(empty, "operator", NULL), 0);
    char clients[96];
    snprintf(clients, sizeof clients, "%s/clients/operator.cert", empty);
    unlink(clients);
    snprintf(clients, sizeof clients, "%s/clients", empty);
    FC_CHECK_INT(rmdir(clients), 0);
    FC_CHECK(fc_curve_new(empty, false, MODULE) == NULL); //  no clients/
    fc_curve_t *plain = fc_curve_new(empty, true, MODULE);
    FC_CHECK(plain && fc_curve_insecure(plain));
    fc_curve_destroy(&plain);
    FC_CHECK(plain == NULL);
    char missing[96];
    snprintf(missing, sizeof missing, "%s/nope.cert_secret", empty);
    zsock_t *sock = zsock_new(ZMQ_DEALER);
    FC_CHECK_INT(fc_curve_client_files(sock, missing, missing), -1);
    zsock_destroy(&sock);

    //  Client only: server.cert and operator.cert_secret, no server secret and no
    //  clients/ (what the reporter is given). It connects, and refuses to bind.
    char secret[96];
    snprintf(secret, sizeof secret, "%s/server.cert_secret", empty);
    FC_CHECK_INT(unlink(secret), 0);
    fc_curve_t *client = fc_curve_new(empty, false, MODULE);
    FC_CHECK(client != NULL);
    if (client) {
        zsock_t *s = zsock_new(ZMQ_SUB);
        FC_CHECK_INT(fc_curve_client(client, s), 0);
        FC_CHECK_INT(fc_curve_server(client, s), -1);
        FC_CHECK_INT(fc_curve_reload(client), 0);
        zsock_destroy(&s);
    }
    fc_curve_destroy(&client);
    //  Neither the server's secret nor its public certificate: refused.
    char pub[96];
    snprintf(pub, sizeof pub, "%s/server.cert", empty);
    FC_CHECK_INT(unlink(pub), 0);
    FC_CHECK(fc_curve_new(empty, false, MODULE) == NULL);
}

static void s_test_router(fc_curve_t *curve)
{
    zsock_t *router = zsock_new(ZMQ_ROUTER);
    zsock_set_linger(router, 0);
    FC_CHECK_INT(fc_curve_server(curve, router), 0);
    s_port = zsock_bind(router, "tcp://127.0.0.1:*");
    FC_CHECK(s_port > 0);

    //  Unknown key and plaintext: nothing gets through.
    FC_CHECK_INT(fc_curve_cert_create(s_other, "rogue", "acme"), 0);
    zmsg_t *msg = s_try(router, s_other, "rogue", 500);
    FC_CHECK(msg == NULL);
    zmsg_destroy(&msg);
    msg = s_try(router, s_other, NULL, 300);
    FC_CHECK(msg == NULL);
    zmsg_destroy(&msg);

    //  A known tenant key: the payload frame, popped from zmsg_recv's message as ingest
    //  does, names the tenant, the certificate and the key.
    msg = s_try(router, s_dir, "acme-host", 3000);
    FC_CHECK(msg != NULL);
    if (msg) {
        zframe_t *id = zmsg_pop(msg);
        zframe_t *payload = zmsg_pop(msg);
        fc_curve_peer_t peer;
        FC_CHECK_INT(fc_curve_peer(curve, payload, &peer), FC_CURVE_TENANT);
        FC_CHECK_STR(peer.tenant, "acme");
        FC_CHECK_STR(peer.name, "acme-host");
        char path[256];
        s_path(path, sizeof path, s_dir, "acme-host.cert");
        zcert_t *cert = zcert_load(path);
        FC_CHECK_STR(peer.key, cert ? zcert_public_txt(cert) : "");
        zcert_destroy(&cert);
        //  A copy has no metadata: no identity, dropped.
        zframe_t *copy = zframe_dup(payload);
        FC_CHECK_INT(fc_curve_peer(curve, copy, NULL), FC_CURVE_NONE);
        zframe_destroy(&copy);
        zframe_destroy(&id);
        zframe_destroy(&payload);
    }
    zmsg_destroy(&msg);

    //  A certificate added while running is accepted without a restart; an operator.
    FC_CHECK_INT(fc_curve_cert_create(s_dir, "bob-host", "bob"), 0);
    msg = s_try(router, s_dir, "bob-host", 3000);
    FC_CHECK(msg && fc_curve_peer(curve, zmsg_last(msg), NULL) == FC_CURVE_TENANT);
    zmsg_destroy(&msg);
    msg = s_try(router, s_dir, "operator", 3000);
    FC_CHECK(msg && fc_curve_peer(curve, zmsg_last(msg), NULL) == FC_CURVE_OPERATOR);
    zmsg_destroy(&msg);

    //  Revoked: a new connection with the key is refused.
    FC_CHECK_INT(fc_curve_cert_revoke(s_dir, "acme-host"), 0);
    FC_CHECK_INT(fc_curve_cert_revoke(s_dir, "acme-host"), 1);
    msg = s_try(router, s_dir, "acme-host", 500);
    FC_CHECK(msg == NULL);
    zmsg_destroy(&msg);

    //  Swapping a registered certificate for another key of the same size, within the
    //  same second, is invisible to zcertstore's own change check; the watcher reloads
    //  zauth within about a second: the new key gets in, the old one no longer does.
    FC_CHECK_INT(fc_curve_cert_create(s_dir, "rot", "acme"), 0);
    msg = s_try(router, s_dir, "rot", 3000);
    FC_CHECK(msg != NULL);
    zmsg_destroy(&msg);
    FC_CHECK_INT(fc_curve_cert_create(s_staging, "rot", "acme"), 0);
    char from[256], to[256];
    s_path(from, sizeof from, s_staging, "clients/rot.cert");
    s_path(to, sizeof to, s_dir, "clients/rot.cert");
    FC_CHECK_INT(rename(from, to), 0);
    int64_t deadline = zclock_mono() + 5000;
    while (!msg && zclock_mono() < deadline)
        msg = s_try(router, s_staging, "rot", 300);
    FC_CHECK(msg != NULL);
    zmsg_destroy(&msg);
    msg = s_try(router, s_dir, "rot", 500);
    FC_CHECK(msg == NULL);
    zmsg_destroy(&msg);

    //  fc_curve_reload takes effect at once.
    FC_CHECK_INT(fc_curve_cert_revoke(s_dir, "bob-host"), 0);
    FC_CHECK_INT(fc_curve_reload(curve), 0);
    msg = s_try(router, s_dir, "bob-host", 500);
    FC_CHECK(msg == NULL);
    zmsg_destroy(&msg);
    zsock_destroy(&router);
}

typedef struct {
    const char *label;
    zsock_t *sock;
    int heartbeats;
    int data;
    char got[512]; //  data topics received, space-separated
} s_sub_t;

//  A SUB to port with <dir>/<name>.cert_secret (operator: the service identity; NULL:
//  plaintext) and the given subscriptions.
static zsock_t *s_sub(fc_curve_t *curve, int port, const char *dir, const char *name,
                      const char **topics)
{
    zsock_t *sock = zsock_new(ZMQ_SUB);
    zsock_set_linger(sock, 0);
    if (name && streq(name, "operator"))
        fc_curve_client(curve, sock);
    else if (name) {
        char secret[256], server[256], file[128];
        snprintf(file, sizeof file, "%s.cert_secret", name);
        s_path(secret, sizeof secret, dir, file);
        s_path(server, sizeof server, s_dir, "server.cert");
        fc_curve_client_files(sock, secret, server);
    }
    for (; *topics; topics++)
        zsock_set_subscribe(sock, *topics);
    zsock_connect(sock, "tcp://127.0.0.1:%d", port);
    return sock;
}

//  Reads what is waiting on each subscriber.
static void s_drain(s_sub_t *subs, size_t n, int ms)
{
    for (size_t i = 0; i < n; i++) {
        zmsg_t *msg;
        while ((msg = s_recv(subs[i].sock, ms))) {
            char *topic = zmsg_popstr(msg);
            if (topic && strncmp(topic, "hb.", 3) == 0)
                subs[i].heartbeats++;
            else if (topic) {
                subs[i].data++;
                size_t len = strlen(subs[i].got);
                snprintf(subs[i].got + len, sizeof subs[i].got - len, "%s%s", len ? " " : "",
                         topic);
            }
            free(topic);
            zmsg_destroy(&msg);
        }
    }
}

static void s_test_pub(fc_curve_t *curve)
{
    zsock_t *xpub = zsock_new(ZMQ_XPUB);
    zsock_set_linger(xpub, 0);
    FC_CHECK_INT(fc_curve_pub_setup(curve, xpub), 0);
    int port = zsock_bind(xpub, "tcp://127.0.0.1:*");
    FC_CHECK(port > 0);
    FC_CHECK_INT(fc_curve_cert_create(s_dir, "acme-sub", "acme"), 0);
    FC_CHECK_INT(fc_curve_cert_create(s_dir, "bob-sub", "bob"), 0);

    const char *all[] = {"", NULL};
    const char *narrow[] = {"ev.acme", "sum.bob.", "hb.", NULL}; //  own (prefix) + other's
    const char *bob[] = {"sum.bob.", "hb.", NULL};
    s_sub_t subs[] = {
        {"operator", s_sub(curve, port, s_dir, "operator", all), 0, 0, ""},
        {"acme all", s_sub(curve, port, s_dir, "acme-sub", all), 0, 0, ""},
        {"acme narrow", s_sub(curve, port, s_dir, "acme-sub", narrow), 0, 0, ""},
        {"bob", s_sub(curve, port, s_dir, "bob-sub", bob), 0, 0, ""},
        {"plaintext", s_sub(curve, port, NULL, NULL, all), 0, 0, ""},
        {"unknown key", s_sub(curve, port, s_other, "rogue", all), 0, 0, ""},
    };
    size_t nsubs = sizeof subs / sizeof subs[0];
    const size_t authorised = 4; //  the first four may receive something

    //  Heartbeats until every authorised subscriber has been granted and got one.
    zpoller_t *poller = zpoller_new(xpub, NULL);
    int64_t deadline = zclock_mono() + 5000;
    bool ready = false;
    while (!ready && zclock_mono() < deadline) {
        if (zpoller_wait(poller, 20) == xpub)
            fc_curve_pub_process(curve, xpub);
        zstr_sendx(xpub, "hb.test", "{}", NULL);
        s_drain(subs, nsubs, 0);
        ready = true;
        for (size_t i = 0; i < authorised; i++)
            ready = ready && subs[i].heartbeats > 0;
    }
    FC_CHECK(ready);
    zpoller_destroy(&poller);
    fc_curve_pub_process(curve, xpub);
    s_drain(subs, nsubs, 50);

    //  Every kind for three tenants, acme2 being the prefix trap; then a last heartbeat
    //  that marks the end (one connection delivers in order).
    const char *tenants[] = {"acme", "acme2", "bob"};
    const char *kinds[] = {"ev", "sum", "alert"};
    for (size_t t = 0; t < 3; t++)
        for (size_t k = 0; k < 3; k++)
            FC_CHECK_INT(fc_curve_publish(xpub, kinds[k], tenants[t], "{}", 2), 0);
    zstr_sendx(xpub, "hb.test", "{}", NULL);
    s_drain(subs, nsubs, 300);

    FC_CHECK_INT(subs[0].data, 9);
    FC_CHECK_STR(subs[1].got, "ev.acme. sum.acme. alert.acme.");
    FC_CHECK_STR(subs[2].got, "ev.acme.");
    FC_CHECK_STR(subs[3].got, "sum.bob.");
    for (size_t i = authorised; i < nsubs; i++) {
        FC_CHECK_INT(subs[i].data, 0);
        FC_CHECK_INT(subs[i].heartbeats, 0);
    }
    for (size_t i = 0; i < nsubs; i++)
        zsock_destroy(&subs[i].sock);
    zsock_destroy(&xpub);
}

//  Insecure mode: a plain PUB that grants every subscription.
static void s_test_pub_insecure(void)
{
    fc_curve_t *plain = fc_curve_new(NULL, true, MODULE);
    zsock_t *xpub = zsock_new(ZMQ_XPUB);
    zsock_set_linger(xpub, 0);
    FC_CHECK_INT(fc_curve_pub_setup(plain, xpub), 0);
    int port = zsock_bind(xpub, "tcp://127.0.0.1:*");
    zsock_t *sub = zsock_new_sub(NULL, "");
    zsock_set_linger(sub, 0);
    zsock_connect(sub, "tcp://127.0.0.1:%d", port);
    zpoller_t *poller = zpoller_new(xpub, NULL);
    FC_CHECK(zpoller_wait(poller, 3000) == xpub);
    FC_CHECK_INT(fc_curve_pub_process(plain, xpub), 1);
    zpoller_destroy(&poller);
    FC_CHECK_INT(fc_curve_publish(xpub, "sum", "bob", "x", 1), 0);
    zmsg_t *msg = s_recv(sub, 3000);
    FC_CHECK(msg != NULL);
    if (msg)
        FC_CHECK_INT(fc_curve_peer(plain, zmsg_first(msg), NULL), FC_CURVE_INSECURE);
    zmsg_destroy(&msg);
    zsock_destroy(&sub);
    zsock_destroy(&xpub);
    fc_curve_destroy(&plain);
}

int main(void)
{
    char base[] = "/tmp/fc_curve_XXXXXX";
    assert(mkdtemp(base));
    snprintf(s_dir, sizeof s_dir, "%s/certs", base);
    snprintf(s_other, sizeof s_other, "%s/other", base);
    snprintf(s_staging, sizeof s_staging, "%s/staging", base);

    s_test_topics();
    s_test_files();
    s_test_refuses_to_start();
    FC_CHECK_INT(fc_curve_cert_create(s_dir, "operator", NULL), 0);
    fc_curve_t *curve = fc_curve_new(s_dir, false, MODULE);
    FC_CHECK(curve != NULL);
    if (curve) {
        FC_CHECK(fc_curve_new(s_dir, false, MODULE) == NULL); //  one zauth per process
        s_test_router(curve);
        s_test_pub(curve);
    }
    fc_curve_destroy(&curve);
    s_test_pub_insecure();

    zdir_t *dir = zdir_new(base, NULL);
    if (dir)
        zdir_remove(dir, true);
    zdir_destroy(&dir);
    return fc_test_done("test_fc_curve");
}
