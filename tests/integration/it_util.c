/*  it_util: integration-test plumbing. */
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
    int64_t v = PQgetisnull(r, 0, 0) ? 0 : strtoll(PQgetvalue(r, 0, 0), NULL, 10);
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
    it_db_drop(name);
    PGconn *admin = it_pg(s_env("FLEETCOST_PG_ADMIN_URL"));
    char sql[256];
    snprintf(sql, sizeof sql, "CREATE DATABASE fc_it_%s OWNER fleetcost", name);
    it_sql(admin, sql);
    PQfinish(admin);
    snprintf(url, size, "postgresql://fleetcost@127.0.0.1:%s/fc_it_%s", s_env("FLEETCOST_PG_PORT"),
             name);
    char *argv[] = {(char *)fleetcost_bin, "migrate", "--pg-url", url, NULL};
    pid_t pid = it_spawn(argv, "/dev/null");
    int status = it_stop(pid, 0, 60000);
    if (status != 0) {
        fprintf(stderr, "it: fleetcost migrate failed (%d)\n", status);
        exit(2);
    }
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
