/*  reporter_key: API keys. A key reads "fck_<key_id>_<secret>": key_id is 12 hex digits
    (public, the api_keys primary key), secret 64 hex digits (32 bytes from OpenSSL's
    CSPRNG). Only the hex SHA-256 of the secret is stored; a presented key is checked
    through fc_api_key_lookup (the reader cannot read api_keys) with a constant-time
    compare.

    The same keys, with scope 'otlp' in api_keys, are fleetcost-otlp's ingest tokens
    (fleetcost key create --scope otlp): one format, one hash, one compare for both doors,
    and the scope keeps them apart (reporter_key_verify accepts only scope 'api'). */
#ifndef REPORTER_KEY_H
#define REPORTER_KEY_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

#define REPORTER_KEY_ID_HEX 12
#define REPORTER_SECRET_HEX 64
#define REPORTER_KEY_TEXT   (4 + REPORTER_KEY_ID_HEX + 1 + REPORTER_SECRET_HEX) //  81
#define REPORTER_HASH_HEX   64

//  Makes a new key: its text (shown once), id and secret hash. Returns 0, or -1 if the
//  random generator failed.
int reporter_key_generate(char key[REPORTER_KEY_TEXT + 1], char key_id[REPORTER_KEY_ID_HEX + 1],
                          char hash[REPORTER_HASH_HEX + 1]);

//  Splits a presented key into id and secret. Returns 0, or -1 if it is not exactly the
//  key format (so nothing malformed ever reaches SQL).
int reporter_key_parse(const char *key, char key_id[REPORTER_KEY_ID_HEX + 1],
                       char secret[REPORTER_SECRET_HEX + 1]);

//  Hex SHA-256 of the secret's text.
void reporter_key_hash(const char *secret, char hash[REPORTER_HASH_HEX + 1]);

//  True when the secret's hash equals stored_hash (hex), compared in constant time.
bool reporter_key_secret_matches(const char *secret, const char *stored_hash);

typedef enum {
    REPORTER_KEY_OK = 0,
    REPORTER_KEY_ERROR = -1,   //  database error
    REPORTER_KEY_REJECTED = 1, //  malformed, unknown, revoked or wrong secret
} reporter_key_rc_t;

//  Verifies a presented API key (scope 'api'). On success *admin says whether it is an admin key,
//  else tenant holds its tenant.
reporter_key_rc_t reporter_key_verify(PGconn *conn, const char *module, const char *key,
                                      bool *admin, char *tenant, size_t tenant_size);

#endif
