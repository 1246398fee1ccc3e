/*  fc_strmap: a map from byte strings to dense indexes 0, 1, 2 ... in insertion order.

    The caller keeps whatever it maps to in its own array, indexed alike: the aggregator
    an int64 per key (aggregator_map), the reporter a report row's sums per (dimension,
    key). Open addressing with linear probing over a slot table kept at most a quarter
    full; keys are copied and may hold any bytes, NUL included. Hashed with FNV-1a
    (fc_hash.h): not for keys an adversary may choose to collide against a secret (the
    keys here are tenants' own ids, bounded in length by every door). */
#ifndef FC_STRMAP_H
#define FC_STRMAP_H

#include <stddef.h>

typedef struct _fc_strmap_t fc_strmap_t;

fc_strmap_t *fc_strmap_new(void);
void fc_strmap_destroy(fc_strmap_t **self_p);

//  Forgets every key (keeps the memory).
void fc_strmap_clear(fc_strmap_t *self);

//  The index of key (len bytes), adding it as the next index if new. Returns 1 when the
//  key was added, 0 when it was there, -1 out of memory (the map is then unchanged).
int fc_strmap_intern(fc_strmap_t *self, const void *key, size_t len, size_t *index);

//  The index of key, or -1 when absent.
long fc_strmap_find(const fc_strmap_t *self, const void *key, size_t len);

size_t fc_strmap_size(const fc_strmap_t *self);

//  Key number index (0 <= index < size), NUL-terminated after its len bytes.
const char *fc_strmap_key(const fc_strmap_t *self, size_t index, size_t *len);

#endif
