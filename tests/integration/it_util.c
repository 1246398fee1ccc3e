/*  it_util: integration-test plumbing. */
#include "fc_pg.h"
#include "it_util.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *s_env(const char *name)
{
    const char *v = getenv(name);
    if (!v || !*v) {
        fprintf(stderr, "it: %s is not set: run under scripts/test.sh or source .fleetcost/env\n",
                name);
        exit(2);
    }
    return v;
}

PGconn *it_pg(const char *url)
{
    PGconn *pg = PQconnectdb(url);
    if (PQstatus(pg) != CONNECTION_OK) {
        fprintf(stderr, "it: cannot connect: %s", PQerrorMessage(pg));
        exit(2);
    }
    return pg;
}

void it_sql(PGconn *pg, const char *sql)
{
    PGresult *r = PQexec(pg, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK) {
        fprintf(stderr, "it: %s: %s", sql, PQresultErrorMessage(r));
        exit(2);
    }
    PQclear(r);
}

int64_t it_sql_int(PGconn *pg, const char *sql)
{
    PGresult *r = PQexec(pg, sql);
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) < 1) {
        fprintf(stderr, "it: %s: %s", sql, PQresultErrorMessage(r));
        exit(2);
    }
    int64_t v = fc_pg_int(r, 0, 0);
    PQclear(r);
    return v;
}

void it_db_drop(const char *name)
{
    PGconn *admin = it_pg(s_env("FLEETCOST_PG_ADMIN_URL"));
    char sql[256];
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS fc_it_%s WITH (FORCE)", name);
    it_sql(admin, sql);
    PQfinish(admin);
}

void it_db_create(const char *name, const char *fleetcost_bin, char *url, size_t size)
{
    it_db_create_at(s_env("FLEETCOST_PG_ADMIN_URL"), atoi(s_env("FLEETCOST_PG_PORT")), name,
                    fleetcost_bin, url, size);
}

void it_db_create_at(const char *admin_url, int port, const char *name, const char *fleetcost_bin,
                     char *url, size_t size)
{
    PGconn *admin = it_pg(admin_url);
    char sql[256];
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS fc_it_%s WITH (FORCE)", name);
    it_sql(admin, sql);
    //  A private cluster has no owner role yet.
    if (it_sql_int(admin, "SELECT count(*) FROM pg_roles WHERE rolname = 'fleetcost'") == 0)
        it_sql(admin, "CREATE ROLE fleetcost LOGIN CREATEROLE");
    snprintf(sql, sizeof sql, "CREATE DATABASE fc_it_%s OWNER fleetcost", name);
    it_sql(admin, sql);
    PQfinish(admin);
    snprintf(url, size, "postgresql://fleetcost@127.0.0.1:%d/fc_it_%s", port, name);
    char *argv[] = {(char *)fleetcost_bin, "migrate", "--pg-url", url, NULL};
    pid_t pid = it_spawn(argv, "/dev/null");
    int status = it_stop(pid, 0, 60000);
    if (status != 0) {
        fprintf(stderr, "it: fleetcost migrate failed (%d)\n", status);
        exit(2);
    }
}

//  Runs a PostgreSQL binary, as the postgres user when we are root (initdb and the
//  server refuse root). Returns its exit status.
static int s_pg_run(char *const args[])
{
    char *argv[24];
    int n = 0;
    if (geteuid() == 0) {
        argv[n++] = "/usr/sbin/runuser";
        argv[n++] = "-u";
        argv[n++] = "postgres";
        argv[n++] = "--";
    }
    for (int i = 0; args[i] && n < 23; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    pid_t pid = it_spawn(argv, "it_pg_cluster.log");
    return it_stop(pid, 0, 120000);
}

void it_pg_cluster_init(const char *dir, int port, char *admin_url, size_t size)
{
    const char *bin = s_env("FLEETCOST_PG_BIN");
    char tool[512], data[512], cmd[1200];
    snprintf(data, sizeof data, "%s/data", dir);
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s' && chmod 755 '%s'%s", dir, dir, dir,
             geteuid() == 0 ? " && chown postgres: \"$0\"" : "");
    pid_t pid;
    {
        char *argv[] = {"/bin/sh", "-c", cmd, (char *)dir, NULL};
        pid = it_spawn(argv, "it_pg_cluster.log");
    }
    if (it_stop(pid, 0, 10000) != 0) {
        fprintf(stderr, "it: cannot prepare %s\n", dir);
        exit(2);
    }
    snprintf(tool, sizeof tool, "%s/initdb", bin);
    char *init[] = {tool,    "-D",        data, "-U",   "postgres",         "-A",
                    "trust", "--no-sync", "-E", "UTF8", "--locale=C.UTF-8", NULL};
    if (s_pg_run(init) != 0) {
        fprintf(stderr, "it: initdb failed (see it_pg_cluster.log)\n");
        exit(2);
    }
    snprintf(admin_url, size, "postgresql://postgres@127.0.0.1:%d/postgres", port);
    if (it_pg_cluster_ctl(dir, port, "start") != 0) {
        fprintf(stderr, "it: private postgres did not start (see it_pg_cluster.log)\n");
        exit(2);
    }
}

int it_pg_cluster_ctl(const char *dir, int port, const char *action)
{
    char tool[512], data[512], opts[256], log[512];
    snprintf(tool, sizeof tool, "%s/pg_ctl", s_env("FLEETCOST_PG_BIN"));
    snprintf(data, sizeof data, "%s/data", dir);
    snprintf(log, sizeof log, "%s/server.log", dir);
    snprintf(opts, sizeof opts, "-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off", port,
             dir);
    char *args[] = {tool, "-D", data,   "-l", log,  "-w",           "-t",
                    "60", "-m", "fast", "-o", opts, (char *)action, NULL};
    return s_pg_run(args);
}

int it_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
        perror("it: free port");
        exit(2);
    }
    close(fd);
    return ntohs(a.sin_port);
}

pid_t it_spawn(char *const argv[], const char *log_path)
{
    pid_t pid = fork();
    if (pid < 0) {
        perror("it: fork");
        exit(2);
    }
    if (pid == 0) {
        int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 2);
            dup2(fd, 1);
            close(fd);
        }
        execv(argv[0], argv);
        perror("it: exec");
        _exit(127);
    }
    return pid;
}

int it_stop(pid_t pid, int sig, int timeout_ms)
{
    if (sig)
        kill(pid, sig);
    int64_t deadline = it_now_us() + (int64_t)timeout_ms * 1000;
    int status;
    while (waitpid(pid, &status, WNOHANG) == 0) {
        if (it_now_us() > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            break;
        }
        usleep(10000);
    }
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return WEXITSTATUS(status);
}

int64_t it_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

bool it_wait(bool (*cond)(void *arg), void *arg, int timeout_ms)
{
    int64_t deadline = it_now_us() + (int64_t)timeout_ms * 1000;
    while (!cond(arg)) {
        if (it_now_us() > deadline)
            return false;
        usleep(20000);
    }
    return true;
}

pid_t it_redis_start(int port, const char *dir)
{
    char p[16];
    snprintf(p, sizeof p, "%d", port);
    char *argv[] = {
        "/usr/bin/redis-server", "--port", p,       "--bind",    "127.0.0.1", "--save", "",
        "--appendonly",          "no",     "--dir", (char *)dir, NULL};
    char log[512];
    snprintf(log, sizeof log, "%s/redis.log", dir);
    pid_t pid = it_spawn(argv, log);
    int64_t deadline = it_now_us() + 10000000;
    while (it_now_us() < deadline) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = {0};
        a.sin_family = AF_INET;
        a.sin_port = htons((uint16_t)port);
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        char buf[16] = "";
        if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
            write(fd, "PING\r\n", 6) == 6 && read(fd, buf, sizeof buf - 1) > 0 &&
            strncmp(buf, "+PONG", 5) == 0) {
            close(fd);
            return pid;
        }
        if (fd >= 0)
            close(fd);
        usleep(20000);
    }
    fprintf(stderr, "it: redis-server on port %d did not answer PING\n", port);
    kill(pid, SIGKILL);
    exit(2);
}

int64_t it_metric(int port, const char *name)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    const char *req = "GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    if (write(fd, req, strlen(req)) != (ssize_t)strlen(req)) {
        close(fd);
        return -1;
    }
    static char buf[1 << 16];
    size_t len = 0;
    ssize_t n;
    while (len < sizeof buf - 1 && (n = read(fd, buf + len, sizeof buf - 1 - len)) > 0)
        len += (size_t)n;
    close(fd);
    buf[len] = 0;
    size_t nl = strlen(name);
    for (char *line = buf; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
        if (strncmp(line, name, nl) == 0 && line[nl] == ' ')
            return strtoll(line + nl + 1, NULL, 10);
    return -1;
}
