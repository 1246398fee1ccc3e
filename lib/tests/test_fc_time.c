/*  fc_time: dates, RFC 3339 with fractions and offsets, Unix seconds; bad input refused. */
#include "fc_test.h"
#include "fc_time.h"

int main(void)
{
    int64_t us = 0;
    FC_CHECK_INT(fc_time_parse("1970-01-01", &us), 0);
    FC_CHECK_INT(us, 0);
    //  2026-11-01T00:00:00Z = 1793491200 s.
    FC_CHECK_INT(fc_time_parse("2026-11-01", &us), 0);
    FC_CHECK_INT(us, INT64_C(1793491200000000));
    FC_CHECK_INT(fc_time_parse("2026-11-01T12:00:00.25Z", &us), 0);
    FC_CHECK_INT(us, INT64_C(1793491200000000) + INT64_C(43200250000));
    FC_CHECK_INT(fc_time_parse("2026-11-01T01:00:00+01:00", &us), 0);
    FC_CHECK_INT(us, INT64_C(1793491200000000));
    FC_CHECK_INT(fc_time_parse("2026-11-01 00:00:00.123456789-00:30", &us), 0);
    FC_CHECK_INT(us, INT64_C(1793491200000000) + 1800 * INT64_C(1000000) + 123456);
    FC_CHECK_INT(fc_time_parse("1748779200", &us), 0);
    FC_CHECK_INT(us, INT64_C(1748779200000000));
    FC_CHECK_INT(fc_time_parse("1748779200.5", &us), 0);
    FC_CHECK_INT(us, INT64_C(1748779200500000));
    const char *bad[] = {"",
                         "yesterday",
                         "2026-11-01T00:00:00",
                         "2026-13-01",
                         "2026-11-01T25:00:00Z",
                         "2026-11-01T00:00:00+1:00",
                         "17487.",
                         "-5",
                         "99999999999",
                         "1748779200x",
                         "2026-11-01Tx"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        FC_CHECK_INT(fc_time_parse(bad[i], &us), -1);
    return fc_test_done("test_fc_time");
}
