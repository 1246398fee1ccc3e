/*  otlp_auth: who may send to fleetcost-otlp, and for which tenant.

    A request carries "Authorization: Bearer <token>", where the token is an OTLP ingest
    token made by `fleetcost key create --scope otlp --tenant T` (or --admin for an
    operator token): the same format, SHA-256 hashing and constant-time compare as the
    reporter's API keys (reporter_key), stored hashed in api_keys with scope 'otlp'.

    Postgres is never asked per request. The set of live OTLP tokens (key id, tenant,
    hash; at most OTLP_AUTH_MAX_TOKENS) is loaded from fc_otlp_tokens() at start and
    again every refresh interval; a request is checked against that in-memory set. So a
    flood of requests with made-up tokens costs one hash each and no query, and a token
    revoked with `fleetcost key revoke` stops working within one refresh interval. When
    a refresh fails (Postgres down) the last set stays in force and the failure is
    logged; before the first successful load every request is answered 503. */
#ifndef OTLP_AUTH_H
#define OTLP_AUTH_H

#include <stdbool.h>

#include "fc_proto.h"

#define OTLP_AUTH_MAX_TOKENS 100000

typedef struct _otlp_auth_t otlp_auth_t;

typedef enum {
    OTLP_AUTH_OK = 0,
    OTLP_AUTH_REJECTED = 1,    //  no token, malformed, unknown, revoked, wrong secret
    OTLP_AUTH_UNAVAILABLE = 2, //  no token set loaded yet (Postgres unreachable since start)
} otlp_auth_rc_t;

//  Connects lazily to pg_url; refresh_ms is the longest a revoked token keeps working.
otlp_auth_t *otlp_auth_new(const char *pg_url, int refresh_ms);

//  Loads the token set when it is due (or never loaded). Call from one thread,
//  regularly. Returns 0 when the set in force is fresh, -1 when the load failed.
int otlp_auth_refresh(otlp_auth_t *self);

//  Checks an Authorization header value (NULL when absent). On OTLP_AUTH_OK *tenant
//  holds the token's tenant, or "" for an operator token. Thread-safe.
otlp_auth_rc_t otlp_auth_check(otlp_auth_t *self, const char *authorization,
                               char tenant[FC_MAX_TENANT + 1]);

//  Tokens in the set in force (for a gauge).
int otlp_auth_count(otlp_auth_t *self);

void otlp_auth_destroy(otlp_auth_t **self_p);

#endif
