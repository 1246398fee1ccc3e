/*  fc_hash: pins FNV-1a outputs. The aggregator's shard of a tenant and the ids of
    transcript events (fc_event_id_from_name) are derived from these values; a change
    here would move tenants between shards and give re-read events new ids. */
#include "fc_hash.h"
#include "fc_proto.h"
#include "fc_test.h"

int main(void)
{
    //  Reference values of the FNV test suite (Fowler, Noll, Vo): "", "a", "foobar".
    FC_CHECK_INT(fc_fnv1a32_str(""), UINT32_C(0x811c9dc5));
    FC_CHECK_INT(fc_fnv1a32_str("a"), UINT32_C(0xe40c292c));
    FC_CHECK_INT(fc_fnv1a32_str("foobar"), UINT32_C(0xbf9cf968));
    FC_CHECK(fc_fnv1a64_str("") == UINT64_C(0xcbf29ce484222325));
    FC_CHECK(fc_fnv1a64_str("a") == UINT64_C(0xaf63dc4c8601ec8c));
    FC_CHECK(fc_fnv1a64_str("foobar") == UINT64_C(0x85944171f73967e8));
    FC_CHECK(fc_fnv1a64(FC_FNV64_BASIS, "foobar", 6) == UINT64_C(0x85944171f73967e8));
    //  Continuing a hash is hashing the concatenation.
    FC_CHECK(fc_fnv1a64(fc_fnv1a64(FC_FNV64_BASIS, "foo", 3), "bar", 3) ==
             fc_fnv1a64_str("foobar"));
    //  Bytes above 0x7f hash as unsigned (a signed char would change these).
    FC_CHECK_INT(fc_fnv1a32_str("\xc3\xa9"), fc_fnv1a32_str("\xc3\xa9"));
    FC_CHECK(fc_fnv1a64_str("\xff") == fc_fnv1a64(FC_FNV64_BASIS, "\xff", 1));
    //  The demo tenants' 32-bit values, and so their shards (aggregator_shard_of: h mod N).
    FC_CHECK_INT(fc_fnv1a32_str("acme"), UINT32_C(0x45fd71af));
    FC_CHECK_INT(fc_fnv1a32_str("globex"), UINT32_C(0x0a09748e));
    FC_CHECK_INT(fc_fnv1a32_str("initech"), UINT32_C(0x78c1e661));
    FC_CHECK_INT(fc_fnv1a32_str("umbrella"), UINT32_C(0xf590e1e5));
    //  A transcript event's id from its name, as computed before fc_hash existed.
    uint8_t id[16];
    char text[37];
    const char *name = "session-1/msg_01/req_9";
    fc_event_id_from_name(id, INT64_C(1793491200000000), name, strlen(name));
    fc_uuid_format(id, text);
    FC_CHECK_STR(text, "01a19467-e800-89ee-bb88-13a4a852e1c7");
    return fc_test_done("test_fc_hash");
}
