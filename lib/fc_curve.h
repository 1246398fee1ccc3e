/*  fc_curve: CurveZMQ for every fleetcost socket (DESIGN §6, PROTOCOL §1), and the
    certificate directory the `fleetcost cert` command manages.

    One certificate directory per deployment (--cert-dir, default /etc/fleetcost/certs):
        server.cert, server.cert_secret   keypair of every bound socket (7601-7604)
        clients/<name>.cert               authorised client public certificates, metadata
                                          `tenant = <t>` or `role = operator`
        <name>.cert, <name>.cert_secret   local client keypairs (agents, `operator`)

    ORDER MATTERS: call fc_curve_new before creating any socket. It starts czmq's zauth
    actor, the ZAP handler; a CURVE server socket with no ZAP handler accepts any key.
    Only one fc_curve may exist per process (zauth binds a process-wide endpoint).

    Received frames carry the peer's metadata (fc_curve_peer) when they come from
    zframe_recv, zmsg_recv (and zmsg_pop/first/next/last of that message), or
    zsock_recv with "f"/"m". Copies lose it: zframe_dup, zmsg_dup, zstr_recv, and
    anything that rebuilds a frame from bytes. */
#ifndef FC_CURVE_H
#define FC_CURVE_H

#include <czmq.h>
#include <stdbool.h>

#include "fc_config.h"
#include "fc_proto.h"

#define FC_CURVE_DEFAULT_DIR "/etc/fleetcost/certs"
#define FC_CURVE_ZAP_DOMAIN  "fleetcost"
#define FC_CURVE_MAX_NAME    63
//  Longest tenant topic: "alert." + tenant + ".".
#define FC_CURVE_MAX_TOPIC (6 + FC_MAX_TENANT + 1)

//  Settings every service with ZeroMQ sockets shares: cert-dir, insecure.
extern const fc_option_t fc_curve_options[];

typedef struct _fc_curve_t fc_curve_t;

//  Secure mode: loads <cert_dir>/server.cert_secret (bound sockets) and
//  operator.cert_secret (the service's client identity), then starts zauth on
//  <cert_dir>/clients and a watcher that reloads it when that directory changes. Returns
//  NULL, after logging why, if a certificate is missing or unreadable or zauth fails:
//  secure mode refuses to start. Without server.cert_secret but with server.cert the
//  service is a client only (no zauth; fc_curve_server fails). Insecure mode logs a loud
//  warning and nothing else.
fc_curve_t *fc_curve_new(const char *cert_dir, bool insecure, const char *module);

//  Stop zauth and the watcher, destroy and NULL the pointer.
void fc_curve_destroy(fc_curve_t **self_p);

//  True when started with insecure (plaintext, no identities).
bool fc_curve_insecure(const fc_curve_t *self);

//  Make sock a CURVE server with the server keypair and the ZAP domain. Call before
//  bind. No-op in insecure mode. Returns 0 or -1.
int fc_curve_server(fc_curve_t *self, zsock_t *sock);

//  Make sock a CURVE client with the operator keypair, trusting server.cert. Call before
//  connect. No-op in insecure mode. Returns 0 or -1.
int fc_curve_client(fc_curve_t *self, zsock_t *sock);

//  Same for a client holding its own files (agents, tenant subscribers): its keypair
//  (<name>.cert_secret) and the server's public certificate (server.cert). Returns 0,
//  or -1 after logging which file is missing or unreadable.
int fc_curve_client_files(zsock_t *sock, const char *client_secret_cert,
                          const char *server_public_cert);

//  Re-read <cert_dir>/clients now (the watcher does so within a second of a change).
//  Returns 0 or -1.
int fc_curve_reload(fc_curve_t *self);

typedef enum {
    FC_CURVE_NONE = 0,     //  no authenticated identity, or an unusable certificate: drop
    FC_CURVE_TENANT = 1,   //  a tenant certificate: peer->tenant is set
    FC_CURVE_OPERATOR = 2, //  role = operator: every tenant
    FC_CURVE_INSECURE = 3  //  plaintext mode: nobody is authenticated, trust the payload
} fc_curve_role_t;

typedef struct {
    fc_curve_role_t role;
    char tenant[FC_MAX_TENANT + 1];   //  FC_CURVE_TENANT only, else ""
    char name[FC_CURVE_MAX_NAME + 1]; //  certificate "name" metadata, or ""
    char key[41];                     //  User-Id: the client's Z85 public key, or ""
} fc_curve_peer_t;

//  Who sent frame, from its metadata (see the header comment for which receive calls
//  keep it). A certificate with both or neither of tenant and role = operator, or an
//  invalid tenant, is FC_CURVE_NONE. Fills peer when not NULL.
fc_curve_role_t fc_curve_peer(const fc_curve_t *self, zframe_t *frame, fc_curve_peer_t *peer);

//  Tenant topics are "<kind>.<tenant>." — the trailing dot stops ZeroMQ's prefix match
//  at the tenant's end ("sum.acme." never matches "sum.acme2."). Kinds: ev, sum, alert.
//  Build one into buf; returns its length, or -1 (unknown kind, invalid tenant, small buf).
int fc_curve_topic(char *buf, size_t size, const char *kind, const char *tenant);

//  Split a tenant topic of len bytes into kind and tenant (buffers of FC_CURVE_MAX_TOPIC
//  and FC_MAX_TENANT + 1). Returns 0, or -1 if it is not a well-formed tenant topic.
int fc_curve_topic_parse(const void *topic, size_t len, char *kind, char *tenant);

//  Publisher-side enforcement on an XPUB socket: sets ZMQ_XPUB_MANUAL and, in secure
//  mode, the server keypair. Call before bind, then poll the socket for ZMQ_POLLIN and
//  call fc_curve_pub_process when it is readable: nothing is delivered to a subscriber
//  until its subscription has been granted there. Returns 0 or -1.
int fc_curve_pub_setup(fc_curve_t *self, zsock_t *xpub);

//  Read the pending subscription messages (without blocking) and grant each: an
//  operator (or anyone in insecure mode) gets what it asked for; a tenant gets, of its
//  own topics "<kind>.<tenant>." and the shared "hb.", those its request covers; anyone
//  else nothing. Returns the number of messages handled.
int fc_curve_pub_process(fc_curve_t *self, zsock_t *xpub);

//  Send one tenant message: frame 1 fc_curve_topic(kind, tenant), frame 2 data.
//  Returns 0 or -1.
int fc_curve_publish(zsock_t *pub, const char *kind, const char *tenant, const void *data,
                     size_t size);

//  --- The certificate directory (used by `fleetcost cert` and tests) -----------------

//  Names of certificates: [A-Za-z0-9][A-Za-z0-9._-]{0,62}, not "server", "clients".
bool fc_curve_name_valid(const char *name);

//  Create <dir>/server.cert(+_secret) unless it exists. Returns 0 created, 1 existed,
//  -1 on error (logged).
int fc_curve_cert_server(const char *dir);

//  Create the keypair <dir>/<name>.cert(+_secret, mode 0600) with metadata name, created
//  and tenant = tenant (or role = operator when tenant is NULL), and register its public
//  certificate as <dir>/clients/<name>.cert. Never overwrites: returns 1 if the name is
//  taken (either file exists), 0 on success, -1 on error (logged).
int fc_curve_cert_create(const char *dir, const char *name, const char *tenant);

//  Remove <dir>/clients/<name>.cert: new connections with that key are refused; live
//  connections keep working until they reconnect. Returns 0, 1 if not registered, -1.
int fc_curve_cert_revoke(const char *dir, const char *name);

#endif
