/*  aggregator_map: a small string -> int64 map that remembers insertion order. Used to
    add up the increments of one stream message, and a rebuild's rows, before they go to
    Redis as one command. Sums are overflow-checked. */
#ifndef AGGREGATOR_MAP_H
#define AGGREGATOR_MAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    char *key;
    int64_t value;
} aggregator_entry_t;

typedef struct _aggregator_map_t aggregator_map_t;

aggregator_map_t *aggregator_map_new(void);
void aggregator_map_destroy(aggregator_map_t **self_p);

//  Empties the map (keeps its memory).
void aggregator_map_clear(aggregator_map_t *self);

//  Adds delta to key's value (a new key starts at 0). Returns 0, or -1 on overflow or
//  out of memory (the map is then unchanged).
int aggregator_map_add(aggregator_map_t *self, const char *key, int64_t delta);

size_t aggregator_map_size(const aggregator_map_t *self);
//  Entries in insertion order, 0 <= index < size.
const aggregator_entry_t *aggregator_map_at(const aggregator_map_t *self, size_t index);

#endif
