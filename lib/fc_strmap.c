/*  fc_strmap: open addressing over an insertion-ordered key array. */
#include "fc_strmap.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fc_hash.h"

typedef struct {
    char *key; //  len bytes and a NUL
    size_t len;
    uint64_t hash;
} s_entry_t;

struct _fc_strmap_t {
    s_entry_t *entries;
    size_t count, cap;
    uint32_t *slots; //  entry index + 1; 0 = empty
    size_t slot_cap; //  a power of two, 4 * cap
};

fc_strmap_t *fc_strmap_new(void)
{
    return calloc(1, sizeof(fc_strmap_t));
}

void fc_strmap_clear(fc_strmap_t *self)
{
    for (size_t i = 0; i < self->count; i++)
        free(self->entries[i].key);
    self->count = 0;
    if (self->slots)
        memset(self->slots, 0, self->slot_cap * sizeof *self->slots);
}

void fc_strmap_destroy(fc_strmap_t **self_p)
{
    assert(self_p);
    fc_strmap_t *self = *self_p;
    if (!self)
        return;
    fc_strmap_clear(self);
    free(self->entries);
    free(self->slots);
    free(self);
    *self_p = NULL;
}

static int s_grow(fc_strmap_t *self)
{
    if (self->cap >= UINT32_MAX / 8)
        return -1;
    size_t cap = self->cap ? self->cap * 2 : 32;
    uint32_t *slots = calloc(cap * 4, sizeof *slots);
    if (!slots)
        return -1;
    s_entry_t *entries = realloc(self->entries, cap * sizeof *entries);
    if (!entries) {
        free(slots);
        return -1;
    }
    self->entries = entries;
    self->cap = cap;
    free(self->slots);
    self->slots = slots;
    self->slot_cap = cap * 4;
    for (size_t i = 0; i < self->count; i++) {
        size_t s = self->entries[i].hash & (self->slot_cap - 1);
        while (self->slots[s])
            s = (s + 1) & (self->slot_cap - 1);
        self->slots[s] = (uint32_t)i + 1;
    }
    return 0;
}

//  The slot holding key, or the empty slot where it would go.
static size_t s_slot(const fc_strmap_t *self, const void *key, size_t len, uint64_t hash)
{
    size_t s = hash & (self->slot_cap - 1);
    while (self->slots[s]) {
        const s_entry_t *e = &self->entries[self->slots[s] - 1];
        if (e->hash == hash && e->len == len && memcmp(e->key, key, len) == 0)
            break;
        s = (s + 1) & (self->slot_cap - 1);
    }
    return s;
}

int fc_strmap_intern(fc_strmap_t *self, const void *key, size_t len, size_t *index)
{
    if (self->count == self->cap && s_grow(self) != 0)
        return -1;
    uint64_t hash = fc_fnv1a64(FC_FNV64_BASIS, key, len);
    size_t s = s_slot(self, key, len, hash);
    if (self->slots[s]) {
        *index = self->slots[s] - 1;
        return 0;
    }
    char *copy = malloc(len + 1);
    if (!copy)
        return -1;
    memcpy(copy, key, len);
    copy[len] = '\0';
    self->entries[self->count] = (s_entry_t){copy, len, hash};
    *index = self->count;
    self->slots[s] = (uint32_t)++self->count;
    return 1;
}

long fc_strmap_find(const fc_strmap_t *self, const void *key, size_t len)
{
    if (!self->count)
        return -1;
    size_t s = s_slot(self, key, len, fc_fnv1a64(FC_FNV64_BASIS, key, len));
    return self->slots[s] ? (long)self->slots[s] - 1 : -1;
}

size_t fc_strmap_size(const fc_strmap_t *self)
{
    return self->count;
}

const char *fc_strmap_key(const fc_strmap_t *self, size_t index, size_t *len)
{
    if (index >= self->count)
        return NULL;
    if (len)
        *len = self->entries[index].len;
    return self->entries[index].key;
}
