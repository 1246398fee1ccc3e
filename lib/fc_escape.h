/*  fc_escape: one function per way text leaves fleetcost, and the mask for secrets.

    Tenant-supplied strings (agent ids, model names, task titles, alert texts) reach
    people through JSON, HTML, CSV, Slack messages, terminals, e-mail and logs. Each
    reader has its own dangerous characters, so each gets its own escaper here, and
    every output uses the one for its reader (docs/SECURITY.md, "Ways out"). */
#ifndef FC_ESCAPE_H
#define FC_ESCAPE_H

#include <stdbool.h>
#include <stddef.h>

#include "fc_buf.h"

//  Appends s as a quoted JSON string. Controls, DEL, `"` and `\` are escaped, and so are
//  `< > &` (as \u003c…), so that the result is also safe inside HTML <script> and
//  attributes.
//  Bytes that are not well-formed UTF-8 become \ufffd: the result is always valid JSON.
void fc_esc_json(fc_buf_t *b, const char *s);

//  Appends s as HTML text or attribute value: `< > & " '` become entities; controls
//  other than tab and newline are dropped.
void fc_esc_html(fc_buf_t *b, const char *s);

//  Appends s as one CSV field (RFC 4180 quoting). A field a spreadsheet would take for
//  a formula (first character `= + - @`, tab or carriage return) is quoted and gets a
//  leading `'`.
void fc_esc_csv(fc_buf_t *b, const char *s);

//  Appends s as Slack message text (unquoted; JSON-escape the result): `& < >` become
//  `&amp; &lt; &gt;`, so tenant text cannot mention (`<!channel>`) or link
//  (`<https://…|…>`); terminal controls are escaped as by fc_esc_text.
void fc_esc_slack(fc_buf_t *b, const char *s);

//  Writes s into out (always NUL-terminated, truncated at a whole character) with every
//  C0 control (newline, tab, CR and ESC included), DEL, C1 control (U+0080–U+009F) and
//  byte of invalid UTF-8 shown as a visible `\xNN` / `\u00NN`: safe for a terminal, a
//  log line and an e-mail header. Returns out, for use inside printf arguments.
const char *fc_esc_text(const char *s, char *out, size_t size);

//  Appends s escaped as by fc_esc_text (no length limit).
void fc_esc_text_buf(fc_buf_t *b, const char *s);

//  What part of a setting is secret (fc_option_t.secret, and log lines printing one).
typedef enum {
    FC_SECRET_NONE = 0,    //  printed as is
    FC_SECRET_VALUE = 1,   //  the whole value: a token, a key
    FC_SECRET_URL = 2,     //  a URL or conninfo: its password and credential parameters
    FC_SECRET_WEBHOOK = 3, //  a URL whose path is itself the credential (Slack, Teams)
} fc_secret_t;

//  Writes value into out (always NUL-terminated) with its secret parts replaced by
//  "***": for FC_SECRET_VALUE all of it (if not empty); for FC_SECRET_URL the password
//  of the userinfo, query parameters named like a credential (password, pass, token,
//  key, secret, sig, auth, code) and conninfo `password=`; for FC_SECRET_WEBHOOK also
//  the whole userinfo, path, every query value and the fragment. Returns out.
const char *fc_mask(const char *value, fc_secret_t kind, char *out, size_t size);

#endif
