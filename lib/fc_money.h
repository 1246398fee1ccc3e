/*  fc_money: integer money. Every amount is an int64 count of nano-USD (1e-9 USD);
    there is no floating point on the money path. Text is produced only at the edge
    (reports, CLI, alerts) by fc_money_format and read back by fc_money_parse. */
#ifndef FC_MONEY_H
#define FC_MONEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

//  An amount of money in nano-USD.
typedef int64_t fc_nusd_t;

//  Nano-USD in one USD.
#define FC_NUSD_PER_USD INT64_C(1000000000)

//  Enough room for any fc_money_format result: sign, 10 digits, point, 9 digits, NUL.
#define FC_MONEY_BUFSIZE 24

//  *out = a + b. Returns 0, or -1 on overflow (*out is then unspecified).
int fc_money_add(int64_t a, int64_t b, int64_t *out);

//  *out = a * b. Returns 0, or -1 on overflow (*out is then unspecified).
int fc_money_mul(int64_t a, int64_t b, int64_t *out);

//  Writes nusd as USD text with 0..9 decimals ("-1234.567890123", "12", "0.50"),
//  rounding half away from zero when decimals < 9; a value that rounds to zero is
//  written without a sign. Returns 0, or -1 if decimals is out of range or buf is too
//  small (buf then holds "" if size > 0).
int fc_money_format(int64_t nusd, char *buf, size_t size, int decimals);

//  Parses USD text: optional '-', optional '$', digits, optionally '.' and 1..9 digits
//  ("12.34", "-0.000000001", "$5", "-$5"). Returns 0, or -1 on anything else (empty,
//  spaces, more than 9 decimals, out of int64 range); *nusd is untouched on error.
int fc_money_parse(const char *usd, int64_t *nusd);

//  Parses a provider's amount in US cents written as a decimal string (Anthropic's Admin
//  API cost report, docs/RECONCILE.md §2): exactly -?[0-9]{1,11}(\.[0-9]+)?, at most
//  FC_CENTS_MAX_LEN bytes. 1 cent = 10^7 nano-USD, so up to 7 fractional digits are
//  exact; beyond that the value is rounded half to even at the 7th and *rounded is set
//  (else cleared). Returns 0, or -1 on anything else (*nusd untouched).
#define FC_CENTS_MAX_LEN 40
int fc_money_parse_cents(const char *text, size_t len, int64_t *nusd, bool *rounded);

#endif
