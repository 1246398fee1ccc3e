/*  reporter_svg: server-drawn SVG charts. Pixel positions are computed in floating point;
    that is geometry, not money: every figure printed comes from the integer value. */
#include "reporter_svg.h"

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
        if (items[i].value_nusd > m)
            m = items[i].value_nusd;
    return m;
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

static void s_bar_title(fc_buf_t *out, const reporter_svg_item_t *it)
{
    char usd[32];
    fc_buf_add_str(out, "<title>");
    fc_esc_html(out, it->label[0] ? it->label : "(none)");
    fc_buf_addf(out, ": $%s</title>", reporter_usd(it->value_nusd, 9, usd));
}

void reporter_svg_columns(fc_buf_t *out, const char *id, const char *title, const char *x_title,
                          const reporter_svg_item_t *items, size_t n, int width, int height)
{
    const int left = 70, right = 10, top = 28, bottom = 48;
    const double pw = width - left - right, ph = height - top - bottom;
    s_axis_t a = s_axis(s_max(items, n));
    char usd[32];
    s_open(out, id, title, width, height);
    //  y axis: gridlines and labels at each step
    for (int i = 0; i <= 4; i++) {
        double y = top + ph - ph * i / 4.0;
        fc_buf_addf(out,
                    "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" class=\"grid\"/>"
                    "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\" class=\"tick\">$%s</text>",
                    left, y, width - right, y, left - 6, y + 4,
                    reporter_usd(a.step * i, a.decimals, usd));
    }
    fc_buf_addf(out,
                "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%.1f\" class=\"axis\"/>"
                "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" class=\"axis\"/>"
                "<text x=\"14\" y=\"%.1f\" transform=\"rotate(-90 14 %.1f)\" text-anchor=\"middle\""
                " class=\"unit\">cost (USD)</text>"
                "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\" class=\"unit\">",
                left, top, left, top + ph, left, top + ph, width - right, top + ph, top + ph / 2,
                top + ph / 2, left + pw / 2, height - 6);
    fc_esc_html(out, x_title);
    fc_buf_add_str(out, "</text>");
    if (n == 0) {
        fc_buf_addf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">no data</text></svg>",
                    left + pw / 2, top + ph / 2);
        return;
    }
    double slot = pw / (double)n, bw = slot > 3 ? slot * 0.8 : slot;
    size_t every = (size_t)(60.0 / slot) + 1; //  a label at most every 60 px
    for (size_t i = 0; i < n; i++) {
        int64_t v = items[i].value_nusd > 0 ? items[i].value_nusd : 0;
        double bh = ph * (double)v / (double)a.top, x = left + slot * (double)i + (slot - bw) / 2;
        fc_buf_addf(out,
                    "<rect class=\"bar\" x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\">", x,
                    top + ph - bh, bw, bh);
        s_bar_title(out, &items[i]);
        fc_buf_add_str(out, "</rect>");
        if (i % every == 0) {
            fc_buf_addf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" class=\"tick\">",
                        x + bw / 2, top + ph + 14);
            fc_esc_html(out, items[i].label);
            fc_buf_add_str(out, "</text>");
        }
    }
    fc_buf_add_str(out, "</svg>");
}

void reporter_svg_bars(fc_buf_t *out, const char *id, const char *title,
                       const reporter_svg_item_t *items, size_t n, int width)
{
    const int left = 160, right = 110, top = 28, row = 22, bottom = 36;
    int height = top + row * (int)(n ? n : 1) + bottom;
    const double pw = width - left - right;
    s_axis_t a = s_axis(s_max(items, n));
    char usd[32];
    s_open(out, id, title, width, height);
    double axis_y = top + row * (double)(n ? n : 1);
    for (int i = 0; i <= 4; i++) {
        double x = left + pw * i / 4.0;
        fc_buf_addf(out,
                    "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%.1f\" class=\"grid\"/>"
                    "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" class=\"tick\">$%s</text>",
                    x, top, x, axis_y, x, axis_y + 14, reporter_usd(a.step * i, a.decimals, usd));
    }
    fc_buf_addf(out,
                "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%.1f\" class=\"axis\"/>"
                "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\" class=\"unit\">cost (USD)</text>",
                left, top, left, axis_y, left + pw / 2, height - 4);
    if (n == 0)
        fc_buf_addf(out, "<text x=\"%d\" y=\"%d\">no data</text>", left + 8, top + 15);
    for (size_t i = 0; i < n; i++) {
        int64_t v = items[i].value_nusd > 0 ? items[i].value_nusd : 0;
        double y = top + row * (double)i, bw = pw * (double)v / (double)a.top;
        fc_buf_addf(out, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\" class=\"label\">", left - 6,
                    y + 15);
        fc_esc_html(out, items[i].label[0] ? items[i].label : "(none)");
        fc_buf_addf(out,
                    "</text><rect class=\"bar\" x=\"%d\" y=\"%.1f\" width=\"%.2f\" height=\"%d\">",
                    left, y + 3, bw, row - 6);
        s_bar_title(out, &items[i]);
        fc_buf_addf(out, "</rect><text x=\"%.1f\" y=\"%.1f\" class=\"value\">$%s</text>",
                    left + bw + 4, y + 15, reporter_usd(items[i].value_nusd, 2, usd));
    }
    fc_buf_add_str(out, "</svg>");
}
