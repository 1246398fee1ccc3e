/*  fc_pg: connect, run and report, without leaking passwords into logs. */
#include "fc_pg.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fc_log.h"

//  Joins a libpq message onto one line: newlines become "; ", trailing ones go.
static void s_one_line(const char *msg, char *out, size_t size)
{
    size_t n = 0;
    for (const char *c = msg ? msg : ""; *c && n + 3 < size; c++) {
        if (*c == '\n') {
            if (c[1] == 0)
                break;
            out[n++] = ';';
            out[n++] = ' ';
        } else
            out[n++] = *c;
    }
    out[n] = 0;
}

const char *fc_pg_error(PGconn *conn)
{
    static _Thread_local char line[1024];
    s_one_line(PQerrorMessage(conn), line, sizeof line);
    return line;
}

//  Server NOTICEs ("relation already exists, skipping") are noise for operators.
static void s_notice(void *arg, const char *message)
{
    char line[1024];
    s_one_line(message, line, sizeof line);
    fc_debug((const char *)arg, "postgres: %s", line);
}

PGconn *fc_pg_connect(const char *url, const char *module)
{
    char app[64];
    snprintf(app, sizeof app, "fleetcost-%s", module);
    //  expand_dbname lets url be a URI or a conninfo string; application_name,
    //  processed after it, names the program in pg_stat_activity.
    const char *keys[] = {"dbname", "application_name", NULL};
    const char *values[] = {url, app, NULL};
    PGconn *conn = PQconnectdbParams(keys, values, 1);
    if (!conn) {
        fc_error(module, "postgres: out of memory");
        return NULL;
    }
    if (PQstatus(conn) != CONNECTION_OK) {
        //  PQuser/PQhost/PQport/PQdb stay available on a failed connection; the
        //  password is never part of what we print.
        const char *host = PQhost(conn);
        fc_error(module, "postgres: cannot connect to %s@%s:%s/%s: %s", PQuser(conn),
                 host && *host ? host : "(socket)", PQport(conn), PQdb(conn), fc_pg_error(conn));
        PQfinish(conn);
        return NULL;
    }
    PQsetNoticeProcessor(conn, s_notice, (void *)module);
    fc_debug(module, "postgres: connected to %s@%s:%s/%s (server %d)", PQuser(conn), PQhost(conn),
             PQport(conn), PQdb(conn), PQserverVersion(conn));
    return conn;
}

static bool s_ok(const PGresult *res)
{
    ExecStatusType st = PQresultStatus(res);
    return st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
}

int fc_pg_exec(PGconn *conn, const char *module, const char *what, const char *sql)
{
    //  PQexec returns the last statement's result; an earlier failure stops the
    //  string there and is what is returned.
    PGresult *res = PQexec(conn, sql);
    if (!s_ok(res)) {
        fc_error(module, "%s: %s", what, fc_pg_error(conn));
        PQclear(res);
        return -1;
    }
    PQclear(res);
    return 0;
}

PGresult *fc_pg_query(PGconn *conn, const char *module, const char *what, const char *sql,
                      int nparams, const char *const *params)
{
    PGresult *res = PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);
    if (!s_ok(res)) {
        fc_error(module, "%s: %s", what, fc_pg_error(conn));
        PQclear(res);
        return NULL;
    }
    return res;
}

int fc_pg_query_each(PGconn *conn, const char *module, const char *what, const char *sql,
                     int nparams, const char *const *params,
                     int (*row)(const PGresult *res, void *arg), void *arg)
{
    if (PQsendQueryParams(conn, sql, nparams, NULL, params, NULL, NULL, 0) != 1) {
        fc_error(module, "%s: %s", what, fc_pg_error(conn));
        return -1;
    }
    bool single = PQsetSingleRowMode(conn) == 1, failed = !single, stopped = false;
    if (!single)
        fc_error(module, "%s: single-row mode refused", what);
    PGresult *res;
    while ((res = PQgetResult(conn)) != NULL) {
        ExecStatusType st = PQresultStatus(res);
        if (st == PGRES_SINGLE_TUPLE) {
            if (!failed && !stopped && row(res, arg) != 0)
                stopped = true;
        } else if (st != PGRES_TUPLES_OK && !failed) {
            fc_error(module, "%s: %s", what, PQresultErrorMessage(res));
            failed = true;
        }
        PQclear(res); //  every result up to NULL, so that the connection is free again
    }
    return failed || stopped ? -1 : 0;
}

void fc_pg_rollback(PGconn *conn)
{
    if (PQtransactionStatus(conn) != PQTRANS_IDLE)
        PQclear(PQexec(conn, "ROLLBACK"));
}

int64_t fc_pg_int(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? 0 : strtoll(PQgetvalue(r, row, col), NULL, 10);
}

uint64_t fc_pg_uint(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? 0 : strtoull(PQgetvalue(r, row, col), NULL, 10);
}
