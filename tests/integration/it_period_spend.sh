#!/usr/bin/env bash
# it_period_spend: the one definition of a period's spend (migration 0017, issue #16)
# against sums written out by hand, in three time zones around a DST change:
#  - fc_period_spend gives each tenant-day from its final 'total' rollup when there is
#    one (even after an open day: a rebuilt day), else from the events of that local day;
#  - with p_inday an in-day rollup stands for its day;
#  - fc_spend_rollups (month rows minus days) equals the daily rows it stands for;
#  - fc_tenant_spend (alerter, `budget check`) gives today and the month to date from the
#    same source, billed equal to list;
#  - `fleetcost report` over the same days reports the same total;
#  - billed differs from list for crd1 (Tokyo), which has a rate card (15 % off from its
#    local 2026-03-01; 0016) and billed costs on its events, written out by hand:
#      02-28 open   an event from before the card, billed NULL (= list)  500,000 /    500,000
#      03-03 closed its final rollup (events 3,000,001 / 2,550,001 plus a marker of
#                   70,000,000 in both)                              73,000,001 / 72,550,001
#      03-09 open   3,333,333 x 0.85 = 2,833,333.05                   3,333,333 /  2,833,333
#      03-10 open   10,000 x 0.85                                         10,000 /      8,500
#    02-28..03-10: list 76,843,334, billed 75,891,834; its month to date at "now" (03-10):
#    list 76,343,334, billed 75,391,834; today list 10,000, billed 8,500. The same totals
#    per cost kind from fc_period_spend_kinds (0018).
# The rollups deliberately disagree with the events (a marker added), so a figure read
# from the wrong source fails.
#   it_period_spend.sh <fleetcost>
fleetcost=${1:?usage: it_period_spend.sh <fleetcost>}
. "$(dirname "$0")/lib.sh"
it_setup period_spend
"$fleetcost" migrate --pg-url "$IT_URL" >/dev/null || it_die "migrate failed"

# "Now" is 2026-03-10 03:30 UTC: Tokyo's 12:30 on the 10th, New York's 23:30 on the 9th
# (EDT since the 8th, a 23-hour day), UTC's 03:30 on the 10th.
NOW='2026-03-10 03:30:00+00'
q "$IT_URL" - >/dev/null <<'SQL' || it_die "seeding failed"
INSERT INTO tenants (tenant_id, tz) VALUES ('utc1', 'UTC'), ('tyo1', 'Asia/Tokyo'),
                                           ('nyc1', 'America/New_York');
SELECT fc_ensure_event_partitions('2026-01-25', '2026-03-12');
-- An event every 97 minutes per tenant from 2026-01-28 to now, cost varying with time;
-- lifecycle events (no cost kind) cost nothing and count for nothing.
INSERT INTO events (event_id, event_time, tenant_id, event_type, agent_id, cost_nusd, cost_kind,
                    ingest_id, seq)
SELECT gen_random_uuid(), t, tn, 'usage', 'a1', 1000 + (extract(epoch FROM t)::bigint % 977),
       'usage', 'it', 0
  FROM unnest(ARRAY['utc1', 'tyo1', 'nyc1', 'ghost']) tn,
       generate_series(timestamptz '2026-01-28 00:05+00', timestamptz '2026-03-10 03:29+00',
                       interval '97 minutes') t;
INSERT INTO events (event_id, event_time, tenant_id, event_type, agent_id, cost_nusd, ingest_id, seq)
SELECT gen_random_uuid(), t, 'utc1', 'spawn', 'a1', 5, 'it', 0
  FROM generate_series(timestamptz '2026-03-01 00:00+00', timestamptz '2026-03-10 03:00+00',
                       interval '1 day') t;
-- Final rollups: every tenant's days up to 2026-03-05 (local), plus utc1's 03-07 and
-- 03-08 after an open 03-06 (a rebuilt day). Each total is the events' sum plus a
-- marker, 1,000,000 x the day of the month, and one 'model' row carries the same.
CREATE TEMP TABLE truth_days AS
SELECT tn AS tenant_id, (e.event_time AT TIME ZONE z.tz)::date AS day, sum(e.cost_nusd) AS ev
  FROM events e JOIN (VALUES ('utc1', 'UTC'), ('tyo1', 'Asia/Tokyo'),
                             ('nyc1', 'America/New_York'), ('ghost', 'UTC')) z (tn, tz)
    ON z.tn = e.tenant_id
 WHERE e.cost_kind IS NOT NULL GROUP BY 1, 2;
INSERT INTO cost_summaries (tenant_id, day, dimension, key, cost_nusd, billed_nusd, events, final)
SELECT tenant_id, day, dim, key, ev + 1000000 * extract(day FROM day)::bigint,
       ev + 1000000 * extract(day FROM day)::bigint, 1, true
  FROM truth_days, (VALUES ('total', ''), ('model', 'm')) v (dim, key)
 WHERE tenant_id <> 'ghost'
   AND (day <= '2026-03-05' OR (tenant_id = 'utc1' AND day IN ('2026-03-07', '2026-03-08')));
-- An in-day rollup of utc1's open 03-06 (the dashboard may stand it in for the day).
INSERT INTO cost_summaries (tenant_id, day, dimension, key, cost_nusd, billed_nusd, events, final)
VALUES ('utc1', '2026-03-06', 'total', '', 424242, 424242, 1, false);
SQL

# crd1: a rate card and billed costs (the figures of the header). Its 03-03 events are
# also rolled up ('total' and 'kind' rows) with the marker; the other days stay open.
q "$IT_URL" - >/dev/null <<'SQL' || it_die "seeding crd1 failed"
INSERT INTO tenants (tenant_id, tz) VALUES ('crd1', 'Asia/Tokyo');
INSERT INTO rate_cards (tenant_id, version, effective_from, bp, note)
VALUES ('crd1', 1, '2026-03-01 00:00+09', -1500, 'it: 15 % off');
INSERT INTO events (event_id, event_time, tenant_id, event_type, agent_id, cost_nusd, billed_nusd,
                    rate_card_version, cost_kind, ingest_id, seq)
VALUES (gen_random_uuid(), '2026-02-28 23:00+09', 'crd1', 'usage', 'c1', 500000, NULL, NULL, 'usage', 'it', 0),
       (gen_random_uuid(), '2026-03-03 10:00+09', 'crd1', 'usage', 'c1', 1000000, 850000, 1, 'usage', 'it', 0),
       (gen_random_uuid(), '2026-03-03 20:00+09', 'crd1', 'usage', 'c1', 2000001, 1700001, 1, 'usage', 'it', 0),
       (gen_random_uuid(), '2026-03-09 12:00+09', 'crd1', 'usage', 'c1', 3333333, 2833333, 1, 'usage', 'it', 0),
       (gen_random_uuid(), '2026-03-10 09:00+09', 'crd1', 'usage', 'c1', 10000, 8500, 1, 'usage', 'it', 0);
INSERT INTO cost_summaries (tenant_id, day, dimension, key, cost_nusd, billed_nusd, events, final)
VALUES ('crd1', '2026-03-03', 'total', '', 73000001, 72550001, 2, true),
       ('crd1', '2026-03-03', 'kind', 'usage', 73000001, 72550001, 2, true);
SQL

# expected <tenant> <lo> <hi> [inday]: the window's sum by hand, day by day.
expected() {
  q "$IT_URL" "SELECT coalesce(sum(coalesce(s.cost_nusd, ev.ev, 0)), 0)
                 FROM generate_series(date '$2', date '$3', interval '1 day') d
                 LEFT JOIN cost_summaries s ON s.tenant_id = '$1' AND s.day = d::date
                       AND s.dimension = 'total' AND s.key = '' AND (s.final OR ${4:-false})
                 LEFT JOIN (SELECT tn AS tenant_id, (e.event_time AT TIME ZONE
                                   coalesce((SELECT tz FROM tenants WHERE tenant_id = tn), 'UTC'))::date AS day,
                                   sum(e.cost_nusd) AS ev
                              FROM events e, (SELECT '$1'::text AS tn) x
                             WHERE e.tenant_id = tn AND e.cost_kind IS NOT NULL GROUP BY 1, 2) ev
                        ON ev.day = d::date"
}
spend() {
  q "$IT_URL" "SELECT coalesce(sum(cost_nusd), 0) FROM fc_period_spend(ARRAY['$1'], ARRAY[date '$2'],
                                                                   ARRAY[date '$3'], ${4:-false})"
}

for spec in "utc1 2026-02-01 2026-03-10" "tyo1 2026-02-01 2026-03-10" "nyc1 2026-02-01 2026-03-09" \
            "utc1 2026-03-06 2026-03-08" "nyc1 2026-03-08 2026-03-08" "ghost 2026-03-01 2026-03-10" \
            "utc1 2026-02-03 2026-03-09"; do
  read -r t lo hi <<<"$spec"
  expect_eq "fc_period_spend $t $lo..$hi" "$(spend "$t" "$lo" "$hi")" "$(expected "$t" "$lo" "$hi")"
done
expect_eq "an in-day rollup stands for its day with p_inday" \
  "$(spend utc1 2026-03-06 2026-03-06 true)" 424242
expect_eq "... and not without" "$(spend utc1 2026-03-06 2026-03-06)" \
  "$(expected utc1 2026-03-06 2026-03-06)"
expect_eq "per day: closed days from rollups, open days from events" \
  "$(q "$IT_URL" "SELECT string_agg(day || ':' || rollup, ' ' ORDER BY day)
                    FROM fc_period_spend('{utc1}', '{2026-03-04}', '{2026-03-10}')")" \
  "2026-03-04:true 2026-03-05:true 2026-03-06:false 2026-03-07:true 2026-03-08:true 2026-03-09:false 2026-03-10:false"
expect_eq "billed equals list (no rate card)" \
  "$(q "$IT_URL" "SELECT count(*) FROM fc_period_spend('{utc1,tyo1,nyc1}', '{2026-02-01,2026-02-01,2026-02-01}',
                                                        '{2026-03-10,2026-03-10,2026-03-10}')
                   WHERE billed_nusd <> cost_nusd")" 0
# All tenants in one call: the sum of the three.
all=$(q "$IT_URL" "SELECT sum(cost_nusd) FROM fc_period_spend('{utc1,tyo1,nyc1}',
                     '{2026-02-10,2026-02-10,2026-02-10}', '{2026-03-09,2026-03-09,2026-03-09}')")
sum3=$(($(expected utc1 2026-02-10 2026-03-09) + $(expected tyo1 2026-02-10 2026-03-09) +
        $(expected nyc1 2026-02-10 2026-03-09)))
expect_eq "three tenants in one call" "$all" "$sum3"

# Rollups through cost_months (February is mostly in range: month row minus 02-01..02-02).
expect_eq "fc_spend_rollups: month minus days = daily rows" \
  "$(q "$IT_URL" "SELECT dimension || '=' || cost_nusd FROM fc_spend_rollups('{utc1}', '{2026-02-03}',
                     '{2026-03-09}') ORDER BY 1")" \
  "$(q "$IT_URL" "SELECT dimension || '=' || sum(cost_nusd) FROM cost_summaries WHERE tenant_id = 'utc1'
                     AND final AND day BETWEEN '2026-02-03' AND '2026-03-09' GROUP BY dimension ORDER BY 1")"

# The alerter's and `budget check`'s figures.
for t in utc1 tyo1 nyc1 ghost; do
  row=$(q "$IT_URL" "SELECT day, month, day_nusd, month_nusd, day_billed_nusd = day_nusd
                            AND month_billed_nusd = month_nusd
                       FROM fc_tenant_spend('$t', '$NOW')")
  IFS='|' read -r day month dn mn billed <<<"$row"
  expect_eq "fc_tenant_spend $t: today" "$dn" "$(expected "$t" "$day" "$day")"
  expect_eq "fc_tenant_spend $t: month to date ($month)" "$mn" "$(expected "$t" "$month-01" "$day")"
  expect_eq "fc_tenant_spend $t: billed = list" "$billed" t
done
expect_eq "New York's today at 03:30 UTC is the 9th" \
  "$(q "$IT_URL" "SELECT day FROM fc_tenant_spend('nyc1', '$NOW')")" 2026-03-09

# Billed differs from list: crd1's figures by hand (header).
expect_eq "fc_period_spend crd1 02-28..03-10: list and billed by hand" \
  "$(q "$IT_URL" "SELECT sum(cost_nusd) || ' ' || sum(billed_nusd) FROM fc_period_spend('{crd1}',
                    '{2026-02-28}', '{2026-03-10}')")" "76843334 75891834"
expect_eq "... per day: the closed 03-03 from its rollup, the open days from events" \
  "$(q "$IT_URL" "SELECT string_agg(day || ':' || rollup || ':' || billed_nusd, ' ' ORDER BY day)
                    FROM fc_period_spend('{crd1}', '{2026-02-28}', '{2026-03-10}')")" \
  "2026-02-28:false:500000 2026-03-03:true:72550001 2026-03-09:false:2833333 2026-03-10:false:8500"
expect_eq "fc_tenant_spend crd1: today and month to date, list and billed" \
  "$(q "$IT_URL" "SELECT day_nusd || ' ' || day_billed_nusd || ' ' || month_nusd || ' ' || month_billed_nusd
                    FROM fc_tenant_spend('crd1', '$NOW')")" "10000 8500 76343334 75391834"
expect_eq "fc_period_spend_kinds crd1: the same per cost kind" \
  "$(q "$IT_URL" "SELECT string_agg(cost_kind || ':' || cost_nusd || ':' || billed_nusd || ':' || events, ' ')
                    FROM fc_period_spend_kinds('{crd1}', '{2026-02-28}', '{2026-03-10}')")" \
  "usage:76843334:75891834:5"

# The report engine reads the same source.
for t in utc1 nyc1; do
  out=$("$fleetcost" report --pg-url "$IT_URL" --tenant "$t" --from 2026-02-03 --to 2026-03-09 \
          --format json --clock "2026-03-10T03:30:00Z" 2>&1)
  total=$(python3 -c 'import json, sys; print(json.load(sys.stdin)["summary"]["cost_nusd"])' <<<"$out" 2>/dev/null)
  expect_eq "fleetcost report $t: total" "$total" "$(expected "$t" 2026-02-03 2026-03-09)"
done
it_done
