/*  fleetcost cert: the deployment's CurveZMQ certificate directory (docs/SECURITY.md).

        init                          server keypair + the services' `operator` identity
        server                        server keypair only
        create --tenant T --name N    a tenant client keypair, registered in clients/
        create --operator --name N    an operator (every tenant) keypair, registered
        list                          registered clients: name, role, tenant, public key
        revoke --name N               unregister N: new connections with its key fail

    Nothing ever overwrites a key, and no secret key is ever printed. The running
    services pick additions and removals up within a second, without a restart. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "commands.h"
#include "fc_config.h"
#include "fc_curve.h"

static const fc_option_t s_options[] = {
    {"cert-dir", FC_OPT_STR, FC_CURVE_DEFAULT_DIR, 0, 0, false, "certificate directory"},
    {"name", FC_OPT_STR, "", 0, 0, false, "certificate name (create, revoke)"},
    {"tenant", FC_OPT_STR, "", 0, 0, false, "tenant of the new certificate (create)"},
    {"operator", FC_OPT_BOOL, "false", 0, 0, false,
     "create an operator certificate: may read every tenant (create)"},
    {"actor", FC_OPT_STR, "", 0, 0, false, "who makes the change (default: $USER)"},
    FC_OPT_END};

static void s_usage(void)
{
    fprintf(stderr, "usage: fleetcost cert init|server|list [--cert-dir D]\n"
                    "       fleetcost cert create (--tenant T | --operator) --name NAME\n"
                    "       fleetcost cert revoke --name NAME\n");
}

//  Prints the public key of <dir>/<file> (a public certificate: no secret is loaded).
static void s_print_key(const char *dir, const char *file, const char *label)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    zcert_t *cert = zcert_load(path);
    printf("cert: %s public key %s\n", label, cert ? zcert_public_txt(cert) : "(unreadable)");
    zcert_destroy(&cert);
}

static int s_server(const char *dir)
{
    int rc = fc_curve_cert_server(dir);
    if (rc < 0)
        return 1;
    printf("cert: %s/server.cert %s\n", dir, rc == 0 ? "created" : "exists, kept");
    s_print_key(dir, "server.cert", "server");
    return 0;
}

static int s_create(const char *dir, const char *name, const char *tenant)
{
    int rc = fc_curve_cert_create(dir, name, tenant);
    if (rc < 0)
        return 1;
    if (rc == 1) {
        fprintf(stderr,
                "cert: '%s' exists (%s/%s.cert or clients/%s.cert); nothing changed. To "
                "replace it: fleetcost cert revoke --name %s, remove %s/%s.cert*, create again\n",
                name, dir, name, name, name, dir, name);
        return 1;
    }
    printf("cert: created %s/%s.cert and %s.cert_secret (mode 0600), registered "
           "clients/%s.cert (%s%s)\n",
           dir, name, name, name, tenant ? "tenant " : "operator", tenant ? tenant : "");
    char file[128];
    snprintf(file, sizeof file, "%s.cert", name);
    s_print_key(dir, file, name);
    printf("cert: give the client %s.cert_secret (keep it private) and server.cert\n", name);
    return 0;
}

static int s_init(const char *dir)
{
    if (s_server(dir) != 0)
        return 1;
    char path[4096];
    snprintf(path, sizeof path, "%s/operator.cert", dir);
    zcert_t *existing = zcert_load(path);
    if (existing) {
        printf("cert: %s exists, kept\n", path);
        zcert_destroy(&existing);
        return 0;
    }
    return s_create(dir, "operator", NULL);
}

static int s_by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

static int s_list(const char *dir)
{
    char clients[4096];
    snprintf(clients, sizeof clients, "%s/clients", dir);
    struct dirent **entries;
    int n = scandir(clients, &entries, NULL, s_by_name);
    if (n < 0) {
        fprintf(stderr, "cert: cannot read %s: %s\n", clients, strerror(errno));
        return 1;
    }
    printf("%-24s %-9s %-24s %s\n", "NAME", "ROLE", "TENANT", "PUBLIC KEY");
    for (int i = 0; i < n; i++) {
        const char *file = entries[i]->d_name;
        size_t len = strlen(file);
        char path[8192];
        snprintf(path, sizeof path, "%s/%s", clients, file);
        zcert_t *cert =
            file[0] != '.' && len > 5 && streq(file + len - 5, ".cert") ? zcert_load(path) : NULL;
        if (cert) {
            const char *role = zcert_meta(cert, "role");
            const char *tenant = zcert_meta(cert, "tenant");
            printf("%-24.*s %-9s %-24s %s\n", (int)(len - 5), file, role ? role : "(none)",
                   role && streq(role, "tenant") && tenant ? tenant : "-", zcert_public_txt(cert));
        }
        zcert_destroy(&cert);
        free(entries[i]);
    }
    free(entries);
    return 0;
}

//  Records a certificate change in audit_log when the database is reachable (a
//  certificate directory can be managed on a host without one: then it says so).
//  tenant: the new certificate's tenant ("*" for an operator), NULL for a revocation.
static void s_audit(fc_config_t *config, const char *action, const char *name, const char *tenant)
{
    PGconn *pg = PQconnectdb(fc_config_str(config, "pg-url"));
    if (PQstatus(pg) != CONNECTION_OK) {
        fprintf(stderr, "cert: not recorded in audit_log (database unreachable)\n");
        PQfinish(pg);
        return;
    }
    const char *p[4] = {cmd_actor(config), action, name, tenant};
    PGresult *r = PQexecParams(pg,
                               "INSERT INTO audit_log (actor, action, object, after)"
                               " VALUES ($1, $2, $3, CASE WHEN $4::text IS NOT NULL"
                               " THEN jsonb_build_object('tenant', $4::text) END)",
                               4, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        fprintf(stderr, "cert: not recorded in audit_log: %s", PQresultErrorMessage(r));
    PQclear(r);
    PQfinish(pg);
}

int cmd_cert(int argc, char **argv)
{
    const fc_option_t *tables[] = {fc_config_common, s_options, NULL};
    int rc;
    fc_config_t *config = fc_config_load(
        "fleetcost cert", "manage CurveZMQ certificates: init|server|create|list|revoke", tables,
        argc, argv, 0, -1, &rc);
    if (!config)
        return rc;
    if (fc_config_argc(config) != 1) {
        s_usage();
        fc_config_destroy(&config);
        return 2;
    }
    const char *what = fc_config_argv(config)[0];
    const char *dir = fc_config_str(config, "cert-dir");
    const char *name = fc_config_str(config, "name");
    const char *tenant = fc_config_str(config, "tenant");
    bool as_operator = fc_config_bool(config, "operator");
    rc = 2;
    if (streq(what, "init"))
        rc = s_init(dir);
    else if (streq(what, "server"))
        rc = s_server(dir);
    else if (streq(what, "list"))
        rc = s_list(dir);
    else if (streq(what, "create") && *name && (*tenant != '\0') != as_operator) {
        rc = s_create(dir, name, as_operator ? NULL : tenant);
        if (rc == 0)
            s_audit(config, "cert.create", name, as_operator ? "*" : tenant);
    } else if (streq(what, "revoke") && *name) {
        rc = fc_curve_cert_revoke(dir, name);
        if (rc == 0)
            printf("cert: revoked %s: new connections with its key are refused; live ones "
                   "last until they reconnect (restart the services to cut them)\n",
                   name);
        else if (rc == 1)
            fprintf(stderr, "cert: %s is not registered in %s/clients\n", name, dir);
        if (rc == 0)
            s_audit(config, "cert.revoke", name, NULL);
        rc = rc == 0 ? 0 : 1;
    } else
        s_usage();
    fc_config_destroy(&config);
    return rc;
}
