/*  fc_hash: FNV-1a, the one non-cryptographic hash of fleetcost (32 and 64 bits).

    Why here: shard assignment (aggregator --shard i/N), deterministic event ids
    (fc_event_id_from_name), hash tables and change signatures all hashed short keys
    with their own copy of FNV-1a. Some of those values are persisted or decide where
    a tenant's events go, so they must never change: test_fc_hash pins known outputs.
    Not for anything an adversary may choose to collide against a secret.

    Header-only (static inline) because fc_proto, which sits beneath lib/, uses it too:
    a function here keeps the library graph acyclic. */
#ifndef FC_HASH_H
#define FC_HASH_H

#include <stddef.h>
#include <stdint.h>

#define FC_FNV32_BASIS UINT32_C(2166136261)
#define FC_FNV64_BASIS UINT64_C(0xcbf29ce484222325)

//  Continues a 64-bit FNV-1a hash h over size bytes (start with FC_FNV64_BASIS, or any
//  other seed for an independent second hash).
static inline uint64_t fc_fnv1a64(uint64_t h, const void *data, size_t size)
{
    const unsigned char *p = (const unsigned char *)data;
    for (size_t i = 0; i < size; i++)
        h = (h ^ p[i]) * UINT64_C(0x100000001b3);
    return h;
}

//  64-bit FNV-1a of a NUL-terminated string.
static inline uint64_t fc_fnv1a64_str(const char *s)
{
    uint64_t h = FC_FNV64_BASIS;
    for (const unsigned char *c = (const unsigned char *)s; *c; c++)
        h = (h ^ *c) * UINT64_C(0x100000001b3);
    return h;
}

//  32-bit FNV-1a of a NUL-terminated string (the aggregator's shard of a tenant).
static inline uint32_t fc_fnv1a32_str(const char *s)
{
    uint32_t h = FC_FNV32_BASIS;
    for (const unsigned char *c = (const unsigned char *)s; *c; c++)
        h = (h ^ *c) * UINT32_C(16777619);
    return h;
}

#endif
