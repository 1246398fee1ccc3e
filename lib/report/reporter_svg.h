/*  reporter_svg: charts drawn by the server as inline SVG (no scripts, no CDN), with
    axes, units and labels. Values are nano-USD (the axis is labelled in USD) or counts
    (tokens). Each bar is a <rect class="bar"> carrying a <title> with its exact figure,
    inside a link when the item has one (to the report of what the bar stands for). */
#ifndef REPORTER_SVG_H
#define REPORTER_SVG_H

#include <stddef.h>
#include <stdint.h>

#include "fc_buf.h"

typedef enum { REPORTER_SVG_USD, REPORTER_SVG_TOKENS } reporter_svg_unit_t;

typedef struct {
    const char *label;
    int64_t value;    //  nano-USD or a count, as the chart's unit says
    const char *href; //  link of the bar (already a safe, attribute-escaped URL), or NULL
    const char *id;   //  id of the bar element (for live updates), or NULL
} reporter_svg_item_t;

//  Vertical columns in order (a daily trend): x axis labelled x_title with a label every
//  few columns, y axis in the unit. id becomes the svg element's id.
void reporter_svg_columns(fc_buf_t *out, const char *id, const char *title, const char *x_title,
                          reporter_svg_unit_t unit, const reporter_svg_item_t *items, size_t n,
                          int width, int height);

//  Horizontal bars (cost or tokens by category), one per item, labelled on the left.
void reporter_svg_bars(fc_buf_t *out, const char *id, const char *title, reporter_svg_unit_t unit,
                       const reporter_svg_item_t *items, size_t n, int width);

//  Budget burn of a month: cumulative cost at the end of each of the days_elapsed days
//  so far (cum[0..days_elapsed-1], nano-USD) as columns over days 1..days_in_month, a
//  dashed forecast line from the last column to forecast_nusd at the month's end, the
//  budget and each threshold (percent of the budget) as labelled horizontal lines. No
//  budget (0): no lines but the forecast.
void reporter_svg_burn(fc_buf_t *out, const char *id, const char *title, const int64_t *cum,
                       size_t days_elapsed, size_t days_in_month, int64_t budget_nusd,
                       int64_t forecast_nusd, const int *thresholds_pct, size_t n_thresholds,
                       int width, int height);

#endif
