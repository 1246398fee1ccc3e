#!/usr/bin/env bash
# it_period_spend: the one definition of a period's spend (migration 0017, issue #16)
# against sums written out by hand, in three time zones around a DST change:
#  - fc_period_spend gives each tenant-day from its final 'total' rollup when there is
#    one (even after an open day: a rebuilt day), else from the events of that local day;
#  - with p_inday an in-day rollup stands for its day;
#  - fc_spend_rollups (month rows minus days) equals the daily rows it stands for;
#  - fc_tenant_spend (alerter, `budget check`) gives today and the month to date from the
#    same source, billed equal to list;
#  - `fleetcost report` over the same days reports the same total.
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

# The report engine reads the same source.
for t in utc1 nyc1; do
  out=$("$fleetcost" report --pg-url "$IT_URL" --tenant "$t" --from 2026-02-03 --to 2026-03-09 \
          --format json --clock "2026-03-10T03:30:00Z" 2>&1)
  total=$(python3 -c 'import json, sys; print(json.load(sys.stdin)["summary"]["cost_nusd"])' <<<"$out" 2>/dev/null)
  expect_eq "fleetcost report $t: total" "$total" "$(expected "$t" 2026-02-03 2026-03-09)"
done
it_done
