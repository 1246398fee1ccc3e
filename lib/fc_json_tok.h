/*  fc_json_tok: the one JSON reader of fleetcost (RFC 8259): a bounded tokenizer for
    nested documents (transcripts, OTLP), and on top of it fc_jflat_parse, for the flat
    objects of NDJSON input (`fleetcost emit --stdin`). Strings are checked with the one
    UTF-8 decoder (fc_utf8.h).

    One pass checks the whole text against the grammar (strings: escapes, UTF-8, no raw
    control characters; numbers: the JSON number grammar) and writes a flat array of
    tokens in document order, each with its byte range in the text. Nothing is
    allocated: the caller gives the token array, and the parse fails cleanly when the
    document needs more tokens or nests deeper than allowed.

    Containers nested deeper than keep_depth are still checked, but appear as a single
    token (collapsed, no children): a reader that wants message.usage of a transcript
    line need not pay a token for every element of a large content array.

    Object members are a key token (a string) followed by its value's tokens. Every
    token knows the index just past its own subtree (`next`), so a reader walks
    siblings without recursion. */
#ifndef FC_JSON_TOK_H
#define FC_JSON_TOK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FC_JTOK_MAX_DEPTH 128 //  the deepest nesting any caller may allow

typedef enum {
    FC_JTOK_OBJECT = 1,
    FC_JTOK_ARRAY,
    FC_JTOK_STRING, //  start/end: the raw text between the quotes, escapes not applied
    FC_JTOK_NUMBER, //  start/end: the number as written
    FC_JTOK_TRUE,
    FC_JTOK_FALSE,
    FC_JTOK_NULL
} fc_jtok_type_t;

typedef struct {
    uint8_t type;   //  fc_jtok_type_t
    bool collapsed; //  a container deeper than keep_depth: its children have no tokens
    bool escaped;   //  a string holding a backslash escape
    uint32_t start; //  byte offset of the value (strings: after the opening quote)
    uint32_t end;   //  byte offset just past it (strings: at the closing quote)
    uint32_t size;  //  containers: members (object) or elements (array); else 0
    uint32_t next;  //  index of the first token after this one's subtree
} fc_jtok_t;

//  Limits of one parse.
typedef struct {
    int max_tokens; //  size of the token array
    int max_depth;  //  1..FC_JTOK_MAX_DEPTH: nesting allowed, the top value counting 1
    int keep_depth; //  containers at a nesting level above this are collapsed; 0: none
} fc_jtok_limits_t;

//  Tokenizes text[0..len) (one value, surrounding whitespace allowed; at most 4 GiB).
//  Returns the number of tokens (token 0 is the top value), or -1 with a reason in err
//  ("byte 17: unterminated string", "more than 1000 values").
int fc_jtok_parse(const char *text, size_t len, const fc_jtok_limits_t *limits, fc_jtok_t *toks,
                  char *err, size_t errsize);

//  The value of member `key` of the object at index obj, or -1 (not an object, no such
//  member, or obj is collapsed). With duplicate keys the last one wins, as in most
//  readers. Keys with escapes are compared after unescaping.
int fc_jtok_member(const char *text, const fc_jtok_t *toks, int obj, const char *key);

//  Follows a path of member names separated by '.' ("message.usage.input_tokens") from
//  the object at index obj. Returns the value's index or -1.
int fc_jtok_path(const char *text, const fc_jtok_t *toks, int obj, const char *path);

//  The string at index i unescaped into out (NUL-terminated). Returns its length, or -1
//  if the token is not a string, the result does not fit in size bytes, or it holds
//  \u0000 (refused: it would truncate C strings).
int fc_jtok_string(const char *text, const fc_jtok_t *toks, int i, char *out, size_t size);

//  True if the string token i equals s (after unescaping).
bool fc_jtok_string_eq(const char *text, const fc_jtok_t *toks, int i, const char *s);

//  The number at index i as an int64 (no fraction, no exponent; or, with
//  allow_string, also a string holding such a number, as OTLP writes 64-bit integers).
//  Returns 0, or -1 if it is anything else or out of range.
int fc_jtok_int64(const char *text, const fc_jtok_t *toks, int i, bool allow_string, int64_t *v);

//  Exact decimal scaling: the JSON number text[0..len) times 10^scale, rounded half
//  away from zero, as an int64 (e.g. "0.0123456789", scale 9 -> 12345679;
//  "1.5e-3", scale 9 -> 1500000). No floating point. Returns 0, or -1 if the text is
//  not a JSON number or the result is out of range.
int fc_json_decimal_scaled(const char *text, size_t len, int scale, int64_t *v);

//  --- flat objects (NDJSON input) ---------------------------------------------------

//  One object whose member values are scalars (string, number, true, false, null),
//  arrays of scalars or objects of scalars: one level below the top object and no
//  deeper. Strings are unescaped to UTF-8; \u0000 is refused (as everywhere here, raw
//  invalid UTF-8, raw control characters and lone surrogates too). Numbers are checked
//  against the JSON grammar and handed over as written: the caller converts them with
//  its own bounds.
#define FC_JFLAT_MAX_INPUT  (64 * 1024) //  bytes of one object
#define FC_JFLAT_MAX_NUMBER 32          //  characters of one number
#define FC_JFLAT_MAX_VALUES 256         //  scalars in one object, nested ones included

typedef enum { FC_JFLAT_STRING, FC_JFLAT_NUMBER, FC_JFLAT_BOOL, FC_JFLAT_NULL } fc_jflat_kind_t;

//  One scalar, with where it sits.
typedef struct {
    const char *key;    //  the top-level member's key
    const char *subkey; //  the key inside a nested object, else NULL
    int index;          //  the position inside a nested array, else -1
    fc_jflat_kind_t kind;
    const char *text; //  NUL-terminated: the unescaped string, the number as written,
                      //  "true", "false" or "null"
} fc_jflat_value_t;

//  Called for every scalar in document order. Returns 0 to go on, or -1 after writing
//  why into err (errsize bytes) to stop.
typedef int(fc_jflat_fn)(void *arg, const fc_jflat_value_t *value, char *err, size_t errsize);

//  Parses one flat object from text[0..len) (surrounding whitespace allowed, nothing
//  else). The whole object is checked before the first call of fn, so a malformed
//  object produces no values. Returns 0, or -1 with a reason in err ("byte 17:
//  unterminated string", or what the callback wrote).
int fc_jflat_parse(const char *text, size_t len, fc_jflat_fn *fn, void *arg, char *err,
                   size_t errsize);

#endif
