/*  fc_config: defaults, environment, flags, bounds, help. */
#include "fc_config.h"
#include "fc_test.h"

static const fc_option_t s_opts[] = {
    {"batch-size", FC_OPT_INT, "500", 1, 5000, false, "events per batch"},
    {"bind", FC_OPT_STR, "tcp://*:7601", 0, 0, false, "endpoint"},
    {"insecure", FC_OPT_BOOL, "false", 0, 0, false, "plaintext"},
    FC_OPT_END};

int main(void)
{
    const fc_option_t *tables[] = {fc_config_common, s_opts, NULL};

    //  Defaults.
    fc_config_t *c = fc_config_new("t", "test", tables);
    char *a0[] = {"t"};
    FC_CHECK_INT(fc_config_parse(c, 1, a0), 0);
    FC_CHECK_INT(fc_config_int(c, "batch-size"), 500);
    FC_CHECK(!fc_config_bool(c, "insecure"));
    fc_config_destroy(&c);
    FC_CHECK(c == NULL);

    //  Environment overrides default, flag overrides environment.
    setenv("FLEETCOST_BATCH_SIZE", "700", 1);
    setenv("FLEETCOST_BIND", "tcp://127.0.0.1:9", 1);
    c = fc_config_new("t", "test", tables);
    char *a1[] = {"t", "--batch-size", "900", "--insecure", "pos1", "--", "--bind"};
    FC_CHECK_INT(fc_config_parse(c, 7, a1), 0);
    FC_CHECK_INT(fc_config_int(c, "batch-size"), 900);
    FC_CHECK_STR(fc_config_str(c, "bind"), "tcp://127.0.0.1:9");
    FC_CHECK(fc_config_bool(c, "insecure"));
    FC_CHECK_INT(fc_config_argc(c), 2);
    FC_CHECK_STR(fc_config_argv(c)[0], "pos1");
    FC_CHECK_STR(fc_config_argv(c)[1], "--bind");
    fc_config_destroy(&c);
    unsetenv("FLEETCOST_BATCH_SIZE");
    unsetenv("FLEETCOST_BIND");

    //  --name=value form and --no- for booleans.
    c = fc_config_new("t", "test", tables);
    char *a2[] = {"t", "--batch-size=42", "--insecure", "--no-insecure"};
    FC_CHECK_INT(fc_config_parse(c, 4, a2), 0);
    FC_CHECK_INT(fc_config_int(c, "batch-size"), 42);
    FC_CHECK(!fc_config_bool(c, "insecure"));
    fc_config_destroy(&c);

    //  Out of bounds, not a number, unknown flag, missing value: errors.
    char *bad[][3] = {{"t", "--batch-size", "0"},
                      {"t", "--batch-size", "12x"},
                      {"t", "--nope", "1"},
                      {"t", "--insecure=maybe", ""}};
    for (int i = 0; i < 4; i++) {
        c = fc_config_new("t", "test", tables);
        FC_CHECK_INT(fc_config_parse(c, i == 3 ? 2 : 3, bad[i]), -1);
        fc_config_destroy(&c);
    }
    c = fc_config_new("t", "test", tables);
    char *a3[] = {"t", "--bind"};
    FC_CHECK_INT(fc_config_parse(c, 2, a3), -1);
    fc_config_destroy(&c);

    //  A bad environment value is an error too, not silently ignored.
    setenv("FLEETCOST_BATCH_SIZE", "99999", 1);
    c = fc_config_new("t", "test", tables);
    FC_CHECK_INT(fc_config_parse(c, 1, a0), -1);
    fc_config_destroy(&c);
    unsetenv("FLEETCOST_BATCH_SIZE");

    //  fc_config_load: exit codes and the positional-argument bounds.
    int code = -1;
    char *l0[] = {"t", "--batch-size", "7"};
    c = fc_config_load("t", "test", tables, 3, l0, 0, 0, &code);
    FC_CHECK(c != NULL);
    FC_CHECK_INT(code, 0);
    if (c)
        FC_CHECK_INT(fc_config_int(c, "batch-size"), 7);
    fc_config_destroy(&c);
    char *l1[] = {"t", "extra"};
    FC_CHECK(fc_config_load("t", "test", tables, 2, l1, 0, 0, &code) == NULL);
    FC_CHECK_INT(code, 2);
    c = fc_config_load("t", "test", tables, 2, l1, 1, 1, &code);
    FC_CHECK(c != NULL && fc_config_argc(c) == 1);
    fc_config_destroy(&c);
    c = fc_config_load("t", "test", tables, 2, l1, 0, -1, &code);
    FC_CHECK(c != NULL && code == 0);
    fc_config_destroy(&c);
    FC_CHECK(fc_config_load("t", "test", tables, 1, a0, 1, 2, &code) == NULL);
    FC_CHECK_INT(code, 2);
    FC_CHECK(fc_config_load("t", "test", tables, 3, bad[0], 0, 0, &code) == NULL);
    FC_CHECK_INT(code, 2);
    char *l2[] = {"t", "--help"};
    FC_CHECK(fc_config_load("t", "test", tables, 2, l2, 0, 0, &code) == NULL);
    FC_CHECK_INT(code, 0);

    return fc_test_done("test_fc_config");
}
