/*  fc_json_write: the one way fleetcost writes JSON (webhook bodies, billing exports,
    OTLP responses, API answers).

    Hand-written `"\"%s\":"` formats each had to remember commas and escaping; a value
    that skipped fc_esc_json was an injection. The writer places the commas and colons,
    escapes every key and string with fc_esc_json (safe in HTML <script> too), and
    writes no whitespace, so its output is byte-for-byte what the hand-written formats
    produced. It appends to an fc_buf_t; an allocation failure, nesting deeper than
    FC_JW_MAX_DEPTH or an unbalanced end marks the buffer failed. */
#ifndef FC_JSON_WRITE_H
#define FC_JSON_WRITE_H

#include <stdbool.h>
#include <stdint.h>

#include "fc_buf.h"

#define FC_JW_MAX_DEPTH 32

typedef struct {
    fc_buf_t *b;
    int depth;       //  open containers
    uint32_t array;  //  bit d: the container at depth d+1 is an array
    uint32_t filled; //  bit d: it already holds a member or element
} fc_jw_t;

void fc_jw_init(fc_jw_t *w, fc_buf_t *b);

//  Every value takes a key: the member name inside an object, NULL inside an array
//  or for the top value.
void fc_jw_object(fc_jw_t *w, const char *key);                 //  opens {
void fc_jw_array(fc_jw_t *w, const char *key);                  //  opens [
void fc_jw_end(fc_jw_t *w);                                     //  closes the innermost } or ]
void fc_jw_str(fc_jw_t *w, const char *key, const char *value); //  NULL writes null
void fc_jw_int(fc_jw_t *w, const char *key, int64_t value);
void fc_jw_bool(fc_jw_t *w, const char *key, bool value);
void fc_jw_null(fc_jw_t *w, const char *key);
//  A value that is already JSON text (a number as Postgres printed it): written as is,
//  so only for text this program produced or checked.
void fc_jw_raw(fc_jw_t *w, const char *key, const char *json);

#endif
