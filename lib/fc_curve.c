/*  fc_curve: CurveZMQ, zauth, publisher-side tenant enforcement, certificate files. */
#include "fc_curve.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fc_hash.h"
#include "fc_log.h"
#include "fc_mp.h"
#include "fc_time.h"

#define MODULE "curve"

const fc_option_t fc_curve_options[] = {
    {"cert-dir", FC_OPT_STR, FC_CURVE_DEFAULT_DIR, 0, 0, false,
     "certificate directory: server.cert_secret, operator.cert_secret, clients/"},
    {"insecure", FC_OPT_BOOL, "false", 0, 0, false,
     "plaintext ZeroMQ without authentication, for local development only"},
    FC_OPT_END};

//  Kinds of tenant topics. A kind missing here cannot be granted to a tenant subscriber:
//  adding a tenant-data stream means adding its kind.
static const char *const s_kinds[] = {"ev", "sum", "alert"};
#define S_NKINDS (sizeof s_kinds / sizeof s_kinds[0])
//  Topics every authenticated subscriber may receive: heartbeats carry no tenant data and
//  are the liveness signal of PROTOCOL §11.
#define S_SHARED_TOPIC "hb."

struct _fc_curve_t {
    bool insecure;
    char module[32];
    char *clients;    //  <cert_dir>/clients, zauth's CURVE location
    zcert_t *server;  //  server keypair
    zcert_t *client;  //  operator keypair: the service's identity as a client
    zactor_t *keeper; //  owns zauth and reloads it on change
    atomic_bool keeper_ok;
    bool client_only; //  no server.cert_secret: connects, never binds (the reporter)
};

//  zauth binds a process-wide inproc endpoint and asserts if it is taken.
static atomic_flag s_active = ATOMIC_FLAG_INIT;

//  --- Reloading --------------------------------------------------------------------
//
//  zcertstore re-reads its directory when the count, total size or newest mtime (whole
//  seconds) of its files changes. Replacing one certificate by another of the same size
//  within the same second (revoke and re-create a name in a script) changes none of
//  them: the old key stays accepted and the new one refused, indefinitely. The keeper
//  therefore hashes every entry's inode, size and nanosecond mtime once a second and
//  re-issues CURVE to zauth, which builds a fresh store, when the hash moves.

//  Order-independent signature of a directory tree (zcertstore also loads subdirectories).
static uint64_t s_dir_signature(const char *path, int depth)
{
    DIR *dir = opendir(path);
    if (!dir)
        return 1;
    uint64_t sum = 0;
    struct dirent *e;
    while ((e = readdir(dir))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char child[4096];
        struct stat st;
        if (snprintf(child, sizeof child, "%s/%s", path, e->d_name) >= (int)sizeof child ||
            lstat(child, &st) != 0)
            continue;
        uint64_t h = fc_fnv1a64(FC_FNV64_BASIS, e->d_name, strlen(e->d_name));
        int64_t fields[] = {(int64_t)st.st_ino, (int64_t)st.st_size, (int64_t)st.st_mtim.tv_sec,
                            (int64_t)st.st_mtim.tv_nsec, (int64_t)st.st_mode};
        h = fc_fnv1a64(h, fields, sizeof fields);
        if (S_ISDIR(st.st_mode) && depth < 4)
            h = fc_fnv1a64(h, &(uint64_t){s_dir_signature(child, depth + 1)}, sizeof(uint64_t));
        sum += h;
    }
    closedir(dir);
    return sum;
}

static int s_auth_configure(zactor_t *auth, const char *clients)
{
    if (zstr_sendx(auth, "CURVE", clients, NULL) != 0)
        return -1;
    return zsock_wait(auth) < 0 ? -1 : 0;
}

//  The keeper actor: starts zauth in its own thread (so only this thread talks to it),
//  sets keeper_ok once zauth is configured or has failed to start, then checks the clients
//  directory every second. Commands: "RELOAD" (answered with a signal), "$TERM".
static void s_keeper(zsock_t *pipe, void *arg)
{
    fc_curve_t *self = arg;
    zactor_t *auth = zactor_new(zauth, NULL);
    uint64_t signature = s_dir_signature(self->clients, 0);
    bool ok = auth && s_auth_configure(auth, self->clients) == 0;
    atomic_store(&self->keeper_ok, ok);
    zsock_signal(pipe, 0); //  zactor_new returns
    if (!ok) {
        zactor_destroy(&auth);
        return;
    }
    zpoller_t *poller = zpoller_new(pipe, NULL);
    zpoller_set_nonstop(poller, true); //  shutdown is the owner's $TERM, not SIGINT
    while (true) {
        zsock_t *which = zpoller_wait(poller, 1000);
        if (which == pipe) {
            //  Only $TERM ends the keeper: without zauth libzmq would accept any key.
            char *command = zstr_recv(pipe);
            bool term = command && streq(command, "$TERM");
            if (command && streq(command, "RELOAD")) {
                signature = s_dir_signature(self->clients, 0);
                zsock_signal(pipe, (byte)(s_auth_configure(auth, self->clients) == 0 ? 0 : 1));
            }
            zstr_free(&command);
            if (term)
                break;
        } else if (!which) {
            uint64_t now = s_dir_signature(self->clients, 0);
            if (now != signature) {
                signature = now;
                if (s_auth_configure(auth, self->clients) == 0)
                    fc_info(self->module, "client certificates in %s changed: reloaded",
                            self->clients);
                else
                    fc_error(self->module, "cannot reload client certificates from %s",
                             self->clients);
            }
        }
    }
    zpoller_destroy(&poller);
    zactor_destroy(&auth);
}

//  --- Service side ------------------------------------------------------------------

//  Loads a keypair from a *_secret file; logs and returns NULL if it cannot.
static zcert_t *s_load_secret(const char *path, const char *module)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        fc_error(module,
                 "secure mode refuses to start: %s: %s (create it with "
                 "`fleetcost cert init`, or run with --insecure for local development)",
                 path, strerror(errno));
        return NULL;
    }
    zcert_t *cert = zcert_load(path);
    static const byte zero[32] = {0};
    if (!cert || memcmp(zcert_secret_key(cert), zero, 32) == 0) {
        fc_error(module, "secure mode refuses to start: %s is not a readable secret certificate",
                 path);
        zcert_destroy(&cert);
        return NULL;
    }
    if (st.st_mode & 077)
        fc_warn(module, "%s is readable by group or others (mode %03o): chmod 600 it", path,
                (unsigned)(st.st_mode & 0777));
    return cert;
}

fc_curve_t *fc_curve_new(const char *cert_dir, bool insecure, const char *module)
{
    fc_curve_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->insecure = insecure;
    snprintf(self->module, sizeof self->module, "%s", module ? module : MODULE);
    if (insecure) {
        fc_warn(self->module, "INSECURE MODE: ZeroMQ traffic is plaintext and unauthenticated; "
                              "any peer can send events for any tenant and read every stream. "
                              "For local development only.");
        return self;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/server.cert_secret", cert_dir);
    //  A service that only connects (the reporter) is given the server's public
    //  certificate and not its secret key (docs/SECURITY.md): it runs without zauth, and
    //  fc_curve_server refuses.
    struct stat st;
    char pub[4096];
    snprintf(pub, sizeof pub, "%s/server.cert", cert_dir);
    if (stat(path, &st) != 0 && errno == ENOENT && stat(pub, &st) == 0) {
        self->server = zcert_load(pub);
        self->client_only = true;
        if (!self->server)
            fc_error(self->module, "secure mode refuses to start: cannot read %s", pub);
    } else {
        self->server = s_load_secret(path, self->module);
    }
    snprintf(path, sizeof path, "%s/operator.cert_secret", cert_dir);
    self->client = self->server ? s_load_secret(path, self->module) : NULL;
    if (!self->client)
        goto fail;
    if (self->client_only) {
        fc_info(self->module,
                "CurveZMQ on, client only (no server.cert_secret): server key %s, own key %s",
                zcert_public_txt(self->server), zcert_public_txt(self->client));
        return self;
    }
    self->clients = zsys_sprintf("%s/clients", cert_dir);
    if (!self->clients || stat(self->clients, &st) != 0 || !S_ISDIR(st.st_mode)) {
        fc_error(self->module, "secure mode refuses to start: %s/clients is not a directory",
                 cert_dir);
        goto fail;
    }
    snprintf(path, sizeof path, "%s/operator.cert", self->clients);
    zcert_t *registered = zcert_load(path);
    if (!registered || !streq(zcert_public_txt(registered), zcert_public_txt(self->client)))
        fc_warn(self->module,
                "%s is missing or holds another key: this service's subscriptions "
                "will be refused",
                path);
    zcert_destroy(&registered);
    if (atomic_flag_test_and_set(&s_active)) {
        fc_error(self->module, "CurveZMQ is already set up in this process");
        goto fail;
    }
    //  zactor_new returns once the keeper has started zauth, or failed to.
    self->keeper = zactor_new(s_keeper, self);
    if (!self->keeper || !atomic_load(&self->keeper_ok)) {
        fc_error(self->module, "secure mode refuses to start: cannot start zauth");
        zactor_destroy(&self->keeper);
        atomic_flag_clear(&s_active);
        goto fail;
    }
    fc_info(self->module, "CurveZMQ on, server key %s, client certificates in %s",
            zcert_public_txt(self->server), self->clients);
    return self;
fail:
    fc_curve_destroy(&self);
    return NULL;
}

void fc_curve_destroy(fc_curve_t **self_p)
{
    assert(self_p);
    fc_curve_t *self = *self_p;
    if (!self)
        return;
    if (self->keeper) {
        zactor_destroy(&self->keeper);
        atomic_flag_clear(&s_active);
    }
    zcert_destroy(&self->server);
    zcert_destroy(&self->client);
    zstr_free(&self->clients);
    free(self);
    *self_p = NULL;
}

bool fc_curve_insecure(const fc_curve_t *self)
{
    return self->insecure;
}

int fc_curve_server(fc_curve_t *self, zsock_t *sock)
{
    if (self->insecure)
        return 0;
    if (self->client_only) {
        fc_error(self->module, "cannot bind a CurveZMQ socket without server.cert_secret");
        return -1;
    }
    zcert_apply(self->server, sock);
    zsock_set_curve_server(sock, 1);
    zsock_set_zap_domain(sock, FC_CURVE_ZAP_DOMAIN);
    return zsock_curve_server(sock) == 1 ? 0 : -1;
}

static void s_apply_client(zsock_t *sock, zcert_t *client, zcert_t *server)
{
    zcert_apply(client, sock);
    zsock_set_curve_serverkey(sock, zcert_public_txt(server));
}

int fc_curve_client(fc_curve_t *self, zsock_t *sock)
{
    if (!self->insecure)
        s_apply_client(sock, self->client, self->server);
    return 0;
}

int fc_curve_client_files(zsock_t *sock, const char *client_secret_cert,
                          const char *server_public_cert)
{
    zcert_t *client = s_load_secret(client_secret_cert, MODULE);
    zcert_t *server = client ? zcert_load(server_public_cert) : NULL;
    if (client && !server)
        fc_error(MODULE, "cannot read the server certificate %s", server_public_cert);
    if (server)
        s_apply_client(sock, client, server);
    int rc = server ? 0 : -1;
    zcert_destroy(&client);
    zcert_destroy(&server);
    return rc;
}

int fc_curve_reload(fc_curve_t *self)
{
    if (self->insecure || self->client_only)
        return 0;
    if (zstr_send(self->keeper, "RELOAD") != 0)
        return -1;
    return zsock_wait(self->keeper) == 0 ? 0 : -1;
}

//  libzmq merges a connection's properties from the ZAP reply first and the peer's own
//  handshake metadata second, keeping the first value of each name: a peer can add any
//  property the ZAP reply lacks. Every certificate we register therefore carries role,
//  tenant and name, and a certificate without a role is refused.
fc_curve_role_t fc_curve_peer(const fc_curve_t *self, zframe_t *frame, fc_curve_peer_t *peer)
{
    fc_curve_peer_t scratch;
    if (!peer)
        peer = &scratch;
    memset(peer, 0, sizeof *peer);
    if (self->insecure)
        return peer->role = FC_CURVE_INSECURE;
    const char *key = zframe_meta(frame, "User-Id");
    const char *role = zframe_meta(frame, "role");
    const char *tenant = zframe_meta(frame, "tenant");
    const char *name = zframe_meta(frame, "name");
    if (!key || strlen(key) != 40 || !role || !tenant)
        return FC_CURVE_NONE;
    if (streq(role, "tenant") && fc_tenant_valid(tenant)) {
        peer->role = FC_CURVE_TENANT;
        snprintf(peer->tenant, sizeof peer->tenant, "%s", tenant);
    } else if (streq(role, "operator"))
        peer->role = FC_CURVE_OPERATOR;
    else
        return FC_CURVE_NONE;
    snprintf(peer->key, sizeof peer->key, "%s", key);
    if (name && fc_curve_name_valid(name))
        snprintf(peer->name, sizeof peer->name, "%s", name);
    return peer->role;
}

//  --- Topics ------------------------------------------------------------------------

static bool s_kind_known(const char *kind, size_t len)
{
    for (size_t i = 0; i < S_NKINDS; i++)
        if (strlen(s_kinds[i]) == len && memcmp(s_kinds[i], kind, len) == 0)
            return true;
    return false;
}

int fc_curve_topic(char *buf, size_t size, const char *kind, const char *tenant)
{
    if (!kind || !s_kind_known(kind, strlen(kind)) || !tenant || !fc_tenant_valid(tenant))
        return -1;
    int n = snprintf(buf, size, "%s.%s.", kind, tenant);
    return n < 0 || (size_t)n >= size ? -1 : n;
}

int fc_curve_topic_parse(const void *topic, size_t len, char *kind, char *tenant)
{
    const char *t = topic;
    const char *dot = len > 0 ? memchr(t, '.', len) : NULL;
    if (!dot || len < 2 || t[len - 1] != '.' || !s_kind_known(t, (size_t)(dot - t)))
        return -1;
    size_t tlen = len - (size_t)(dot - t) - 2;
    if (tlen == 0 || tlen > FC_MAX_TENANT)
        return -1;
    char name[FC_MAX_TENANT + 1];
    memcpy(name, dot + 1, tlen);
    name[tlen] = '\0';
    if (!fc_tenant_valid(name))
        return -1;
    memcpy(kind, t, (size_t)(dot - t));
    kind[dot - t] = '\0';
    memcpy(tenant, name, tlen + 1);
    return 0;
}

//  --- Publisher-side enforcement -----------------------------------------------------

int fc_curve_pub_setup(fc_curve_t *self, zsock_t *xpub)
{
    if (zsock_type(xpub) != ZMQ_XPUB)
        return -1;
    zsock_set_xpub_manual(xpub, 1);
    return fc_curve_server(self, xpub);
}

static bool s_starts_with(const byte *data, size_t size, const char *prefix, size_t len)
{
    return size >= len && memcmp(data, prefix, len) == 0;
}

static void s_grant(zsock_t *xpub, const void *topic, size_t size)
{
    //  zsock_set_subscribe asserts on anything but SUB: set the option directly. It
    //  applies to the pipe the last subscription message came from.
    zmq_setsockopt(zsock_resolve(xpub), ZMQ_SUBSCRIBE, topic, size);
}

//  A tenant's request for prefix P is granted, for each space S it may read (its
//  "<kind>.<tenant>." topics and the shared "hb."), as S when P covers S (P is a prefix
//  of S, e.g. "" or "sum.") and as P when P lies inside S. A request for another tenant's
//  topics covers none of its spaces and grants nothing. Unsubscriptions of tenants are
//  ignored: a grant only ever covers the tenant's own data, and its SUB socket filters
//  what it no longer wants; the grants end with the connection.
static void s_grant_tenant(zsock_t *xpub, const char *tenant, const byte *want, size_t size)
{
    char spaces[S_NKINDS + 1][FC_CURVE_MAX_TOPIC + 1];
    size_t n = 0;
    for (; n < S_NKINDS; n++)
        fc_curve_topic(spaces[n], sizeof spaces[n], s_kinds[n], tenant);
    snprintf(spaces[n++], sizeof spaces[0], "%s", S_SHARED_TOPIC);
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(spaces[i]);
        if (s_starts_with((const byte *)spaces[i], len, (const char *)want, size))
            s_grant(xpub, spaces[i], len);
        else if (s_starts_with(want, size, spaces[i], len))
            s_grant(xpub, want, size);
    }
}

int fc_curve_pub_process(fc_curve_t *self, zsock_t *xpub)
{
    int handled = 0;
    while (zsock_events(xpub) & ZMQ_POLLIN) {
        zframe_t *frame = zframe_recv(xpub); //  ready: does not block
        if (!frame)
            break;
        handled++;
        size_t size = zframe_size(frame);
        byte *data = zframe_data(frame);
        if (size == 0 || (data[0] != 0 && data[0] != 1)) {
            zframe_destroy(&frame);
            continue; //  not a (un)subscription
        }
        bool subscribe = data[0] == 1;
        fc_curve_peer_t peer;
        fc_curve_role_t role = fc_curve_peer(self, frame, &peer);
        if (role == FC_CURVE_OPERATOR || role == FC_CURVE_INSECURE)
            zmq_setsockopt(zsock_resolve(xpub), subscribe ? ZMQ_SUBSCRIBE : ZMQ_UNSUBSCRIBE,
                           data + 1, size - 1);
        else if (role == FC_CURVE_TENANT && subscribe)
            s_grant_tenant(xpub, peer.tenant, data + 1, size - 1);
        else if (role == FC_CURVE_NONE && subscribe)
            fc_warn(self->module,
                    "refused a subscription from a peer without a usable "
                    "certificate (key %s)",
                    zframe_meta(frame, "User-Id") ? zframe_meta(frame, "User-Id") : "none");
        zframe_destroy(&frame);
    }
    return handled;
}

int fc_curve_publish(zsock_t *pub, const char *kind, const char *tenant, const void *data,
                     size_t size)
{
    char topic[FC_CURVE_MAX_TOPIC + 1];
    int n = fc_curve_topic(topic, sizeof topic, kind, tenant);
    if (n < 0)
        return -1;
    zframe_t *t = zframe_new(topic, (size_t)n);
    zframe_t *d = zframe_new(data, size);
    if (!t || !d || zframe_send(&t, pub, ZFRAME_MORE) != 0) {
        zframe_destroy(&t);
        zframe_destroy(&d);
        return -1;
    }
    return zframe_send(&d, pub, 0) == 0 ? 0 : -1;
}

//  --- Certificate files -------------------------------------------------------------

bool fc_curve_name_valid(const char *name)
{
    size_t i = 0;
    for (; name[i]; i++) {
        char c = name[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  (i > 0 && (c == '.' || c == '_' || c == '-'));
        if (!ok || i >= FC_CURVE_MAX_NAME)
            return false;
    }
    return i > 0 && !streq(name, "server") && !streq(name, "clients");
}

static int s_fsync_path(const char *path, int flags)
{
    int fd = open(path, flags | O_CLOEXEC);
    int rc = fd >= 0 && fsync(fd) == 0 ? 0 : -1;
    if (fd >= 0)
        close(fd);
    return rc;
}

//  Writes a certificate file durably and without ever replacing one: a temporary file in
//  dir created with mode (so a secret is never readable by others, even briefly), filled
//  by czmq, fsync'd, then link()ed to final, which fails if final exists; the directory
//  of final is fsync'd. Returns 0, 1 if final exists, -1 on error (logged).
static int s_write_cert(const char *dir, zcert_t *cert, bool secret, const char *final, mode_t mode)
{
    static atomic_uint counter;
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s/.tmp-cert-%d-%u", dir, (int)getpid(),
             atomic_fetch_add(&counter, 1));
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0) {
        fc_error(MODULE, "create %s: %s", tmp, strerror(errno));
        return -1;
    }
    close(fd);
    int rc = secret ? zcert_save_secret(cert, tmp) : zcert_save_public(cert, tmp);
    if (rc != 0 || s_fsync_path(tmp, O_RDONLY) != 0) {
        fc_error(MODULE, "write %s failed", tmp);
        unlink(tmp);
        return -1;
    }
    rc = link(tmp, final);
    int err = errno;
    unlink(tmp);
    if (rc != 0) {
        if (err == EEXIST)
            return 1;
        fc_error(MODULE, "create %s: %s", final, strerror(err));
        return -1;
    }
    char *parent = strdup(final);
    char *slash = parent ? strrchr(parent, '/') : NULL;
    if (slash)
        *slash = '\0';
    if (slash && s_fsync_path(parent, O_RDONLY | O_DIRECTORY) != 0)
        fc_warn(MODULE, "fsync %s: %s", parent, strerror(errno));
    free(parent);
    return 0;
}

static int s_ensure_dirs(const char *dir)
{
    char clients[4096];
    snprintf(clients, sizeof clients, "%s/clients", dir);
    if (zsys_dir_create("%s", clients) != 0) {
        fc_error(MODULE, "cannot create %s: %s", clients, strerror(errno));
        return -1;
    }
    return 0;
}

static void s_set_created(zcert_t *cert)
{
    char now[FC_TIME_SIZE];
    fc_time_format(fc_time_now_us(), 0, now, sizeof now);
    zcert_set_meta(cert, "created", "%s", now);
}

//  Saves the keypair as <base> (public) and <base>_secret (0600), secret first: a
//  public file therefore always has its secret beside it. Returns 0, 1 if taken, -1.
static int s_save_pair(const char *dir, zcert_t *cert, const char *base)
{
    char secret[4096];
    snprintf(secret, sizeof secret, "%s_secret", base);
    if (access(base, F_OK) == 0)
        return 1;
    int rc = s_write_cert(dir, cert, true, secret, 0600);
    if (rc != 0)
        return rc;
    rc = s_write_cert(dir, cert, false, base, 0644);
    if (rc != 0)
        unlink(secret); //  ours: created just above
    return rc == 1 ? -1 : rc;
}

int fc_curve_cert_server(const char *dir)
{
    if (s_ensure_dirs(dir) != 0)
        return -1;
    char base[4096];
    snprintf(base, sizeof base, "%s/server.cert", dir);
    zcert_t *cert = zcert_new();
    if (!cert)
        return -1;
    zcert_set_meta(cert, "name", "server");
    zcert_set_meta(cert, "role", "server");
    s_set_created(cert);
    int rc = s_save_pair(dir, cert, base);
    zcert_destroy(&cert);
    return rc;
}

int fc_curve_cert_create(const char *dir, const char *name, const char *tenant)
{
    if (!fc_curve_name_valid(name)) {
        fc_error(MODULE,
                 "invalid certificate name '%s': [A-Za-z0-9][A-Za-z0-9._-]{0,62}, "
                 "not server or clients",
                 name);
        return -1;
    }
    if (tenant && !fc_tenant_valid(tenant)) {
        fc_error(MODULE, "invalid tenant '%s': [a-z0-9][a-z0-9_-]{0,62}", tenant);
        return -1;
    }
    if (s_ensure_dirs(dir) != 0)
        return -1;
    char base[4096], registered[4096];
    snprintf(base, sizeof base, "%s/%s.cert", dir, name);
    snprintf(registered, sizeof registered, "%s/clients/%s.cert", dir, name);
    if (access(registered, F_OK) == 0)
        return 1;
    zcert_t *cert = zcert_new();
    if (!cert)
        return -1;
    //  role and tenant are always both present: see fc_curve_peer.
    zcert_set_meta(cert, "name", "%s", name);
    zcert_set_meta(cert, "role", "%s", tenant ? "tenant" : "operator");
    zcert_set_meta(cert, "tenant", "%s", tenant ? tenant : "*");
    s_set_created(cert);
    int rc = s_save_pair(dir, cert, base);
    if (rc == 0) {
        rc = s_write_cert(dir, cert, false, registered, 0644);
        if (rc != 0) { //  leave nothing half-made behind
            char secret[sizeof base + 8];
            snprintf(secret, sizeof secret, "%s_secret", base);
            unlink(base);
            unlink(secret);
        }
    }
    zcert_destroy(&cert);
    return rc;
}

int fc_curve_cert_revoke(const char *dir, const char *name)
{
    if (!fc_curve_name_valid(name)) {
        fc_error(MODULE, "invalid certificate name '%s'", name);
        return -1;
    }
    char registered[4096];
    snprintf(registered, sizeof registered, "%s/clients/%s.cert", dir, name);
    if (unlink(registered) != 0) {
        if (errno == ENOENT)
            return 1;
        fc_error(MODULE, "remove %s: %s", registered, strerror(errno));
        return -1;
    }
    snprintf(registered, sizeof registered, "%s/clients", dir);
    if (s_fsync_path(registered, O_RDONLY | O_DIRECTORY) != 0)
        fc_warn(MODULE, "fsync %s: %s", registered, strerror(errno));
    return 0;
}
