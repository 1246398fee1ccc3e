/*  fc_pg: small helpers around libpq that every program talking to Postgres shares:
    connecting, running statements, and reading integer columns (the one home of
    strtoll(PQgetvalue(...)); a private copy in a service is a bug).

    Errors are logged as one line (libpq's multi-line messages are joined), naming the
    server as user@host:port/db and never the password or the full conninfo. */
#ifndef FC_PG_H
#define FC_PG_H

#include <libpq-fe.h>
#include <stdint.h>

//  Connects to url (conninfo or URI) with application_name "fleetcost-<module>" and
//  routes server notices to the debug log. Returns NULL after logging why on failure;
//  the caller owns the connection (PQfinish).
PGconn *fc_pg_connect(const char *url, const char *module);

//  Runs one or more SQL statements without parameters. Returns 0 when every statement
//  succeeded, -1 after logging the error (prefixed with `what`).
int fc_pg_exec(PGconn *conn, const char *module, const char *what, const char *sql);

//  Runs one parameterised statement (text parameters, text results). Returns the
//  result, which the caller frees with PQclear, or NULL after logging the error.
PGresult *fc_pg_query(PGconn *conn, const char *module, const char *what, const char *sql,
                      int nparams, const char *const *params);

//  Runs a parameterised query in single-row mode and calls row(res, arg) for each row as
//  it arrives (res holds that one row, row 0), so that a large result is never held
//  whole in memory. 0; -1 when the query failed (logged with what), or when row returned
//  non-zero (the rest of the result is read and dropped; logging is row's).
int fc_pg_query_each(PGconn *conn, const char *module, const char *what, const char *sql,
                     int nparams, const char *const *params,
                     int (*row)(const PGresult *res, void *arg), void *arg);

//  Rolls back the current transaction, if any, ignoring errors (for failure paths).
void fc_pg_rollback(PGconn *conn);

//  Integer columns of a text-format result, as every caller reads them: NULL (or an
//  empty value) is 0. For bigint/int columns and counts; not for money held as
//  numeric, whose range must be checked (reporter_report's s_result_in_range).
int64_t fc_pg_int(const PGresult *r, int row, int col);
uint64_t fc_pg_uint(const PGresult *r, int row, int col);

//  libpq's last error as one line, in a static buffer (for the caller's own messages).
const char *fc_pg_error(PGconn *conn);

#endif
