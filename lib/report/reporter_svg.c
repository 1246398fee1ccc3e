/*  reporter_svg: server-drawn SVG charts. Pixel positions are computed in floating point;
    that is geometry, not money: every figure printed comes from the integer value. */
#include "reporter_svg.h"

#include <stdbool.h>
#include <stdio.h>

#include "reporter_report.h"

//  The axis: a "nice" step (1, 2 or 5 times a power of ten nano-USD) such that four
//  steps cover max, and the decimals its labels need.
typedef struct {
    int64_t step, top;
    int decimals;
} s_axis_t;

static s_axis_t s_axis(int64_t max)
{
    s_axis_t a = {250000000, 1000000000, 2}; //  an empty chart shows $0..$1
    if (max <= 0)
        return a;
    int64_t raw = (max + 3) / 4, pow10 = 1;
    int k = 0;
    while (pow10 <= raw / 10) {
        pow10 *= 10;
        k++;
    }
    int64_t step = pow10;
    if (step < raw)
        step = 2 * pow10;
    if (step < raw)
        step = 5 * pow10;
    if (step < raw) {
        step = 10 * pow10;
        k++;
    }
    a.step = step;
    a.top = step * 4;
    a.decimals = k >= 9 ? 0 : 9 - k;
    if (a.decimals > 9)
        a.decimals = 9;
    return a;
}

static int64_t s_max(const reporter_svg_item_t *items, size_t n)
{
    int64_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (items[i].value > m)
            m = items[i].value;
    return m;
}

//  A value as the unit prints it: "$12.34" (decimals as given) or "1234567".
static const char *s_fmt(reporter_svg_unit_t unit, int64_t v, int decimals, char buf[40])
{
    char usd[32];
    if (unit == REPORTER_SVG_USD)
        snprintf(buf, 40, "$%s", reporter_usd(v, decimals, usd));
    else
        snprintf(buf, 40, "%lld", (long long)v);
    return buf;
}

//  An axis for counts: the money axis read in units, so a step is never below 1.
static s_axis_t s_axis_unit(reporter_svg_unit_t unit, int64_t max)
{
    if (unit == REPORTER_SVG_USD)
        return s_axis(max);
    s_axis_t a = s_axis(max < 4 ? 4 : max);
    a.decimals = 0;
    return a;
}

static const char *s_unit_name(reporter_svg_unit_t unit)
{
    return unit == REPORTER_SVG_USD ? "cost (USD)" : "tokens";
}

//  Opens a bar's link (when it has one); returns whether it did.
static bool s_link_open(fc_buf_t *out, const reporter_svg_item_t *it)
{
    if (!it->href)
        return false;
    fc_buf_addf(out, "<a href=\"%s\">", it->href);
    return true;
}

static void s_open(fc_buf_t *out, const char *id, const char *title, int w, int h)
{
    fc_buf_addf(out,
                "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" id=\"%s\" width=\"%d\""
                " height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"",
                id, w, h, w, h);
    fc_esc_html(out, title);
    fc_buf_add_str(out, "\"><title>");
    fc_esc_html(out, title);
    fc_buf_addf(out, "</title><text x=\"%d\" y=\"16\" text-anchor=\"middle\" class=\"ctitle\">",
                w / 2);
    fc_esc_html(out, title);
    fc_buf_add_str(out, "</text>");
}

//  A bar: its rect with an id when given, the exact figure as its title, in its link.
static void s_bar(fc_buf_t *out, reporter_svg_unit_t unit, const reporter_svg_item_t *it, double x,
                  double y, double w, double h)
{
    char v[40];
    bool link = s_link_open(out, it);
    fc_buf_add_str(out, "<rect class=\"bar\"");
    if (it->id)
        fc_buf_addf(out, " id=\"%s\"", it->id);
    fc_buf_addf(out, " x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\"><title>", x, y, w, h);
    fc_esc_html(out, it->label[0] ? it->label : "(none)");
    fc_buf_addf(out, ": %s</title></rect>", s_fmt(unit, it->value, 9, v));
    if (link)
        fc_buf_add_str(out, "</a>");
}

void reporter_svg_columns(fc_buf_t *out, const char *id, const char *title, const char *x_title,
                          reporter_svg_unit_t unit, const reporter_svg_item_t *items, size_t n,
                          int width, int height)
{
    const int left = 70, right = 10, top = 28, bottom = 48;
    const double pw = width - left - right, ph = height - top - bottom;
    s_axis_t a = s_axis_unit(unit, s_max(items, n));
    char v[40];
    s_open(out, id, title, width, height);
    //  The axis top, for the page's script to redraw a live column at the same scale.
    fc_buf_addf(out, "<desc data-top=\"%lld\" data-height=\"%.1f\" data-base=\"%.1f\"></desc>",
                (long long)a.top, ph, top + ph);
    //  y axis: gridlines and labels at each step
    for (int i = 0; i <= 4; i++) {
        double y = top + ph - ph * i / 4.0;
        fc_buf_addf(out,
                    "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" class=\"grid\"/>"
                    "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\" class=\"tick\">%s</text>",
                    left, y, width - right, y, left - 6, y + 4,
                    s_fmt(unit, a.step * i, a.decimals, v));
    }
    fc_buf_addf(out,
                "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%.1f\" class=\"axis\"/>"
                "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" class=\"axis\"/>"
                "<text x=\"14\" y=\"%.1f\" transform=\"rotate(-90 14 %.1f)\" text-anchor=\"middle\""
                " class=\"unit\">%s</text>"
                "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\" class=\"unit\">",
                left, top, left, top + ph, left, top + ph, width - right, top + ph, top + ph / 2,
                top + ph / 2, s_unit_name(unit), left + pw / 2, height - 6);
    fc_esc_html(out, x_title);
    fc_buf_add_str(out, "</text>");
    if (n == 0) {
        fc_buf_addf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">no data</text></svg>",
                    left + pw / 2, top + ph / 2);
        return;
    }
    double slot = pw / (double)n, bw = slot > 3 ? slot * 0.8 : slot;
    size_t every = (size_t)(80.0 / slot) + 1; //  a label at most every 80 px
    for (size_t i = 0; i < n; i++) {
        int64_t val = items[i].value > 0 ? items[i].value : 0;
        double bh = ph * (double)val / (double)a.top, x = left + slot * (double)i + (slot - bw) / 2;
        s_bar(out, unit, &items[i], x, top + ph - bh, bw, bh);
        if (i % every == 0) {
            fc_buf_addf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" class=\"tick\">",
                        x + bw / 2, top + ph + 14);
            fc_esc_html(out, items[i].label);
            fc_buf_add_str(out, "</text>");
        }
    }
    fc_buf_add_str(out, "</svg>");
}

void reporter_svg_bars(fc_buf_t *out, const char *id, const char *title, reporter_svg_unit_t unit,
                       const reporter_svg_item_t *items, size_t n, int width)
{
    const int left = 160, right = 110, top = 28, row = 22, bottom = 36;
    int height = top + row * (int)(n ? n : 1) + bottom;
    const double pw = width - left - right;
    s_axis_t a = s_axis_unit(unit, s_max(items, n));
    char v[40];
    s_open(out, id, title, width, height);
    double axis_y = top + row * (double)(n ? n : 1);
    for (int i = 0; i <= 4; i++) {
        double x = left + pw * i / 4.0;
        fc_buf_addf(out,
                    "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%.1f\" class=\"grid\"/>"
                    "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" class=\"tick\">%s</text>",
                    x, top, x, axis_y, x, axis_y + 14, s_fmt(unit, a.step * i, a.decimals, v));
    }
    fc_buf_addf(out,
                "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%.1f\" class=\"axis\"/>"
                "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\" class=\"unit\">%s</text>",
                left, top, left, axis_y, left + pw / 2, height - 4, s_unit_name(unit));
    if (n == 0)
        fc_buf_addf(out, "<text x=\"%d\" y=\"%d\">no data</text>", left + 8, top + 15);
    for (size_t i = 0; i < n; i++) {
        int64_t val = items[i].value > 0 ? items[i].value : 0;
        double y = top + row * (double)i, bw = pw * (double)val / (double)a.top;
        fc_buf_addf(out, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\" class=\"label\">", left - 6,
                    y + 15);
        fc_esc_html(out, items[i].label[0] ? items[i].label : "(none)");
        fc_buf_add_str(out, "</text>");
        s_bar(out, unit, &items[i], left, y + 3, bw, row - 6);
        fc_buf_addf(out, "<text x=\"%.1f\" y=\"%.1f\" class=\"value\">%s</text>", left + bw + 4,
                    y + 15, s_fmt(unit, items[i].value, 2, v));
    }
    fc_buf_add_str(out, "</svg>");
}

void reporter_svg_burn(fc_buf_t *out, const char *id, const char *title, const int64_t *cum,
                       size_t days_elapsed, size_t days_in_month, int64_t budget_nusd,
                       int64_t forecast_nusd, const int *thresholds_pct, size_t n_thresholds,
                       int width, int height)
{
    const int left = 70, right = 120, top = 28, bottom = 40;
    const double pw = width - left - right, ph = height - top - bottom;
    if (days_in_month == 0)
        days_in_month = 1;
    if (days_elapsed > days_in_month)
        days_elapsed = days_in_month;
    int64_t max = budget_nusd > forecast_nusd ? budget_nusd : forecast_nusd;
    for (size_t i = 0; i < days_elapsed; i++)
        if (cum[i] > max)
            max = cum[i];
    s_axis_t a = s_axis(max);
    char v[40], v2[40]; //  two figures in one format call need two buffers
    s_open(out, id, title, width, height);
    for (int i = 0; i <= 4; i++) {
        double y = top + ph - ph * i / 4.0;
        fc_buf_addf(out,
                    "<line x1=\"%d\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" class=\"grid\"/>"
                    "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\" class=\"tick\">%s</text>",
                    left, y, left + pw, y, left - 6, y + 4,
                    s_fmt(REPORTER_SVG_USD, a.step * i, a.decimals, v));
    }
    fc_buf_addf(out,
                "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%.1f\" class=\"axis\"/>"
                "<line x1=\"%d\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" class=\"axis\"/>"
                "<text x=\"14\" y=\"%.1f\" transform=\"rotate(-90 14 %.1f)\" text-anchor=\"middle\""
                " class=\"unit\">month to date (USD)</text>"
                "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\" class=\"unit\">day of the month "
                "(tenant-local)</text>",
                left, top, left, top + ph, left, top + ph, left + pw, top + ph, top + ph / 2,
                top + ph / 2, left + pw / 2, height - 6);
    double slot = pw / (double)days_in_month, bw = slot * 0.8;
#define S_Y(val) (top + ph - ph * (double)(val) / (double)a.top)
    for (size_t i = 0; i < days_elapsed; i++) {
        char label[40];
        snprintf(label, sizeof label, "day %zu, cumulative", i + 1);
        reporter_svg_item_t it = {label, cum[i], NULL, NULL};
        double x = left + slot * (double)i + (slot - bw) / 2, y = S_Y(cum[i] > 0 ? cum[i] : 0);
        s_bar(out, REPORTER_SVG_USD, &it, x, y, bw, top + ph - y);
    }
    for (size_t d = 1; d <= days_in_month; d += days_in_month > 16 ? 5 : 2)
        fc_buf_addf(out,
                    "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" class=\"tick\">%zu</text>",
                    left + slot * ((double)d - 0.5), top + ph + 14, d);
    //  The forecast: from the end of the last day so far to the end of the month.
    double x0 = left + slot * (double)days_elapsed,
           y0 = S_Y(days_elapsed ? (cum[days_elapsed - 1] > 0 ? cum[days_elapsed - 1] : 0) : 0);
    fc_buf_addf(out,
                "<line class=\"forecast\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\">"
                "<title>forecast for the month: %s</title></line>"
                "<text x=\"%.1f\" y=\"%.1f\" class=\"value\">forecast %s</text>",
                x0, y0, left + pw, S_Y(forecast_nusd), s_fmt(REPORTER_SVG_USD, forecast_nusd, 9, v),
                left + pw + 4, S_Y(forecast_nusd) + 4,
                s_fmt(REPORTER_SVG_USD, forecast_nusd, 2, v2));
    if (budget_nusd > 0) {
        for (size_t i = 0; i < n_thresholds; i++) {
            //  128-bit: budget * percent must not overflow
            int64_t at = (int64_t)((__int128)budget_nusd * thresholds_pct[i] / 100);
            double y = S_Y(at);
            fc_buf_addf(out,
                        "<line class=\"%s\" x1=\"%d\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\">"
                        "<title>%d%% of the budget: %s</title></line>"
                        "<text x=\"%.1f\" y=\"%.1f\" class=\"value\">%d%% %s</text>",
                        thresholds_pct[i] == 100 ? "budget" : "threshold", left, y, left + pw, y,
                        thresholds_pct[i], s_fmt(REPORTER_SVG_USD, at, 9, v), left + pw + 4, y + 4,
                        thresholds_pct[i], s_fmt(REPORTER_SVG_USD, at, 2, v2));
        }
    }
#undef S_Y
    fc_buf_add_str(out, "</svg>");
}
