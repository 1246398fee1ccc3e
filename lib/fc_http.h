/*  fc_http: the one place our libmicrohttpd servers (fleetcost-otlp, the reporter,
    /metrics) are started and stopped. It parses the bind address, starts the daemon
    with the limits the caller gives (threads, connections, per address, inactivity
    timeout, optional TLS) and routes libmicrohttpd's own error messages into fc_log.
    Request handling stays with each server: it passes its access handler. */
#ifndef FC_HTTP_H
#define FC_HTTP_H

#include <microhttpd.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

typedef struct _fc_http_t fc_http_t;

typedef enum {
    FC_HTTP_ONE_THREAD = 0,       //  one internal thread polls every connection
    FC_HTTP_THREAD_POOL,          //  `pool_size` threads share the connections
    FC_HTTP_THREAD_PER_CONNECTION //  a thread per connection (blocking handlers)
} fc_http_threads_t;

typedef struct {
    const char *module; //  the fc_log module of every line this server logs
    const char *bind;   //  IP address to listen on; NULL or "" means 127.0.0.1
    int port;           //  0 lets the kernel choose (see fc_http_port)
    bool ipv4_only;     //  refuse an IPv6 bind (handlers that read IPv4 peer addresses)
    MHD_AccessHandlerCallback handler;
    void *handler_cls;
    MHD_RequestCompletedCallback completed; //  optional: per-request clean-up
    void *completed_cls;
    fc_http_threads_t threads;
    unsigned pool_size;       //  FC_HTTP_THREAD_POOL only
    size_t thread_stack_size; //  0: libmicrohttpd's default
    unsigned max_connections; //  0: libmicrohttpd's default
    unsigned max_per_address; //  0: no per-address limit
    unsigned timeout_s;       //  inactivity timeout; 0: none
    const char *tls_cert_pem; //  both set: serve HTTPS (the caller keeps them alive)
    const char *tls_key_pem;
} fc_http_options_t;

//  An IP address to listen on, parsed. loopback: 127.0.0.0/8 or ::1.
typedef struct {
    int family; //  AF_INET or AF_INET6
    bool loopback;
    struct sockaddr_storage sa; //  a struct sockaddr_in or sockaddr_in6, port set
} fc_http_addr_t;

//  Parse bind (NULL or "" means 127.0.0.1) and port. Returns 0, or -1 when bind is not
//  an IPv4 address (or, unless ipv4_only, an IPv6 one).
int fc_http_parse_bind(const char *bind, int port, bool ipv4_only, fc_http_addr_t *addr);

//  Start serving. Returns NULL, with the reason logged, when the address is bad, TLS is
//  asked of a libmicrohttpd without it, or the port cannot be bound.
fc_http_t *fc_http_start(const fc_http_options_t *options);

//  The port actually bound (the chosen one when options->port was 0).
int fc_http_port(fc_http_t *self);

//  Whether the address served is a loopback one (plain HTTP there stays on the host).
bool fc_http_loopback(fc_http_t *self);

//  Stop serving: waits for the handlers running now, closes every connection and the
//  listening socket. Safe on NULL.
void fc_http_stop(fc_http_t **self_p);

#endif
