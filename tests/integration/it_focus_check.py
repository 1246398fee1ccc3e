#!/usr/bin/env python3
"""it_focus_check: checks a `fleetcost billing --format focus` CSV against the JSON and CSV
bills of the same month: per tenant and in total, list and billed, to the nano-dollar.
Prints one 'ok'/'FAIL' line per check and exits 1 if any failed.
   it_focus_check.py <focus.csv> <bill.json> <bill.csv> <month YYYY-MM> <tenant=tz>...
Money is compared as decimal.Decimal and as integer nano-USD: never as floats."""
import csv
import json
import sys
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

# The FOCUS 1.2 Mandatory columns (docs/FOCUS.md §2.1).
MANDATORY = """BilledCost BillingAccountId BillingAccountName BillingCurrency BillingPeriodEnd
BillingPeriodStart ChargeCategory ChargeClass ChargeDescription ChargePeriodEnd
ChargePeriodStart ContractedCost EffectiveCost InvoiceIssuerName ListCost PricingQuantity
PricingUnit ProviderName PublisherName ServiceCategory ServiceName""".split()
COSTS = ("BilledCost", "EffectiveCost", "ContractedCost")

failures = 0


def check(what, cond, detail=""):
    global failures
    print(("ok   " if cond else "FAIL ") + what + ("" if cond else f": {detail}"))
    failures += 0 if cond else 1


def utc(s):
    return datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)


def local_midnight(d, tz):
    return datetime(d.year, d.month, d.day, tzinfo=ZoneInfo(tz)).astimezone(timezone.utc)


def main():
    path, bill_path, csv_path, month = sys.argv[1:5]
    zones = dict(a.split("=", 1) for a in sys.argv[5:])
    raw = open(path, "rb").read()
    check("UTF-8 without BOM, CRLF rows", not raw.startswith(b"\xef\xbb\xbf")
          and raw.count(b"\r\n") == raw.count(b"\n") and raw.count(b"\n") > 1)
    rows = list(csv.DictReader(raw.decode("utf-8").splitlines()))
    header = raw.split(b"\r\n", 1)[0].decode().split(",")
    missing = [c for c in MANDATORY if c not in header]
    check("header: every FOCUS 1.2 mandatory column", not missing, missing)
    custom = [i for i, c in enumerate(header) if c.startswith("x_")]
    check("header: custom x_ columns come after all FOCUS columns",
          custom and custom[0] == len(header) - len(custom), header)
    bill = json.load(open(bill_path))
    y, m = map(int, month.split("-"))
    first, nxt = date(y, m, 1), date(y + m // 12, m % 12 + 1, 1)
    bad_period, bad_const, bad_cost, bad_tenant, bad_guard = [], [], [], [], []
    sums, nsums, bsums, days, fees = {}, {}, {}, {}, []
    for r in rows:
        t = r["SubAccountId"]
        if t not in zones:
            bad_tenant.append(t)
            continue
        tz = zones[t]
        bsums[t] = bsums.get(t, Decimal(0)) + Decimal(r["BilledCost"])
        if r["ChargeCategory"] == "Purchase":  # a rate card's monthly fee: its own row
            fees.append(r)
            if ((r["ChargeFrequency"], r["x_CostKind"], r["PricingUnit"], r["ConsumedQuantity"])
                    != ("Recurring", "monthly_fee", "Months", "")
                    or (r["ChargePeriodStart"], r["ChargePeriodEnd"])
                    != (r["BillingPeriodStart"], r["BillingPeriodEnd"])
                    or utc(r["BillingPeriodStart"]) != local_midnight(first, tz)
                    or r["ListCost"] != r["BilledCost"]):
                bad_const.append(r)
            sums[t] = sums.get(t, Decimal(0)) + Decimal(r["ListCost"])
            nsums[t] = nsums.get(t, 0) + int(r["x_ListCostNanoUSD"])
            continue
        start, end = utc(r["ChargePeriodStart"]), utc(r["ChargePeriodEnd"])
        day = start.astimezone(ZoneInfo(tz)).date()
        if not (first <= day < nxt and start == local_midnight(day, tz)
                and end == local_midnight(day + timedelta(days=1), tz)):
            bad_period.append((t, r["ChargePeriodStart"], r["ChargePeriodEnd"]))
        if (utc(r["BillingPeriodStart"]) != local_midnight(first, tz)
                or utc(r["BillingPeriodEnd"]) != local_midnight(nxt, tz)):
            bad_period.append((t, r["BillingPeriodStart"], r["BillingPeriodEnd"]))
        # A guarded cell has a leading ' (fc_esc_csv); inside SkuId the name is not first.
        model = r["x_Model"][1:] if r["x_Model"][:2] in ("'=", "'+", "'-", "'@") else r["x_Model"]
        const = (r["BillingCurrency"], r["ChargeCategory"], r["ChargeClass"], r["ProviderName"],
                 r["ServiceName"], r["ConsumedUnit"], r["PricingUnit"], r["SkuId"])
        if const != ("USD", "Usage", "", "Anthropic", "Claude API", "Tokens", "1000000 Tokens",
                     f"anthropic/{model}/{r['x_CostKind']}"):
            bad_const.append(const)
        costs = {r[c] for c in COSTS}
        list_cost = Decimal(r["ListCost"])
        tokens = sum(int(r[c]) for c in ("x_InputTokens", "x_OutputTokens", "x_CacheReadTokens",
                                          "x_CacheWrite5mTokens", "x_CacheWrite1hTokens"))
        if (len(costs) != 1 or len(r["ListCost"].split(".")[1]) != 9
                or len(r["BilledCost"].split(".")[1]) != 9
                or list_cost * 10**9 != int(r["x_ListCostNanoUSD"])
                or int(r["ConsumedQuantity"]) != tokens
                or Decimal(r["PricingQuantity"]) * 10**6 != tokens):
            bad_cost.append(r)
        if r["SubAccountName"] == "" or r["BillingAccountId"] == "" or r["InvoiceIssuerName"] == "":
            bad_const.append("null in a not-null column")
        for v in r.values():
            if v and v[0] in "=+-@\t\r":
                bad_guard.append(v)
        sums[t] = sums.get(t, Decimal(0)) + list_cost
        nsums[t] = nsums.get(t, 0) + int(r["x_ListCostNanoUSD"])
        days.setdefault(t, set()).add(day)
    check(f"{len(rows)} rows: SubAccountId is a known tenant", rows and not bad_tenant, bad_tenant[:3])
    check("ChargePeriodStart/End = the tenant's local day, Billing period = its local month, in UTC",
          not bad_period, bad_period[:3])
    check("fixed columns (USD, Usage, null ChargeClass, Anthropic, units, SkuId)", not bad_const,
          bad_const[:3])
    check("BilledCost = EffectiveCost = ContractedCost, 9 decimals, ListCost exact nano-USD, "
          "quantities = token sums", not bad_cost, bad_cost[:1])
    check("no cell a spreadsheet would take for a formula", not bad_guard, bad_guard[:3])
    want = {x["tenant"]: x for x in bill["tenants"]}
    check("tenants = the bill's tenants", set(sums) == set(want), (sorted(sums), sorted(want)))
    for t in sorted(want):
        check(f"{t}: sum(ListCost) = the bill's total, as decimals",
              sums.get(t) == Decimal(want[t]["cost_usd"]), (sums.get(t), want[t]["cost_usd"]))
        check(f"{t}: sum(x_ListCostNanoUSD) = the bill's nano-USD", nsums.get(t) == want[t]["cost_nusd"],
              (nsums.get(t), want[t]["cost_nusd"]))
        check(f"{t}: sum(BilledCost) = the bill's billed total, as decimals",
              bsums.get(t) == Decimal(want[t]["billed_usd"]), (bsums.get(t), want[t]["billed_usd"]))
        check(f"{t}: rows on every local day of the month ({(nxt - first).days})",
              len(days.get(t, ())) == (nxt - first).days, len(days.get(t, ())))
    check("total = the bill's total", sum(nsums.values()) == bill["total_nusd"])
    bcsv = list(csv.DictReader(open(csv_path, newline="", encoding="utf-8")))
    focus_billed = sum(bsums.values()) * 10**9
    check("billed: CSV total = JSON total = FOCUS sum(BilledCost)",
          sum(int(r["billed_nusd"]) for r in bcsv) == bill["billed_total_nusd"] == focus_billed,
          (sum(int(r["billed_nusd"]) for r in bcsv), bill["billed_total_nusd"], focus_billed))
    check("list: CSV total = JSON total = FOCUS sum(x_ListCostNanoUSD)",
          sum(int(r["cost_nusd"]) for r in bcsv) == bill["total_nusd"] == sum(nsums.values()))
    csv_fees = sorted((r["tenant_id"], int(r["cost_nusd"]), int(r["billed_nusd"]))
                      for r in bcsv if r["cost_kind"] == "monthly_fee")
    focus_fees = sorted((r["SubAccountId"], int(r["x_ListCostNanoUSD"]),
                         int(Decimal(r["BilledCost"]) * 10**9)) for r in fees)
    check("the CSV bill's monthly_fee lines = the FOCUS Purchase rows", csv_fees == focus_fees,
          (csv_fees, focus_fees))
    return 1 if failures else 0


sys.exit(main())
