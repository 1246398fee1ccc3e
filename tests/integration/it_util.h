/*  it_util: what the C integration tests share — a fresh database per test, child
    processes (the real services), free ports, SQL one-liners, and waiting for a
    condition with a deadline instead of sleeping. */
#ifndef IT_UTIL_H
#define IT_UTIL_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

//  Creates database fc_it_<name> (dropping an old one), owned by the owner role, and
//  migrates it with the fleetcost binary. Writes its URL to url. Exits on failure.
void it_db_create(const char *name, const char *fleetcost_bin, char *url, size_t size);
//  Drops it again.
void it_db_drop(const char *name);
//  The same on another cluster: its superuser URL and port.
void it_db_create_at(const char *admin_url, int port, const char *name, const char *fleetcost_bin,
                     char *url, size_t size);

//  A private PostgreSQL cluster for tests that stop and start the server: initdb in
//  dir (as the postgres user when run as root), listening on 127.0.0.1:port. Writes
//  its superuser URL to admin_url. Exits on failure.
void it_pg_cluster_init(const char *dir, int port, char *admin_url, size_t size);
//  pg_ctl start|stop (fast) on that cluster; returns pg_ctl's exit status.
int it_pg_cluster_ctl(const char *dir, int port, const char *action);

//  Connects or exits.
PGconn *it_pg(const char *url);
//  First column of the first row as an integer (exits on an SQL error).
int64_t it_sql_int(PGconn *pg, const char *sql);
//  Runs a statement or exits.
void it_sql(PGconn *pg, const char *sql);

//  A TCP port on 127.0.0.1 that is free now (bound to port 0 and released).
int it_free_port(void);

//  Starts a child process (argv NULL-terminated), stderr to log_path (appended).
pid_t it_spawn(char *const argv[], const char *log_path);
//  Signals it and reaps it (SIGKILL after timeout_ms). Returns its exit status
//  (128+signal when killed by one).
int it_stop(pid_t pid, int sig, int timeout_ms);

//  Microseconds on the monotonic clock.
int64_t it_now_us(void);

//  Polls cond(arg) every 20 ms until it is true or timeout_ms passes.
bool it_wait(bool (*cond)(void *arg), void *arg, int timeout_ms);

//  Starts a private redis-server on 127.0.0.1:port (no persistence, files in dir) and
//  waits until it answers PING. Tests that flush or restart Redis use their own, never
//  the stack's shared one. Exits on failure; stop it with it_stop(pid, SIGTERM, ...).
pid_t it_redis_start(int port, const char *dir);

//  GET http://127.0.0.1:port/metrics and return the value of one metric line (-1 if
//  absent or unreachable).
int64_t it_metric(int port, const char *name);

#endif
