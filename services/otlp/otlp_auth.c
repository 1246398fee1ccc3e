/*  otlp_auth: OTLP ingest tokens checked against an in-memory set (see otlp_auth.h). */
#include "otlp_auth.h"

#include <openssl/crypto.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "fc_log.h"
#include "fc_pg.h"
#include "fc_time.h"
#include "reporter_key.h"

#define MODULE "otlp"

typedef struct {
    char key_id[REPORTER_KEY_ID_HEX + 1];
    char tenant[FC_MAX_TENANT + 1]; //  "" for an operator token
    char hash[REPORTER_HASH_HEX + 1];
} s_token_t;

typedef struct {
    s_token_t *tokens; //  sorted by key_id
    int count;
} s_set_t;

struct _otlp_auth_t {
    char *pg_url;
    int refresh_ms;
    PGconn *pg;
    pthread_mutex_t lock; //  guards set and loaded
    s_set_t set;
    bool loaded;
    int64_t next_ms; //  when the next load is due (monotonic)
};

static int s_cmp(const void *a, const void *b)
{
    return strcmp(((const s_token_t *)a)->key_id, ((const s_token_t *)b)->key_id);
}

otlp_auth_t *otlp_auth_new(const char *pg_url, int refresh_ms)
{
    otlp_auth_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->pg_url = strdup(pg_url ? pg_url : "");
    self->refresh_ms = refresh_ms > 0 ? refresh_ms : 5000;
    if (!self->pg_url || pthread_mutex_init(&self->lock, NULL) != 0) {
        free(self->pg_url);
        free(self);
        return NULL;
    }
    return self;
}

#define S_QUERY_TIMEOUT "3s"

//  Reads the whole set of live tokens into *out. 0, or -1 (logged).
static int s_load(otlp_auth_t *self, s_set_t *out)
{
    if (!self->pg || PQstatus(self->pg) != CONNECTION_OK) {
        if (self->pg)
            PQfinish(self->pg);
        self->pg = fc_pg_connect(self->pg_url, MODULE);
        if (!self->pg)
            return -1;
        //  The refresh runs on the service's main thread, which also notices SIGTERM:
        //  a query waiting on a lock must not hold the stop (or the refreshes) for long.
        PGresult *set = PQexec(self->pg, "SET statement_timeout = '" S_QUERY_TIMEOUT "'");
        PQclear(set);
    }
    char limit[16];
    snprintf(limit, sizeof limit, "%d", OTLP_AUTH_MAX_TOKENS + 1);
    const char *p[] = {limit};
    PGresult *r = fc_pg_query(self->pg, MODULE, "OTLP tokens",
                              "SELECT key_id, coalesce(tenant_id, ''), key_hash"
                              " FROM fc_otlp_tokens() LIMIT $1::int",
                              1, p);
    if (!r)
        return -1;
    int n = PQntuples(r);
    if (n > OTLP_AUTH_MAX_TOKENS) {
        fc_error(MODULE, "more than %d live OTLP tokens: only the first %d are honoured",
                 OTLP_AUTH_MAX_TOKENS, OTLP_AUTH_MAX_TOKENS);
        n = OTLP_AUTH_MAX_TOKENS;
    }
    out->tokens = n ? calloc((size_t)n, sizeof *out->tokens) : NULL;
    out->count = 0;
    if (n && !out->tokens) {
        PQclear(r);
        return -1;
    }
    for (int i = 0; i < n; i++) {
        const char *id = PQgetvalue(r, i, 0), *tenant = PQgetvalue(r, i, 1);
        const char *hash = PQgetvalue(r, i, 2);
        //  The schema guarantees the shapes; a row that is not of them is skipped.
        if (strlen(id) != REPORTER_KEY_ID_HEX || strlen(hash) != REPORTER_HASH_HEX ||
            strlen(tenant) > FC_MAX_TENANT)
            continue;
        s_token_t *t = &out->tokens[out->count++];
        memcpy(t->key_id, id, REPORTER_KEY_ID_HEX + 1);
        memcpy(t->hash, hash, REPORTER_HASH_HEX + 1);
        snprintf(t->tenant, sizeof t->tenant, "%s", tenant);
    }
    PQclear(r);
    qsort(out->tokens, (size_t)out->count, sizeof *out->tokens, s_cmp);
    return 0;
}

int otlp_auth_refresh(otlp_auth_t *self)
{
    int64_t now = fc_time_mono_ms();
    pthread_mutex_lock(&self->lock);
    bool due = !self->loaded || now >= self->next_ms;
    pthread_mutex_unlock(&self->lock);
    if (!due)
        return 0;
    s_set_t fresh = {0};
    if (s_load(self, &fresh) != 0) {
        //  Try again in a second, not at every call.
        pthread_mutex_lock(&self->lock);
        self->next_ms = now + 1000;
        bool loaded = self->loaded;
        pthread_mutex_unlock(&self->lock);
        fc_warn(MODULE, "cannot load OTLP tokens: %s",
                loaded ? "keeping the last set" : "answering 503 until loaded");
        return -1;
    }
    pthread_mutex_lock(&self->lock);
    s_set_t old = self->set;
    bool first = !self->loaded;
    self->set = fresh;
    self->loaded = true;
    self->next_ms = now + self->refresh_ms;
    pthread_mutex_unlock(&self->lock);
    if (first || old.count != fresh.count)
        fc_info(MODULE, "%d OTLP ingest tokens in force", fresh.count);
    if (old.tokens)
        OPENSSL_cleanse(old.tokens, (size_t)old.count * sizeof *old.tokens);
    free(old.tokens);
    return 0;
}

otlp_auth_rc_t otlp_auth_check(otlp_auth_t *self, const char *authorization,
                               char tenant[FC_MAX_TENANT + 1])
{
    tenant[0] = 0;
    if (!authorization)
        return OTLP_AUTH_REJECTED;
    //  "Bearer" is case-insensitive (RFC 9110 §11.1); the token itself is exact.
    while (*authorization == ' ')
        authorization++;
    if (strncasecmp(authorization, "Bearer ", 7) != 0)
        return OTLP_AUTH_REJECTED;
    const char *token = authorization + 7;
    while (*token == ' ')
        token++;
    char text[REPORTER_KEY_TEXT + 1];
    size_t len = strcspn(token, " \t");
    if (len != REPORTER_KEY_TEXT || token[len + strspn(token + len, " \t")] != 0)
        return OTLP_AUTH_REJECTED;
    memcpy(text, token, len);
    text[len] = 0;
    s_token_t want = {0}, found = {0};
    char secret[REPORTER_SECRET_HEX + 1];
    if (reporter_key_parse(text, want.key_id, secret) != 0) {
        OPENSSL_cleanse(text, sizeof text);
        return OTLP_AUTH_REJECTED;
    }
    OPENSSL_cleanse(text, sizeof text);
    pthread_mutex_lock(&self->lock);
    bool loaded = self->loaded;
    const s_token_t *hit =
        loaded && self->set.count
            ? bsearch(&want, self->set.tokens, (size_t)self->set.count, sizeof want, s_cmp)
            : NULL;
    if (hit)
        found = *hit;
    pthread_mutex_unlock(&self->lock);
    //  The secret is hashed and compared in constant time even when the id is unknown,
    //  so timing does not tell an attacker which ids exist.
    if (!hit)
        memset(found.hash, '0', REPORTER_HASH_HEX);
    bool ok = reporter_key_secret_matches(secret, found.hash) && hit;
    OPENSSL_cleanse(secret, sizeof secret);
    if (!loaded)
        return OTLP_AUTH_UNAVAILABLE;
    if (!ok)
        return OTLP_AUTH_REJECTED;
    memcpy(tenant, found.tenant, sizeof found.tenant);
    return OTLP_AUTH_OK;
}

int otlp_auth_count(otlp_auth_t *self)
{
    pthread_mutex_lock(&self->lock);
    int n = self->set.count;
    pthread_mutex_unlock(&self->lock);
    return n;
}

void otlp_auth_destroy(otlp_auth_t **self_p)
{
    otlp_auth_t *self = *self_p;
    if (!self)
        return;
    if (self->pg)
        PQfinish(self->pg);
    if (self->set.tokens)
        OPENSSL_cleanse(self->set.tokens, (size_t)self->set.count * sizeof *self->set.tokens);
    free(self->set.tokens);
    pthread_mutex_destroy(&self->lock);
    free(self->pg_url);
    free(self);
    *self_p = NULL;
}
