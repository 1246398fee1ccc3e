/*  reporter_key: API key generation and verification. */
#include "reporter_key.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>

#include "fc_pg.h"

static void s_hex(const unsigned char *bytes, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[bytes[i] >> 4];
        out[2 * i + 1] = digits[bytes[i] & 15];
    }
    out[2 * n] = 0;
}

static bool s_is_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

void reporter_key_hash(const char *secret, char hash[REPORTER_HASH_HEX + 1])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (EVP_Digest(secret, strlen(secret), md, &len, EVP_sha256(), NULL) != 1 || len != 32) {
        //  cannot happen with a working libcrypto; an impossible hash never matches
        memset(hash, 'x', REPORTER_HASH_HEX);
        hash[REPORTER_HASH_HEX] = 0;
        return;
    }
    s_hex(md, 32, hash);
}

int reporter_key_generate(char key[REPORTER_KEY_TEXT + 1], char key_id[REPORTER_KEY_ID_HEX + 1],
                          char hash[REPORTER_HASH_HEX + 1])
{
    unsigned char id[REPORTER_KEY_ID_HEX / 2], secret[REPORTER_SECRET_HEX / 2];
    char secret_hex[REPORTER_SECRET_HEX + 1];
    if (RAND_bytes(id, sizeof id) != 1 || RAND_bytes(secret, sizeof secret) != 1)
        return -1;
    s_hex(id, sizeof id, key_id);
    s_hex(secret, sizeof secret, secret_hex);
    reporter_key_hash(secret_hex, hash);
    snprintf(key, REPORTER_KEY_TEXT + 1, "fck_%s_%s", key_id, secret_hex);
    OPENSSL_cleanse(secret, sizeof secret);
    OPENSSL_cleanse(secret_hex, sizeof secret_hex);
    return 0;
}

int reporter_key_parse(const char *key, char key_id[REPORTER_KEY_ID_HEX + 1],
                       char secret[REPORTER_SECRET_HEX + 1])
{
    if (!key || strlen(key) != REPORTER_KEY_TEXT || memcmp(key, "fck_", 4) != 0 ||
        key[4 + REPORTER_KEY_ID_HEX] != '_' || !s_is_hex(key + 4, REPORTER_KEY_ID_HEX) ||
        !s_is_hex(key + 5 + REPORTER_KEY_ID_HEX, REPORTER_SECRET_HEX))
        return -1;
    memcpy(key_id, key + 4, REPORTER_KEY_ID_HEX);
    key_id[REPORTER_KEY_ID_HEX] = 0;
    memcpy(secret, key + 5 + REPORTER_KEY_ID_HEX, REPORTER_SECRET_HEX);
    secret[REPORTER_SECRET_HEX] = 0;
    return 0;
}

bool reporter_key_secret_matches(const char *secret, const char *stored_hash)
{
    char hash[REPORTER_HASH_HEX + 1];
    reporter_key_hash(secret, hash);
    bool ok = strlen(stored_hash) == REPORTER_HASH_HEX &&
              CRYPTO_memcmp(stored_hash, hash, REPORTER_HASH_HEX) == 0;
    OPENSSL_cleanse(hash, sizeof hash);
    return ok;
}

reporter_key_rc_t reporter_key_verify(PGconn *conn, const char *module, const char *key,
                                      bool *admin, char *tenant, size_t tenant_size)
{
    char key_id[REPORTER_KEY_ID_HEX + 1], secret[REPORTER_SECRET_HEX + 1];
    if (reporter_key_parse(key, key_id, secret) != 0)
        return REPORTER_KEY_REJECTED;
    const char *params[] = {key_id};
    PGresult *res = fc_pg_query(conn, module, "key lookup",
                                "SELECT tenant_id, key_hash, revoked, scope"
                                " FROM fc_api_key_lookup($1)",
                                1, params);
    if (!res) {
        OPENSSL_cleanse(secret, sizeof secret);
        return REPORTER_KEY_ERROR;
    }
    reporter_key_rc_t rc = REPORTER_KEY_REJECTED;
    //  An OTLP ingest token is not an API key, even with the right secret.
    if (PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 2), "f") == 0 &&
        strcmp(PQgetvalue(res, 0, 3), "api") == 0 &&
        reporter_key_secret_matches(secret, PQgetvalue(res, 0, 1))) {
        *admin = PQgetisnull(res, 0, 0);
        snprintf(tenant, tenant_size, "%s", *admin ? "" : PQgetvalue(res, 0, 0));
        rc = REPORTER_KEY_OK;
    }
    PQclear(res);
    OPENSSL_cleanse(secret, sizeof secret);
    return rc;
}
