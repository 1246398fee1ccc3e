/*  fc_json: a small bounded reader for one flat JSON object, as in the NDJSON input of
    `fleetcost emit --stdin`.

    Member values may be scalars (string, number, true, false, null), arrays of scalars
    or objects of scalars: one level below the top object and no deeper. Strings are
    unescaped to UTF-8; raw invalid UTF-8, raw control characters, lone surrogates and
    \u0000 are refused. Numbers are checked against the JSON grammar and handed over as
    written (at most 32 characters): the caller converts them with its own bounds. */
#ifndef FC_JSON_H
#define FC_JSON_H

#include <stddef.h>

#define FC_JSON_MAX_INPUT  (64 * 1024) //  bytes of one object
#define FC_JSON_MAX_NUMBER 32          //  characters of one number
#define FC_JSON_MAX_VALUES 256         //  scalars in one object, nested ones included

typedef enum { FC_JSON_STRING, FC_JSON_NUMBER, FC_JSON_BOOL, FC_JSON_NULL } fc_json_kind_t;

//  One scalar, with where it sits.
typedef struct {
    const char *key;    //  the top-level member's key
    const char *subkey; //  the key inside a nested object, else NULL
    int index;          //  the position inside a nested array, else -1
    fc_json_kind_t kind;
    const char *text; //  NUL-terminated: the unescaped string, the number as written,
                      //  "true", "false" or "null"
} fc_json_value_t;

//  Called for every scalar in document order. Returns 0 to go on, or -1 after writing
//  why into err (errsize bytes) to stop the parse.
typedef int(fc_json_fn)(void *arg, const fc_json_value_t *value, char *err, size_t errsize);

//  Parses one object from text[0..len) (surrounding whitespace allowed, nothing else).
//  Returns 0, or -1 with a reason in err ("byte 17: unterminated string", or what the
//  callback wrote).
int fc_json_parse_object(const char *text, size_t len, fc_json_fn *fn, void *arg, char *err,
                         size_t errsize);

#endif
