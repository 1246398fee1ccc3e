-- 0020: a rollup row must say what it billed.
--
-- 0016 gave cost_summaries.billed_nusd and cost_months.billed_nusd a default of 0. A
-- writer that forgets the column (a hand-written seed, a restore script, a future
-- rollup statement) then stores a day that looks billed at nothing: a 100 % discount
-- that every billed view (reports, budgets, FOCUS, the bill) would show without
-- complaint. Without the default the same INSERT fails with a NOT NULL violation, which
-- names the column. cost_months is written by fc_cost_months_apply, which always
-- carries billed_nusd from the summaries; it loses the default for the same reason.
ALTER TABLE cost_summaries ALTER COLUMN billed_nusd DROP DEFAULT;
ALTER TABLE cost_months ALTER COLUMN billed_nusd DROP DEFAULT;
