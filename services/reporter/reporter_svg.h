/*  reporter_svg: charts drawn by the server as inline SVG (no scripts, no CDN), with
    axes, units and labels. Values are nano-USD; the axis is labelled in USD. Each bar is
    a <rect class="bar"> carrying a <title> with its exact figure. */
#ifndef REPORTER_SVG_H
#define REPORTER_SVG_H

#include <stddef.h>
#include <stdint.h>

#include "fc_buf.h"

typedef struct {
    const char *label;
    int64_t value_nusd;
} reporter_svg_item_t;

//  Vertical columns in order (a daily trend): x axis labelled x_title with a label every
//  few columns, y axis in USD. id becomes the svg element's id.
void reporter_svg_columns(fc_buf_t *out, const char *id, const char *title, const char *x_title,
                          const reporter_svg_item_t *items, size_t n, int width, int height);

//  Horizontal bars (cost by category), one per item, labelled on the left.
void reporter_svg_bars(fc_buf_t *out, const char *id, const char *title,
                       const reporter_svg_item_t *items, size_t n, int width);

#endif
