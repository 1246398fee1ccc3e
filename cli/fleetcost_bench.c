/*  fleetcost-bench: load generators for the benchmark (scripts/bench.sh). A program of
    its own, built only in a testing build (FC_TESTING), not a fleetcost command: nobody
    running fleetcost needs to flood an ingest.

    bench ingest  many simulated agents (one DEALER each) send pre-encoded batches of
                  usage events to ingest, keep a window in flight, and time every
                  batch from send to ack. With --rate the batches leave on a fixed
                  schedule (open loop), so latency is measured at an offered load
                  rather than at whatever the server allows. The clock starts once
                  every agent is connected (handshake done).
    bench pipeline  emit -> Redis: one tenant's events sent on a fixed schedule to ingest,
                  while Redis is polled every millisecond for that tenant's event count
                  (maintained by the aggregator); each batch's latency is from when it
                  was due to when the count first covers it.
    bench insert  the naive baseline: one INSERT per event through libpq, autocommit.

    Both print one line of key=value results for bench.sh to collect. */
#include <czmq.h>
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <math.h>
#include <unistd.h>

#include "aggregator_keys.h"
#include "fc_config.h"
#include "fc_curve.h"
#include "fc_log.h"
#include "fc_proto.h"
#include "fc_redis.h"
#include "fc_signal.h"
#include "fc_time.h"

static const fc_option_t s_options[] = {
    {"endpoint", FC_OPT_STR, "tcp://127.0.0.1:7601", 0, 0, false, "ingest endpoint"},
    {"events", FC_OPT_INT, "200000", 1, 100000000, false, "events to send"},
    {"agents", FC_OPT_INT, "16", 1, 1024, false, "simulated agents (one socket each)"},
    {"batch", FC_OPT_INT, "500", 1, FC_MAX_BATCH, false, "events per batch"},
    {"window", FC_OPT_INT, "8", 1, 1024, false, "unacked batches per agent"},
    {"rate", FC_OPT_INT, "0", 0, 10000000, false, "offered events/s (0: as fast as acked)"},
    {"tenants", FC_OPT_INT, "20", 1, 100000, false, "tenants the events spread over"},
    {"timeout-ms", FC_OPT_INT, "60000", 100, 3600000, false, "give up after this long"},
    {"tenant", FC_OPT_STR, "", 0, 0, false, "pipeline: the tenant (default bench-lat-<pid>)"},
    {"cert", FC_OPT_STR, "", 0, 0, false, "CurveZMQ: the agents' certificate (empty: plaintext)"},
    {"server-cert", FC_OPT_STR, "", 0, 0, false, "CurveZMQ: ingest's public certificate"},
    {"latencies", FC_OPT_STR, "", 0, 0, false,
     "ingest: write each batch's due time and ack latency (ms) to this file"},
    FC_OPT_END};

typedef struct {
    zframe_t *frame;
    int64_t sent_us;
    int64_t lat_us; //  -1 until acked
    int events;
    int agent;
} s_batch_t;

static void s_event(fc_event_t *ev, uint64_t n, int tenants, int agents)
{
    static const char *models[] = {"claude-sonnet-4-5-20250929", "claude-opus-4-1",
                                   "claude-haiku-4-5", "claude-sonnet-4-6"};
    fc_event_init(ev);
    fc_event_id_new(ev->id);
    ev->ts_us = (int64_t)time(NULL) * 1000000 + (int64_t)(n % 1000000);
    ev->type = FC_EV_USAGE;
    snprintf(ev->tenant, sizeof ev->tenant, "bench-%03d", (int)(n % (uint64_t)tenants));
    snprintf(ev->agent, sizeof ev->agent, "agent-%d", (int)(n % (uint64_t)(agents * 8)));
    snprintf(ev->agent_type, sizeof ev->agent_type, "%s", n % 3 ? "coder" : "reviewer");
    snprintf(ev->model, sizeof ev->model, "%s", models[n % 4]);
    snprintf(ev->session, sizeof ev->session, "s-%d", (int)(n % 97));
    ev->input_tokens = (int64_t)(100 + n % 4000);
    ev->output_tokens = (int64_t)(20 + n % 900);
    ev->cache_read_tokens = (int64_t)(n % 30000);
    ev->cache_write_5m_tokens = (int64_t)(n % 2000);
}

static int s_cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static double s_pct(int64_t *v, size_t n, double p)
{
    if (!n)
        return 0;
    size_t i = (size_t)ceil(p * (double)n) - 1;
    return v[i < n ? i : n - 1] / 1000.0;
}

//  One line per batch: its number, agent, when it was due (ms after the start) and its
//  ack latency (ms; -1 if never acked): where in a run the slow batches sit.
static void s_write_latencies(const char *path, const s_batch_t *batches, int64_t n, int64_t start)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "bench: cannot write %s\n", path);
        return;
    }
    fprintf(f, "batch agent due_ms ack_ms\n");
    for (int64_t b = 0; b < n; b++)
        fprintf(f, "%" PRId64 " %d %.2f %.2f\n", b + 1, batches[b].agent,
                (batches[b].sent_us - start) / 1000.0,
                batches[b].lat_us < 0 ? -1.0 : batches[b].lat_us / 1000.0);
    fclose(f);
}

/*  Waits until every agent's socket has finished its handshake with ingest (ZMTP, and
    CurveZMQ with --cert), so that a run's clock starts with the agents connected: the
    latencies are then those of a running ingest's acks, not of 16 TCP connections and
    handshakes, which each agent's first batch would otherwise carry (16 of the cold
    run's 400 batches: more than its p99). Returns 0, or -1 at the deadline. */
static int s_await_handshakes(zsock_t **monitors, int agents, int64_t deadline)
{
    zpoller_t *poller = zpoller_new(NULL);
    for (int a = 0; a < agents; a++)
        zpoller_add(poller, monitors[a]);
    int done = 0;
    bool *up = calloc((size_t)agents, sizeof *up);
    while (up && done < agents && !fc_signal_stopping() && fc_time_mono_us() < deadline) {
        zsock_t *which = zpoller_wait(poller, 100);
        if (!which)
            continue;
        zmsg_t *msg = zmsg_recv(which);
        zframe_t *head = msg ? zmsg_first(msg) : NULL;
        uint16_t event = 0;
        if (head && zframe_size(head) >= 2)
            memcpy(&event, zframe_data(head), 2); //  host order, as libzmq sends it
        zmsg_destroy(&msg);
        for (int a = 0; a < agents; a++)
            if (monitors[a] == which && event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED && !up[a]) {
                up[a] = true;
                done++;
            }
    }
    zpoller_destroy(&poller);
    free(up);
    if (done < agents)
        fprintf(stderr, "bench: %d of %d agents connected before the deadline\n", done, agents);
    return done == agents ? 0 : -1;
}

static int s_bench_ingest(fc_config_t *cfg)
{
    int64_t total = fc_config_int(cfg, "events");
    int agents = (int)fc_config_int(cfg, "agents");
    int per_batch = (int)fc_config_int(cfg, "batch");
    int window = (int)fc_config_int(cfg, "window");
    int64_t rate = fc_config_int(cfg, "rate");
    int tenants = (int)fc_config_int(cfg, "tenants");
    int64_t nbatches = (total + per_batch - 1) / per_batch;

    //  Encode every batch before the clock starts: the generator should cost the
    //  machine as little as possible while ingest is measured.
    s_batch_t *batches = calloc((size_t)nbatches, sizeof *batches);
    int64_t *lat = calloc((size_t)nbatches, sizeof *lat);
    if (!batches || !lat)
        return 1;
    fc_event_t ev;
    uint8_t buf[FC_MAX_EVENT_BYTES];
    fc_proto_error_t err;
    uint64_t n = 0;
    for (int64_t b = 0; b < nbatches; b++) {
        fc_batch_writer_t *w = fc_batch_writer_new((uint64_t)b + 1);
        int k = 0;
        for (; k < per_batch && (int64_t)n < total; k++, n++) {
            s_event(&ev, n, tenants, agents);
            int len = fc_event_encode(&ev, buf, sizeof buf, &err);
            if (len < 0 || fc_batch_writer_add(w, buf, (size_t)len) != 0) {
                fprintf(stderr, "bench: cannot encode: %s %s\n", err.field, err.reason);
                return 1;
            }
        }
        size_t size;
        uint8_t *data = fc_batch_writer_finish(w, &size);
        fc_batch_writer_destroy(&w);
        batches[b].frame = zframe_new(data, size);
        batches[b].events = k;
        batches[b].lat_us = -1;
        free(data);
    }

    zsock_t **socks = calloc((size_t)agents, sizeof *socks);
    zsock_t **monitors = calloc((size_t)agents, sizeof *monitors);
    int *inflight = calloc((size_t)agents, sizeof *inflight);
    zmq_pollitem_t *items = calloc((size_t)agents, sizeof *items);
    for (int a = 0; a < agents; a++) {
        socks[a] = zsock_new(ZMQ_DEALER);
        if (*fc_config_str(cfg, "cert") &&
            fc_curve_client_files(socks[a], fc_config_str(cfg, "cert"),
                                  fc_config_str(cfg, "server-cert")) != 0)
            return 1;
        zsock_set_linger(socks[a], 0);
        zsock_set_sndhwm(socks[a], 0);
        zsock_set_rcvhwm(socks[a], 0);
        char mon[64];
        snprintf(mon, sizeof mon, "inproc://bench-agent-%d", a);
        if (zmq_socket_monitor(zsock_resolve(socks[a]), mon, ZMQ_EVENT_HANDSHAKE_SUCCEEDED) != 0)
            return 1;
        monitors[a] = zsock_new_pair(mon); //  connects ('>' is PAIR's default)
        zsock_connect(socks[a], "%s", fc_config_str(cfg, "endpoint"));
        items[a].socket = zsock_resolve(socks[a]);
        items[a].events = ZMQ_POLLIN;
    }
    int64_t deadline = fc_time_mono_us() + fc_config_int(cfg, "timeout-ms") * 1000;
    if (s_await_handshakes(monitors, agents, deadline) != 0)
        return 1;
    for (int a = 0; a < agents; a++) {
        zmq_socket_monitor(zsock_resolve(socks[a]), NULL, 0);
        zsock_destroy(&monitors[a]);
    }
    free(monitors);
    int64_t next = 0, acked_batches = 0, acked_events = 0, rejected = 0, nlat = 0;
    int64_t start = fc_time_mono_us();
    int rr = 0;
    fc_ack_t ack;
    while (acked_batches < nbatches && !fc_signal_stopping() && fc_time_mono_us() < deadline) {
        int64_t now = fc_time_mono_us();
        //  Send what is due: with a rate, batch b leaves at start + b*per_batch/rate.
        for (int tries = 0; next < nbatches && tries < agents; tries++) {
            if (rate > 0 && start + next * per_batch * 1000000 / rate > now)
                break;
            int a = rr++ % agents;
            if (inflight[a] >= window)
                continue;
            zframe_t *f = zframe_dup(batches[next].frame);
            //  Open loop: latency counts from when the batch was due, so a generator
            //  that falls behind does not hide the wait (coordinated omission).
            batches[next].sent_us =
                rate > 0 ? start + next * per_batch * 1000000 / rate : fc_time_mono_us();
            batches[next].agent = a;
            zframe_send(&f, socks[a], ZFRAME_DONTWAIT);
            inflight[a]++;
            next++;
            tries = -1;
        }
        long timeout = 10;
        if (rate > 0 && next < nbatches) {
            int64_t due = start + next * per_batch * 1000000 / rate - fc_time_mono_us();
            timeout = due > 0 ? (long)(due / 1000) : 0;
        }
        if (zmq_poll(items, agents, timeout) <= 0)
            continue;
        for (int a = 0; a < agents; a++) {
            while (zsock_events(socks[a]) & ZMQ_POLLIN) {
                zframe_t *r = zframe_recv(socks[a]);
                if (!r)
                    break;
                if (fc_ack_decode(zframe_data(r), zframe_size(r), &ack, &err) == FC_OK &&
                    ack.batch_id >= 1 && (int64_t)ack.batch_id <= nbatches) {
                    s_batch_t *b = &batches[ack.batch_id - 1];
                    b->lat_us = fc_time_mono_us() - b->sent_us;
                    lat[nlat++] = b->lat_us;
                    acked_batches++;
                    acked_events += b->events;
                    for (uint32_t i = 0; i < ack.count; i++)
                        rejected += ack.results[i].code >= FC_E_MALFORMED;
                    inflight[a]--;
                    fc_ack_clear(&ack);
                }
                zframe_destroy(&r);
            }
        }
    }
    double secs = (fc_time_mono_us() - start) / 1e6;
    if (*fc_config_str(cfg, "latencies"))
        s_write_latencies(fc_config_str(cfg, "latencies"), batches, nbatches, start);
    qsort(lat, (size_t)nlat, sizeof *lat, s_cmp_i64);
    printf("bench=ingest events=%" PRId64 " acked=%" PRId64 " rejected=%" PRId64
           " seconds=%.3f events_per_s=%.0f offered_per_s=%" PRId64
           " ack_ms_p50=%.2f ack_ms_p99=%.2f ack_ms_p999=%.2f ack_ms_max=%.2f\n",
           total, acked_events, rejected, secs, acked_events / secs, rate,
           s_pct(lat, (size_t)nlat, 0.50), s_pct(lat, (size_t)nlat, 0.99),
           s_pct(lat, (size_t)nlat, 0.999), s_pct(lat, (size_t)nlat, 1.0));
    for (int a = 0; a < agents; a++)
        zsock_destroy(&socks[a]);
    for (int64_t b = 0; b < nbatches; b++)
        zframe_destroy(&batches[b].frame);
    free(socks);
    free(inflight);
    free(items);
    free(batches);
    free(lat);
    return acked_batches == nbatches ? 0 : 1;
}

static int s_bench_pipeline(fc_config_t *cfg)
{
    int64_t total = fc_config_int(cfg, "events");
    int per_batch = (int)fc_config_int(cfg, "batch");
    int64_t rate = fc_config_int(cfg, "rate");
    int64_t nbatches = (total + per_batch - 1) / per_batch;
    if (rate <= 0) {
        fprintf(stderr, "bench pipeline: --rate is required\n");
        return 2;
    }
    char tenant[FC_MAX_TENANT + 1];
    if (*fc_config_str(cfg, "tenant"))
        snprintf(tenant, sizeof tenant, "%s", fc_config_str(cfg, "tenant"));
    else
        snprintf(tenant, sizeof tenant, "bench-lat-%d", (int)getpid());
    fc_redis_addr_t addr;
    redisContext *redis = NULL;
    if (fc_redis_url_parse(fc_config_str(cfg, "redis-url"), &addr) == 0)
        redis = redisConnect(addr.host, addr.port);
    if (!redis || redis->err) {
        char shown[512];
        fprintf(stderr, "bench pipeline: cannot connect to %s\n",
                fc_mask(fc_config_str(cfg, "redis-url"), FC_SECRET_URL, shown, sizeof shown));
        return 1;
    }
    if (addr.db) {
        redisReply *r = redisCommand(redis, "SELECT %d", addr.db);
        if (r)
            freeReplyObject(r);
    }
    //  The tenant is new, so it is UTC and its day key is today's UTC date.
    time_t now_s = time(NULL);
    char today[FC_DATE_SIZE], key[AGGREGATOR_KEY_MAX];
    fc_date_format(now_s / 86400, today);
    aggregator_key_period(key, tenant, false, today, AGGREGATOR_PART_HASH);

    zframe_t **frames = calloc((size_t)nbatches, sizeof *frames);
    int64_t *lat = calloc((size_t)nbatches, sizeof *lat);
    fc_event_t ev;
    uint8_t buf[FC_MAX_EVENT_BYTES];
    fc_proto_error_t err;
    for (int64_t b = 0; b < nbatches; b++) {
        fc_batch_writer_t *w = fc_batch_writer_new((uint64_t)b + 1);
        for (int k = 0; k < per_batch; k++) {
            s_event(&ev, (uint64_t)(b * per_batch + k), 1, 16);
            snprintf(ev.tenant, sizeof ev.tenant, "%s", tenant);
            ev.ts_us = (int64_t)now_s * 1000000;
            int len = fc_event_encode(&ev, buf, sizeof buf, &err);
            if (len < 0 || fc_batch_writer_add(w, buf, (size_t)len) != 0)
                return 1;
        }
        size_t size;
        uint8_t *data = fc_batch_writer_finish(w, &size);
        fc_batch_writer_destroy(&w);
        frames[b] = zframe_new(data, size);
        free(data);
    }
    zsock_t *d = zsock_new(ZMQ_DEALER);
    if (*fc_config_str(cfg, "cert") &&
        fc_curve_client_files(d, fc_config_str(cfg, "cert"), fc_config_str(cfg, "server-cert")) !=
            0)
        return 1;
    zsock_set_linger(d, 0);
    zsock_set_sndhwm(d, 0);
    zsock_set_rcvhwm(d, 0);
    zsock_connect(d, "%s", fc_config_str(cfg, "endpoint"));
    //  Warm-up: the tenant's first events make the aggregator initialise it (a rebuild
    //  from Postgres, once per new tenant); the measurement starts after that.
    int64_t base = 0;
    {
        s_event(&ev, 0, 1, 16);
        snprintf(ev.tenant, sizeof ev.tenant, "%s", tenant);
        ev.ts_us = (int64_t)now_s * 1000000;
        fc_batch_writer_t *w = fc_batch_writer_new(UINT64_MAX);
        int len = fc_event_encode(&ev, buf, sizeof buf, &err);
        if (len < 0 || fc_batch_writer_add(w, buf, (size_t)len) != 0)
            return 1;
        size_t size;
        uint8_t *data = fc_batch_writer_finish(w, &size);
        fc_batch_writer_destroy(&w);
        zframe_t *f = zframe_new(data, size);
        free(data);
        zframe_send(&f, d, 0);
        int64_t until = fc_time_mono_us() + 30000000;
        while (base < 1 && fc_time_mono_us() < until) {
            zclock_sleep(5);
            redisReply *r = redisCommand(redis, "HGET %s events", key);
            if (r && r->type == REDIS_REPLY_STRING)
                base = strtoll(r->str, NULL, 10);
            if (r)
                freeReplyObject(r);
        }
        if (base < 1) {
            fprintf(stderr, "bench pipeline: the warm-up event never reached Redis\n");
            return 1;
        }
    }
    int64_t start = fc_time_mono_us() + 200000; //  let the connection settle first
    int64_t deadline = start + fc_config_int(cfg, "timeout-ms") * 1000;
    int64_t next = 0, seen = 0, done = 0, last_poll = 0;
    while (done < nbatches && !fc_signal_stopping() && fc_time_mono_us() < deadline) {
        int64_t now = fc_time_mono_us();
        while (next < nbatches && start + next * per_batch * 1000000 / rate <= now) {
            zframe_send(&frames[next], d, ZFRAME_DONTWAIT);
            next++;
        }
        while (zsock_events(d) & ZMQ_POLLIN) {
            zframe_t *ack = zframe_recv(d);
            zframe_destroy(&ack);
        }
        if (now - last_poll >= 1000) {
            last_poll = now;
            redisReply *r = redisCommand(redis, "HGET %s events", key);
            if (r && r->type == REDIS_REPLY_STRING)
                seen = strtoll(r->str, NULL, 10) - base;
            if (r)
                freeReplyObject(r);
            int64_t t = fc_time_mono_us();
            //  Batch b is in Redis once the count covers all its events.
            while (done < next && seen >= (done + 1) * per_batch) {
                lat[done] = t - (start + done * per_batch * 1000000 / rate);
                done++;
            }
        }
        zclock_sleep(0);
        usleep(200);
    }
    qsort(lat, (size_t)done, sizeof *lat, s_cmp_i64);
    printf("bench=pipeline events=%" PRId64 " in_redis=%" PRId64 " offered_per_s=%" PRId64
           " redis_ms_p50=%.2f redis_ms_p99=%.2f redis_ms_p999=%.2f redis_ms_max=%.2f\n",
           total, seen, rate, s_pct(lat, (size_t)done, 0.50), s_pct(lat, (size_t)done, 0.99),
           s_pct(lat, (size_t)done, 0.999), s_pct(lat, (size_t)done, 1.0));
    zsock_destroy(&d);
    for (int64_t b = 0; b < nbatches; b++)
        zframe_destroy(&frames[b]);
    free(frames);
    free(lat);
    redisFree(redis);
    return done == nbatches ? 0 : 1;
}

//  The naive baseline: what a first implementation would do, one round trip and one
//  commit per event.
static int s_bench_insert(fc_config_t *cfg)
{
    PGconn *pg = PQconnectdb(fc_config_str(cfg, "pg-url"));
    if (PQstatus(pg) != CONNECTION_OK) {
        fprintf(stderr, "bench: %s", PQerrorMessage(pg));
        PQfinish(pg);
        return 1;
    }
    int64_t total = fc_config_int(cfg, "events");
    int tenants = (int)fc_config_int(cfg, "tenants");
    fc_event_t ev;
    int64_t start = fc_time_mono_us(), done = 0;
    for (int64_t i = 0; i < total && !fc_signal_stopping(); i++) {
        s_event(&ev, (uint64_t)i, tenants, 16);
        char id[37], ts[32], in[24], out[24], cr[24], cw[24];
        fc_uuid_format(ev.id, id);
        snprintf(ts, sizeof ts, "%" PRId64, ev.ts_us);
        snprintf(in, sizeof in, "%" PRId64, ev.input_tokens);
        snprintf(out, sizeof out, "%" PRId64, ev.output_tokens);
        snprintf(cr, sizeof cr, "%" PRId64, ev.cache_read_tokens);
        snprintf(cw, sizeof cw, "%" PRId64, ev.cache_write_5m_tokens);
        const char *p[10] = {id, ts, ev.tenant, ev.agent, ev.agent_type, ev.model, in, out, cr, cw};
        PGresult *r = PQexecParams(
            pg,
            "INSERT INTO events (event_id, event_time, tenant_id, event_type, agent_id,"
            " agent_type, model, input_tokens, output_tokens, cache_read_tokens,"
            " cache_write_5m_tokens, ingest_id, seq) VALUES ($1,"
            " timestamptz 'epoch' + $2::bigint * interval '1 microsecond', $3, 'usage', $4, $5,"
            " $6, $7, $8, $9, $10, 'bench-insert', 0) ON CONFLICT DO NOTHING",
            10, NULL, p, NULL, NULL, 0);
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
            fprintf(stderr, "bench: %s", PQresultErrorMessage(r));
            PQclear(r);
            break;
        }
        PQclear(r);
        done++;
    }
    double secs = (fc_time_mono_us() - start) / 1e6;
    printf("bench=insert events=%" PRId64 " seconds=%.3f events_per_s=%.0f\n", done, secs,
           done / secs);
    PQfinish(pg);
    return done == total ? 0 : 1;
}

int main(int argc, char **argv)
{
    const fc_option_t *tables[] = {fc_config_common, s_options, NULL};
    int rc;
    fc_config_t *cfg =
        fc_config_load("fleetcost-bench", "load generators: ingest | pipeline | insert", tables,
                       argc, argv, 0, -1, &rc);
    if (!cfg)
        return rc;
    fc_signal_install(); //  Ctrl-C ends a run early, with the results so far
    const char *what = fc_config_argc(cfg) > 0 ? fc_config_argv(cfg)[0] : "";
    if (streq(what, "ingest"))
        rc = s_bench_ingest(cfg);
    else if (streq(what, "insert"))
        rc = s_bench_insert(cfg);
    else if (streq(what, "pipeline"))
        rc = s_bench_pipeline(cfg);
    else {
        fprintf(stderr, "fleetcost-bench: say what to bench: ingest | pipeline | insert\n");
        rc = 2;
    }
    fc_config_destroy(&cfg);
    return rc;
}
