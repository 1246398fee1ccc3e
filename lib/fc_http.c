/*  fc_http: start and stop of a libmicrohttpd server (see fc_http.h). */
#include "fc_http.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fc_log.h"

#define S_MAX_OPTIONS 16

struct _fc_http_t {
    struct MHD_Daemon *daemon;
    char module[32];
    int port;
    bool loopback;
};

int fc_http_parse_bind(const char *bind, int port, bool ipv4_only, fc_http_addr_t *addr)
{
    const char *text = bind && *bind ? bind : "127.0.0.1";
    memset(addr, 0, sizeof *addr);
    if (port < 0 || port > 65535)
        return -1;
    struct sockaddr_in *in4 = (struct sockaddr_in *)&addr->sa;
    if (inet_pton(AF_INET, text, &in4->sin_addr) == 1) {
        in4->sin_family = AF_INET;
        in4->sin_port = htons((uint16_t)port);
        addr->family = AF_INET;
        addr->loopback = (ntohl(in4->sin_addr.s_addr) >> 24) == 127;
        return 0;
    }
    if (ipv4_only)
        return -1;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&addr->sa;
    if (inet_pton(AF_INET6, text, &in6->sin6_addr) != 1)
        return -1;
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons((uint16_t)port);
    addr->family = AF_INET6;
    addr->loopback = IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr);
    return 0;
}

//  libmicrohttpd's own messages (a refused connection, a TLS handshake that failed, ...)
//  go to our log, not to its default stderr format. They carry no request data that
//  could hold a secret: they name the condition and, at most, an address.
static void s_mhd_log(void *cls, const char *fmt, va_list ap)
{
    const fc_http_t *self = cls;
    char line[512];
    vsnprintf(line, sizeof line, fmt, ap);
    size_t n = strlen(line);
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    fc_warn(self->module, "libmicrohttpd: %s", line);
}

static void s_opt(struct MHD_OptionItem *items, int *n, enum MHD_OPTION option, intptr_t value,
                  void *ptr)
{
    items[*n] = (struct MHD_OptionItem){option, value, ptr};
    (*n)++;
}

fc_http_t *fc_http_start(const fc_http_options_t *o)
{
    fc_http_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    snprintf(self->module, sizeof self->module, "%s", o->module ? o->module : "http");
    const char *bind = o->bind && *o->bind ? o->bind : "127.0.0.1";
    fc_http_addr_t addr;
    if (fc_http_parse_bind(bind, o->port, o->ipv4_only, &addr) != 0) {
        fc_error(self->module, "http-bind %s is not an %s address", bind,
                 o->ipv4_only ? "IPv4" : "IPv4 or IPv6");
        free(self);
        return NULL;
    }
    self->loopback = addr.loopback;
    bool tls = o->tls_cert_pem && o->tls_key_pem;
    if (tls && MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
        fc_error(self->module, "TLS requested but this libmicrohttpd has no TLS support");
        free(self);
        return NULL;
    }

    unsigned flags = MHD_USE_ERROR_LOG;
    if (o->threads == FC_HTTP_THREAD_PER_CONNECTION)
        flags |= MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION;
    else if (o->threads == FC_HTTP_THREAD_POOL)
        flags |= MHD_USE_AUTO_INTERNAL_THREAD; //  epoll where there is one
    else
        flags |= MHD_USE_INTERNAL_POLLING_THREAD;
    if (addr.family == AF_INET6)
        flags |= MHD_USE_IPv6;
    if (tls)
        flags |= MHD_USE_TLS;

    //  Limits (libmicrohttpd 0.9.75, microhttpd.h): CONNECTION_LIMIT caps open
    //  connections (threads, in thread-per-connection mode); PER_IP_CONNECTION_LIMIT
    //  closes a new connection from an address that has that many open;
    //  CONNECTION_TIMEOUT closes a connection after that many seconds of inactivity,
    //  which bounds a client that sends half a header and stops. In an option array a
    //  pair of pointers passes its first one cast to intptr_t (MHD_OPTION_ARRAY).
    struct MHD_OptionItem items[S_MAX_OPTIONS];
    int n = 0;
    //  First, so that start-up messages already take this route.
    s_opt(items, &n, MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)s_mhd_log, self);
    s_opt(items, &n, MHD_OPTION_SOCK_ADDR, 0, &addr.sa);
    if (o->threads == FC_HTTP_THREAD_POOL && o->pool_size > 1)
        s_opt(items, &n, MHD_OPTION_THREAD_POOL_SIZE, (intptr_t)o->pool_size, NULL);
    if (o->max_connections > 0)
        s_opt(items, &n, MHD_OPTION_CONNECTION_LIMIT, (intptr_t)o->max_connections, NULL);
    if (o->max_per_address > 0)
        s_opt(items, &n, MHD_OPTION_PER_IP_CONNECTION_LIMIT, (intptr_t)o->max_per_address, NULL);
    s_opt(items, &n, MHD_OPTION_CONNECTION_TIMEOUT, (intptr_t)o->timeout_s, NULL);
    if (o->thread_stack_size > 0)
        s_opt(items, &n, MHD_OPTION_THREAD_STACK_SIZE, (intptr_t)o->thread_stack_size, NULL);
    if (o->completed)
        s_opt(items, &n, MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)o->completed, o->completed_cls);
    if (tls) {
        s_opt(items, &n, MHD_OPTION_HTTPS_MEM_CERT, 0, (void *)o->tls_cert_pem);
        s_opt(items, &n, MHD_OPTION_HTTPS_MEM_KEY, 0, (void *)o->tls_key_pem);
    }
    s_opt(items, &n, MHD_OPTION_END, 0, NULL);

    self->daemon = MHD_start_daemon(flags, (uint16_t)o->port, NULL, NULL, o->handler,
                                    o->handler_cls, MHD_OPTION_ARRAY, items, MHD_OPTION_END);
    if (!self->daemon) {
        fc_error(self->module, "cannot listen on %s:%d", bind, o->port);
        free(self);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(self->daemon, MHD_DAEMON_INFO_BIND_PORT);
    self->port = info ? info->port : o->port;
    return self;
}

int fc_http_port(fc_http_t *self)
{
    return self->port;
}

bool fc_http_loopback(fc_http_t *self)
{
    return self->loopback;
}

void fc_http_stop(fc_http_t **self_p)
{
    fc_http_t *self = *self_p;
    if (!self)
        return;
    MHD_stop_daemon(self->daemon);
    free(self);
    *self_p = NULL;
}
