/*  cli_http: the HTTP client of the fleetcost workers that call a provider's API
    (fleetcost github, fleetcost reconcile): one libcurl handle, a bounded answer body,
    the rate-limit headers of the last answer, and the rate-limit pause.

    Headers are given by the caller, credentials included; they are never logged (a
    failed request is logged with its method and the URL the caller names, which must
    not carry a secret). */
#ifndef CLI_HTTP_H
#define CLI_HTTP_H

#include <stddef.h>
#include <stdint.h>

typedef struct _cli_http_t cli_http_t;

//  A client logging as module, refusing answers over max_body bytes, with a per-request
//  timeout. NULL when libcurl cannot start.
cli_http_t *cli_http_new(const char *module, size_t max_body, long timeout_ms);

//  Destroy and NULL the pointer.
void cli_http_destroy(cli_http_t **self_p);

//  An answer longer than max_body: not a passing fault, asking again gets the same.
#define CLI_HTTP_TOO_BIG (-2)

//  One request: headers is a NULL-terminated list of "Name: value" lines; body NULL for a
//  request without one (GET), else sent as is with method. Returns the HTTP status, -1 on
//  a transport error (timeout, refused) or CLI_HTTP_TOO_BIG, logged with log_what.
long cli_http_request(cli_http_t *self, const char *method, const char *url,
                      const char *const *headers, const char *body, const char *log_what);

//  The last answer's body (NUL-terminated; "" when empty) and its length.
const char *cli_http_body(cli_http_t *self, size_t *len);

//  Rate-limit headers of the last answer. Absent values are -1 (remaining, retry_after_s)
//  or 0 (reset_s).
typedef struct {
    long remaining;     //  X-RateLimit-Remaining (GitHub)
    long retry_after_s; //  Retry-After in seconds
    int64_t reset_s;    //  epoch seconds: X-RateLimit-Reset (GitHub) or
                        //  anthropic-ratelimit-requests-reset (RFC 3339, Anthropic)
} cli_http_limits_t;
const cli_http_limits_t *cli_http_limits(cli_http_t *self);

//  How long to wait before retrying after a rate-limit answer: Retry-After when given,
//  else until the announced reset when it is ahead of now_s, else fallback_s; at least
//  1 s and at most max_s.
long cli_http_wait_s(const cli_http_t *self, int64_t now_s, long fallback_s, long max_s);

//  Sleeps seconds in slices, returning early when a stop signal arrives. Returns the
//  milliseconds actually slept.
int64_t cli_http_pause(long seconds);

#endif
