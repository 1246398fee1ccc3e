/*  test_report_render: list and billed cost in every format, from a model built in
    memory (no database). The figures are it_rates.sh's hand computation: acme's day
    list 8,614,000 nano-USD, billed 6,946,650 (15 % off, opus 20 % off: opus list
    7,505,000 billed 6,004,000); beta without a card, 1,000,000 both. */
#include <stdlib.h>
#include <string.h>

#include "fc_test.h"
#include "reporter_report.h"
#include "reporter_svg.h"

static bool s_has(const fc_buf_t *b, const char *needle)
{
    return b->data && strstr((const char *)b->data, needle) != NULL;
}

static void s_row(reporter_rows_t *rows, const char *k1, int64_t list, int64_t billed,
                  int64_t events)
{
    reporter_row_t *v = realloc(rows->v, (rows->n + 1) * sizeof *v);
    if (!v)
        abort();
    rows->v = v;
    reporter_row_t *r = &rows->v[rows->n++];
    memset(r, 0, sizeof *r);
    snprintf(r->k1, sizeof r->k1, "%s", k1);
    r->s.cost_nusd = list;
    r->s.billed_nusd = billed;
    r->s.events = events;
    rows->total_rows = (int64_t)rows->n;
}

static reporter_report_t *s_model(const char *tenant, bool card)
{
    reporter_report_t *r = reporter_report_new();
    if (!r)
        abort();
    snprintf(r->tenant, sizeof r->tenant, "%s", tenant);
    snprintf(r->tz, sizeof r->tz, "UTC");
    snprintf(r->period, sizeof r->period, "daily");
    snprintf(r->from, sizeof r->from, "2026-12-05");
    snprintf(r->to, sizeof r->to, "2026-12-05");
    r->top_n = 10;
    if (card) {
        r->total = (reporter_sums_t){.cost_nusd = 8614000, .billed_nusd = 6946650, .events = 4};
        s_row(&r->days, "2026-12-05", 8614000, 6946650, 4);
        s_row(&r->models, "claude-opus-4-6", 7505000, 6004000, 1);
        s_row(&r->models, "claude-sonnet-4-5", 1104000, 938400, 1);
        s_row(&r->models, "claude-haiku-4-5", 5000, 4250, 2);
    } else {
        r->total = (reporter_sums_t){.cost_nusd = 1000000, .billed_nusd = 1000000, .events = 1};
        s_row(&r->days, "2026-12-05", 1000000, 1000000, 1);
        s_row(&r->models, "claude-haiku-4-5", 1000000, 1000000, 1);
    }
    return r;
}

static void s_render(const reporter_report_t *r, reporter_fmt_t fmt, fc_buf_t *b)
{
    fc_buf_reset(b);
    reporter_render(r, fmt, b);
    fc_buf_add(b, "", 1);
    FC_CHECK(!b->failed);
}

int main(void)
{
    fc_buf_t b;
    fc_buf_init(&b);
    reporter_report_t *acme = s_model("acme", true), *beta = s_model("beta", false);

    //  Text: billed the headline, list beside it; one "cost" figure without a card.
    s_render(acme, REPORTER_FMT_TEXT, &b);
    FC_CHECK(s_has(&b, "\n  billed cost      $0.006946650 (6946650 nano-USD)\n"));
    FC_CHECK(s_has(&b, "\n  list cost        $0.008614000 (8614000 nano-USD)\n"));
    FC_CHECK(s_has(&b, "billed USD         list USD   share"));
    s_render(beta, REPORTER_FMT_TEXT, &b);
    FC_CHECK(s_has(&b, "\n  cost             $0.001000000 (1000000 nano-USD)\n"));
    FC_CHECK(!s_has(&b, "billed"));

    //  CSV: two more columns at the end; empty where the row is not a sum of costs.
    s_render(acme, REPORTER_FMT_CSV, &b);
    FC_CHECK(s_has(&b, ",unpriced_events,detail,billed_nusd,billed_usd\r\n"));
    FC_CHECK(s_has(&b, "\r\nsummary,acme,,8614000,0.008614000,"));
    FC_CHECK(s_has(&b, ",6946650,0.006946650\r\nday,2026-12-05,,8614000,"));
    FC_CHECK(s_has(&b, "\r\nmodel,claude-opus-4-6,,7505000,0.007505000,0,0,0,0,0,1,0,,6004000,"
                       "0.006004000\r\n"));
    FC_CHECK(s_has(&b, "\r\nperiod,acme,daily,0,0.000000000,0,0,0,0,0,0,0,2026-12-05..2026-12-05,,"
                       "\r\n"));

    //  JSON: cost_nusd stays list, billed beside it.
    s_render(acme, REPORTER_FMT_JSON, &b);
    FC_CHECK(s_has(&b, "\"billed_differs\":true"));
    FC_CHECK(s_has(&b, "\"summary\":{\"cost_nusd\":8614000,\"cost_usd\":\"0.008614000\","
                       "\"billed_nusd\":6946650,\"billed_usd\":\"0.006946650\""));
    FC_CHECK(s_has(&b, "\"model\":\"claude-opus-4-6\",\"cost_nusd\":7505000,\"cost_usd\":"
                       "\"0.007505000\",\"billed_nusd\":6004000"));
    s_render(beta, REPORTER_FMT_JSON, &b);
    FC_CHECK(s_has(&b, "\"billed_differs\":false"));
    FC_CHECK(
        s_has(&b, "\"cost_nusd\":1000000,\"cost_usd\":\"0.001000000\",\"billed_nusd\":1000000"));

    //  HTML: the billed card, the list card, the note; bars are billed.
    s_render(acme, REPORTER_FMT_HTML, &b);
    FC_CHECK(s_has(&b, "<div>billed cost</div><div class=\"v\" id=\"total-cost\">$0.006946650"));
    FC_CHECK(s_has(&b, "id=\"total-list-cost\">$0.008614000</div><div>8614000 nano-USD"));
    FC_CHECK(s_has(&b, "<p id=\"basis\">"));
    FC_CHECK(s_has(&b, "<th class=\"n\">billed (USD)</th><th class=\"n\">list (USD)</th>"));
    FC_CHECK(s_has(&b, "<td class=\"n\">0.01</td><td class=\"n\">0.01</td><td class=\"n\">86.4%"));
    s_render(beta, REPORTER_FMT_HTML, &b);
    FC_CHECK(s_has(&b, "<div>cost</div><div class=\"v\" id=\"total-cost\">$0.001000000"));
    FC_CHECK(!s_has(&b, "total-list-cost") && !s_has(&b, "billed"));

    //  The dashboard reads today's in-day rollups, whose breakdown rows carry list cost
    //  only (billed 0): those are shown as list, and alone do not make billed the
    //  headline; the totals (billed = list here) stay one "cost".
    reporter_burn_t burn = {0};
    beta->inday_rollups = true;
    beta->models.v[0].s.billed_nusd = 0;
    FC_CHECK(!reporter_billed_whole(beta, &beta->models));
    FC_CHECK(reporter_billed_whole(beta, &beta->days));
    fc_buf_reset(&b);
    reporter_render_dashboard(beta, &burn, "7d", &b);
    fc_buf_add(&b, "", 1);
    FC_CHECK(s_has(&b, "<div>cost</div><div class=\"v\" id=\"total-range\">$0.00</div>"));
    FC_CHECK(s_has(&b, "data-total-nusd=\"1000000\""));
    FC_CHECK(s_has(&b, "<th class=\"n\">cost (USD)</th><th class=\"n\">share</th>"));
    FC_CHECK(s_has(&b, "<td class=\"n\">0.00</td><td class=\"n\">100.0%</td>"));
    //  With a card the cards are billed and the breakdowns say they are list.
    acme->inday_rollups = true;
    fc_buf_reset(&b);
    reporter_render_dashboard(acme, &burn, "7d", &b);
    fc_buf_add(&b, "", 1);
    FC_CHECK(s_has(&b, "data-total-nusd=\"6946650\""));
    FC_CHECK(s_has(&b, "<div>billed cost</div><div class=\"v\" id=\"total-range\">"));
    FC_CHECK(s_has(&b, "Cost by model (list)"));
    FC_CHECK(s_has(&b, "<th class=\"n\">list (USD)</th><th class=\"n\">share</th>"));

    //  The burn chart's forecast and threshold lines: the exact figure in the tooltip,
    //  cents beside the line (two figures of one format call each in its own buffer).
    int64_t cum[3] = {1000000000, 2000000000, 3500000000};
    int pct[1] = {50};
    fc_buf_reset(&b);
    reporter_svg_burn(&b, "burn", "Burn", cum, 3, 30, INT64_C(20000000000), INT64_C(12345678901),
                      pct, 1, 600, 300);
    fc_buf_add(&b, "", 1);
    FC_CHECK(s_has(&b, "<title>forecast for the month: $12.345678901</title>"));
    FC_CHECK(s_has(&b, "class=\"value\">forecast $12.35</text>"));
    FC_CHECK(s_has(&b, "<title>50% of the budget: $10.000000000</title>"));
    FC_CHECK(s_has(&b, "class=\"value\">50% $10.00</text>"));

    reporter_report_destroy(&acme);
    reporter_report_destroy(&beta);
    fc_buf_free(&b);
    return fc_test_done("test_report_render");
}
