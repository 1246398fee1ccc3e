/*  fc_mp: internal helpers shared by the proto codecs (not part of the public API).

    Decoding uses a small hand-written msgpack reader over a (pointer, end) pair: it
    allocates nothing, never reads past end, and rejects a declared length or count that
    the remaining bytes cannot hold before anything acts on it. Encoding goes through
    msgpack-c's msgpack_packer, either into a caller's fixed buffer or an sbuffer. */
#ifndef FC_MP_H
#define FC_MP_H

#include "fc_proto.h"

#include <msgpack.h>
#include <stdarg.h>

typedef enum {
    FC_MP_NIL,
    FC_MP_BOOL,
    FC_MP_UINT, //  non-negative integer, value in u
    FC_MP_INT,  //  negative integer, value in i
    FC_MP_FLOAT,
    FC_MP_STR,
    FC_MP_BIN,
    FC_MP_EXT,
    FC_MP_ARRAY,
    FC_MP_MAP
} fc_mp_type_t;

typedef struct {
    fc_mp_type_t type;
    bool b;
    uint64_t u;
    int64_t i;
    double d;
    const uint8_t *ptr; //  str / bin / ext payload
    uint32_t len;       //  payload length, or element count of an array / map
} fc_mp_item_t;

typedef struct {
    const uint8_t *p;
    const uint8_t *end;
} fc_mp_reader_t;

//  Read the next item header (and payload, for str/bin/ext). 0, or -1 if the bytes are
//  truncated or invalid (0xc1, or a count the remaining bytes cannot hold).
int fc_mp_next(fc_mp_reader_t *r, fc_mp_item_t *item);
//  Skip the rest of an item already read by fc_mp_next (its array/map elements), at most
//  depth_left further levels deep. 0, or -1 (malformed / too deep: *too_deep says which).
int fc_mp_skip_body(fc_mp_reader_t *r, const fc_mp_item_t *item, int depth_left, bool *too_deep);
//  Read an integer item as int64: 0 ok, -1 not an integer, -2 out of int64 range.
int fc_mp_get_int(const fc_mp_item_t *item, int64_t *out);
//  Key equality helper.
static inline bool fc_mp_key_is(const fc_mp_item_t *key, const char *lit, size_t litlen)
{
    return key->len == litlen && memcmp(key->ptr, lit, litlen) == 0;
}
#define FC_MP_KEY(item, lit) fc_mp_key_is((item), lit, sizeof(lit) - 1)

//  Fill err (if not NULL) and return code.
fc_code_t fc_mp_error(fc_proto_error_t *err, fc_code_t code, const char *field, const char *fmt,
                      ...) __attribute__((format(printf, 4, 5)));

//  Tenant-style name: [a-z0-9][a-z0-9_-]{0,max-1}.
bool fc_mp_name_valid(const char *s, size_t max);
//  Copy a msgpack str into a bounded C string: FC_OK, FC_E_TYPE, FC_E_TOO_LARGE or
//  FC_E_RANGE (embedded NUL).
fc_code_t fc_mp_copy_str(const fc_mp_item_t *item, char *dst, size_t cap, const char *field,
                         fc_proto_error_t *err);

//  A msgpack-c write callback into a fixed buffer; overflow sticks.
typedef struct {
    uint8_t *buf;
    size_t cap, len;
    bool overflow;
} fc_mp_fixbuf_t;
int fc_mp_fixbuf_write(void *data, const char *buf, size_t len);

//  Pack a NUL-terminated string as msgpack str.
static inline void fc_mp_pack_cstr(msgpack_packer *pk, const char *s)
{
    msgpack_pack_str_with_body(pk, s, strlen(s));
}
#define FC_MP_PACK_KEY(pk, lit) msgpack_pack_str_with_body((pk), lit, sizeof(lit) - 1)

//  A growing buffer for msgpack-c (like msgpack_sbuffer, but an allocation failure
//  sticks, so one check at the end covers every pack call).
typedef struct {
    uint8_t *buf;
    size_t cap, len;
    bool failed;
} fc_mp_dynbuf_t;
int fc_mp_dynbuf_write(void *data, const char *buf, size_t len);
//  Hand the bytes to the caller (malloc'd, caller owns), or NULL and free on failure.
uint8_t *fc_mp_dynbuf_release(fc_mp_dynbuf_t *db, size_t *size);

//  Envelopes: the small fixed maps around events (batch, ack, stream, heartbeat).
//  The "v" value: FC_OK, FC_E_VERSION or FC_E_MALFORMED.
fc_code_t fc_mp_version(const fc_mp_item_t *val, uint32_t *version, fc_proto_error_t *err);
//  Skip the value of an unknown key, bounded in depth.
fc_code_t fc_mp_skip(fc_mp_reader_t *r, const fc_mp_item_t *val, fc_proto_error_t *err);
//  Read the envelope's map header (frame size and key count bounded).
fc_code_t fc_mp_envelope(fc_mp_reader_t *r, size_t size, fc_mp_item_t *map, const char *what,
                         fc_proto_error_t *err);
//  Read one key/value pair: string keys, no repeats; *index is the key's position in
//  keys (<= 32 of them) or -1 if unknown.
fc_code_t fc_mp_envelope_pair(fc_mp_reader_t *r, const char *const *keys, int nkeys, uint32_t *seen,
                              int *index, fc_mp_item_t *val, fc_proto_error_t *err);

#endif

/*  Field tables. A struct that travels as a msgpack map (events, stored events) is
    described once by a table of fields: wire key, name (in errors and JSON), kind and
    where it lives. The decoder, the validator, the encoder and the JSON writer all walk
    the same table, so a field's rules are written in exactly one place. */
typedef enum {
    FC_F_STR,    //  char[cap + 1]
    FC_F_INT,    //  int64_t in [min, max]; has_off: bool flag or -1
    FC_F_DBL,    //  double in [min, max]; has_off: bool flag
    FC_F_BOOL,   //  bool
    FC_F_ID,     //  uint8_t[16], msgpack bin 16
    FC_F_TYPE,   //  fc_event_type_t, msgpack str
    FC_F_LABELS, //  char[FC_MAX_LABELS][FC_MAX_LABEL + 1]; has_off: int count
    FC_F_ATTRS   //  fc_attr_t[FC_MAX_ATTRS]; has_off: int count
} fc_mp_kind_t;

#define FC_EV_ALL FC_EV_COUNT_ //  in fc_mp_field_t.always: every type

typedef struct {
    const char *key;        //  wire key
    uint8_t klen;           //  strlen(key)
    const char *name;       //  error / JSON name
    fc_mp_kind_t kind;      //
    uint16_t off;           //  offset of the value
    uint16_t cap;           //  FC_F_STR: longest string
    int16_t has_off;        //  see kinds; -1 if none
    fc_event_type_t always; //  FC_F_INT/BOOL: emitted even when zero for this type
    int64_t min, max;       //  FC_F_INT / FC_F_DBL range, inclusive
} fc_mp_field_t;

//  Make every field of obj absent: a string's first byte, a number, a flag, a count.
//  Bytes after a string's end or past a count are left as they were: cheaper than
//  zeroing a whole struct (an fc_event_t is 8 KB), and all a decode needs.
void fc_mp_clear_fields(const fc_mp_field_t *fields, size_t n, void *obj);

//  Decode one map of fields into obj (which the caller has zeroed or cleared). `map` is the map
//  header already read; `levels` is how many nesting levels may still appear below it.
//  Unknown keys are skipped (bounded), duplicates rejected. Sets bit i of *seen for
//  fields[i] present (n <= 64).
fc_code_t fc_mp_decode_fields(fc_mp_reader_t *r, const fc_mp_item_t *map,
                              const fc_mp_field_t *fields, size_t n, void *obj, uint64_t *seen,
                              int levels, fc_proto_error_t *err);
//  Check the limits, ranges and UTF-8 of the fields whose bit is set in mask (a decoder
//  passes the fields it saw: the others are still zero, which is always in range).
#define FC_MP_ALL UINT64_MAX
fc_code_t fc_mp_check_fields(const fc_mp_field_t *fields, size_t n, const void *obj, uint64_t mask,
                             fc_proto_error_t *err);
//  Whether a field is present (to be encoded) in obj of event type `type`.
bool fc_mp_field_present(const fc_mp_field_t *f, const void *obj, fc_event_type_t type);
//  Pack the present fields of obj as one msgpack map.
void fc_mp_pack_fields(msgpack_packer *pk, const fc_mp_field_t *fields, size_t n, const void *obj,
                       fc_event_type_t type);
