-- Comparing runs: the seeded generator, the paired bootstrap against
-- hand-computed cases, row pairing, flips, regressions and the CI gates
-- (in process and through the evalua binary's exit code).
local h = require "helper"
local config = require "evalua.config"
local tracking = require "evalua.tracking"
local stats = require "evalua.stats"
local gates = require "evalua.gates"
local store = require "evalua.store"

local function fresh_store()
  tracking.close()
  config.store_path = h.tmpdir() .. "/cmp.db"
  return config.store_path
end

-- a finished run with an eval_results_table of inputs + score columns
local function make_run(name, inputs, cols, metrics, gib, data_hash)
  local run = tracking.start_run{ run_name = name }
  local names = { "inputs" }
  local data = {}
  for i, x in ipairs(inputs) do data[i] = { x } end
  for _, c in ipairs(cols) do
    names[#names + 1] = c[1]
    for i = 1, #inputs do data[i][#names] = c[2][i] end
  end
  run:log_table("eval_results_table", { columns = names, data = data })
  run:log_metrics(metrics, gib)
  if data_hash then
    tracking.close() -- set through the store as evaluate would
    require("evalua.store").open(config.store_path):run("UPDATE runs SET data_hash = ? WHERE id = ?", data_hash, run.id)
  end
  run:finish()
  return run.id
end

local function mean(t)
  local s, n = 0, 0
  for _, v in ipairs(t) do if v then s, n = s + v, n + 1 end end
  return s / n
end

h.case("splitmix64 gives the reference stream", function()
  h.same(store.splitmix64(0, 3), { 0xe220a8397b1dcdaf, 0x6e789e6aa1b965f4, 0x06c45d188009454f }, "seed 0")
  local a, b = store.splitmix64(42, 5), store.splitmix64(42, 5)
  h.same(a, b, "same seed, same stream")
end)

h.case("paired bootstrap: hand-computed cases", function()
  -- all differences equal: the interval is the point
  local r = stats.paired_bootstrap({ 0.25, 0.25, 0.25, 0.25, 0.25 })
  h.eq(r.mean, 0.25, "mean") h.eq(r.lo, 0.25, "lo") h.eq(r.hi, 0.25, "hi") h.eq(r.n, 5, "n")
  -- B = 5, seed 42 over {1, 0, -1, 2}: resampled means -0.25, 0, 0.25, 0.5,
  -- 0.75, so the 2.5% and 97.5% points interpolate at 0.1 and 3.9
  r = stats.paired_bootstrap({ 1, 0, -1, 2 }, { resamples = 5, seed = 42 })
  h.near(r.mean, 0.5, 1e-15, "mean")
  h.near(r.lo, -0.225, 1e-12, "lo")
  h.near(r.hi, 0.725, 1e-12, "hi")
  -- the default B = 2000, seed 42
  r = stats.paired_bootstrap({ 1, 0, 0, 1, 1, 2, 0, 1, 1, 1 })
  h.near(r.mean, 0.8, 1e-15, "mean")
  h.near(r.lo, 0.4, 1e-12, "lo")
  h.near(r.hi, 1.2, 1e-12, "hi")
  -- a 50% interval is inside the 95% one
  local half = stats.paired_bootstrap({ 1, 0, 0, 1, 1, 2, 0, 1, 1, 1 }, { level = 0.5 })
  assert(half.lo > r.lo and half.hi < r.hi, "narrower")
  h.eq(stats.paired_bootstrap({}), nil, "empty")
  h.raises("paired_bootstrap: value 2 is not a number", store.paired_bootstrap, { 1, "x" }, 10, 1, 0.95)
end)

h.case("compare: metric table, paired interval, flips, pairing by inputs", function()
  fresh_store()
  local inputs = { "q1", "q2", "q3", "q4", "q5", "q6" }
  local sa = { 4, 4, 3, 5, 2, 4 }
  local sb = { 5, 5, 4, 4, 3, 5 } -- +1 on five rows, -1 on one
  local ta = { 10, 11, 12, 13, 14, 15 }
  local tb = { 12, 13, 14, 15, 16, 17 } -- +2 on every row
  local a = make_run("A", inputs, { { "token_count", ta }, { "judge/v1/score", sa } },
    { ["judge/v1/mean"] = mean(sa), ["judge/v1/failures"] = 0, exact = 0.5 }, { ["judge/v1"] = true })
  -- B has the same rows in another order and other data: paired by inputs
  local order = { 6, 5, 4, 3, 2, 1 }
  local ib, sbb, tbb = {}, {}, {}
  for k, i in ipairs(order) do ib[k], sbb[k], tbb[k] = inputs[i], sb[i], tb[i] end
  local b = make_run("B", ib, { { "token_count", tbb }, { "judge/v1/score", sbb } },
    { ["judge/v1/mean"] = mean(sb), ["judge/v1/failures"] = 1, exact = 0.75 }, { ["judge/v1"] = true })
  local cmp = assert(stats.compare({ "A", "B" }))
  h.eq(cmp.runs[1].id, a, "baseline first") h.eq(cmp.runs[2].id, b, "second")
  h.eq(cmp.pairing[2].method, "by inputs", "pairing") h.eq(cmp.pairing[2].n, 6, "paired rows")
  local by = {}
  for _, m in ipairs(cmp.metrics) do by[m.key] = m end
  h.near(by["judge/v1/mean"].diffs[2], 4 / 6, 1e-12, "mean difference")
  local ci = by["judge/v1/mean"].ci[2]
  h.near(ci.mean, 4 / 6, 1e-12, "paired mean difference")
  assert(ci.lo < ci.mean and ci.hi > ci.mean, "interval around the mean")
  assert(ci.lo >= -1 and ci.hi <= 1, "interval within the range of differences")
  h.eq(by["judge/v1/mean"].column, "judge/v1/score", "row column")
  h.eq(by["judge/v1/mean"].greater_is_better, true, "direction")
  h.eq(by.exact.ci[2], nil, "no per-row column, no interval")
  h.near(by.exact.diffs[2], 0.25, 1e-15, "plain difference")
  local tc = by["token_count (row mean)"]
  h.near(tc.values[1], 12.5, 1e-12, "row mean A") h.near(tc.values[2], 14.5, 1e-12, "row mean B")
  h.eq(tc.ci[2].lo, 2, "constant difference: point interval") h.eq(tc.ci[2].hi, 2, "hi")
  local f = cmp.flips[2][1]
  h.eq(f.column, "judge/v1/score", "flip column")
  h.eq(f.up, 5, "up") h.eq(f.down, 1, "down") h.eq(f.same, 0, "same")
  h.eq(f.better, 5, "better") h.eq(f.worse, 1, "worse")
  h.eq(f.rows[4].input, "q4", "flipped row input") h.eq(f.rows[4].a, 5, "a") h.eq(f.rows[4].b, 4, "b")
  h.eq(f.rows[4].row_b, 3, "row in B")
  -- reproducible
  local again = stats.compare({ "A", "B" })
  h.eq(again.metrics[2].ci[2] and again.metrics[2].ci[2].lo, cmp.metrics[2].ci[2] and cmp.metrics[2].ci[2].lo, "same output")
  local _, err = stats.compare({ "A", "nope" })
  assert(err:find("no run matches 'nope'", 1, true), err)
  _, err = stats.compare({ "A" })
  h.eq(err, "compare needs at least two runs", "one run")
end)

h.case("regressions: interval must exclude zero the bad way, beyond min_effect", function()
  fresh_store()
  local inputs = { "a", "b", "c", "d", "e", "f", "g", "h" }
  local base = { 5, 5, 4, 5, 4, 5, 4, 5 }
  local worse = { 3, 3, 2, 4, 2, 3, 2, 3 }  -- -2 or -1 everywhere
  local noisy = { 5, 4, 4, 5, 5, 5, 3, 5 }  -- +-1 here and there
  local tox_b = { 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1 }
  local tox_w = { 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3 }
  local gib = { ["judge/v1"] = true, ["tox/v1"] = false }
  make_run("base", inputs, { { "judge/v1/score", base }, { "tox/v1/score", tox_b } },
    { ["judge/v1/mean"] = mean(base), ["tox/v1/mean"] = 0.1 }, gib, "d1")
  make_run("worse", inputs, { { "judge/v1/score", worse }, { "tox/v1/score", tox_w } },
    { ["judge/v1/mean"] = mean(worse), ["tox/v1/mean"] = 0.3 }, gib, "d1")
  make_run("noisy", inputs, { { "judge/v1/score", noisy }, { "tox/v1/score", tox_b } },
    { ["judge/v1/mean"] = mean(noisy), ["tox/v1/mean"] = 0.1 }, gib, "d1")
  local cmp = stats.compare({ "base", "worse", "noisy" })
  h.eq(cmp.pairing[2].method, "by row number", "same data: row number")
  local reg = stats.regressions(cmp, 2, 0)
  h.eq(#reg, 2, "two regressions")
  h.eq(reg[1].key, "judge/v1/mean", "judge regressed")
  h.eq(reg[2].key, "tox/v1/mean", "toxicity went up: lower is better")
  h.eq(#stats.regressions(cmp, 3, 0), 0, "noise: the interval covers zero")
  h.eq(#stats.regressions(cmp, 2, 2), 0, "effects under min_effect do not count")
  h.eq(#stats.regressions(cmp, 2, 0.1), 2, "tox 0.2 > 0.1, judge 1.875 > 0.1")
  h.eq(#stats.regressions(cmp, 2, 0.5), 1, "tox 0.2 < 0.5")
  -- improvements are not regressions
  local rev = stats.compare({ "worse", "base" })
  h.eq(#stats.regressions(rev, 2, 0), 0, "improvement")
  local msgs = gates.regression_messages(cmp, 2, 0)
  assert(msgs[1]:find("^judge/v1/mean regressed: 4%.625 %-> 2%.75 %(difference %-1%.875, 95%% CI %[%-"), msgs[1])
  assert(msgs[1]:find("over 8 rows%) against base %(%x+%)$"), msgs[1])
end)

h.case("compare runs without per-row tables: values and differences only", function()
  fresh_store()
  for _, x in ipairs({ { "p", 0.5 }, { "q", 0.75 } }) do
    local run = tracking.start_run{ run_name = x[1] }
    run:log_metrics({ acc = x[2], only_here = 1 }, true)
    run:finish()
  end
  local cmp = assert(stats.compare({ "p", "q" }))
  h.eq(cmp.pairing[2], nil, "nothing paired")
  h.eq(#cmp.flips[2], 0, "no flips")
  h.eq(#cmp.metrics, 2, "both metrics")
  h.eq(cmp.metrics[1].key, "acc", "sorted")
  h.near(cmp.metrics[1].diffs[2], 0.25, 1e-15, "difference")
  h.eq(cmp.metrics[1].ci[2], nil, "no interval")
  h.eq(#stats.regressions(cmp, 2, 0), 0, "no interval, no regression")
  local text = require("evalua.cli.runs").compare_text(cmp)
  assert(text:find("paired rows B-A: none (a run has no per-row table)", 1, true), text)
  assert(text:find("\nacc%s+0%.5%s+0%.75%s+%+0%.25%s+%-\n"), text)
end)

h.case("fail_under messages", function()
  local m = { ["cultural_sensitivity/v1/mean"] = 3.25, acc = 0.9, nanm = 0 / 0 }
  h.same(gates.check_fail_under(m, { { "cultural_sensitivity/v1/mean", 4 } }),
    { "cultural_sensitivity/v1/mean = 3.25 < 4" }, "below")
  h.same(gates.check_fail_under(m, { { "acc", 0.9 } }), {}, "equal passes")
  h.same(gates.check_fail_under(m, { { "nanm", 1 } }), { "nanm = nan (no row was scored) < 1" }, "nan fails")
  h.same(gates.check_fail_under(m, { { "cultural_sensitivity", 1 } }, "r1 (abc)"),
    { "cultural_sensitivity: no such metric in run r1 (abc) (did you mean cultural_sensitivity/v1/mean?)" }, "missing")
end)

local gate_script = [[
local evalua = require "evalua"
local name, scores = arg[1], {}
for x in arg[2]:gmatch("%d+") do scores[#scores + 1] = tonumber(x) end
local rows, s = {}, 0
for i, v in ipairs(scores) do rows[i] = { inputs = "q" .. i, ["judge/v1/score"] = v } s = s + v end
local run <close> = evalua.start_run{ run_name = name }
run:log_table("eval_results_table", { columns = { "inputs", "judge/v1/score" }, data = (function()
  local d = {} for i, r in ipairs(rows) do d[i] = { r.inputs, r["judge/v1/score"] } end return d end)() })
run:log_metrics({ ["judge/v1/mean"] = s / #scores, acc = 0.5 }, { ["judge/v1"] = true })
]]

h.case("gates at the end of a script set exit 1 and name the metric", function()
  local d = h.tmpdir()
  local db = d .. "/g.db"
  local s = h.write(d .. "/g.lua", gate_script)
  local code, _, err = h.evalua({ "--store", db, "--fail-under", "acc=0.9", s, "base", "5 5 4 5 4 5 4 5" })
  h.eq(code, 1, "exit")
  h.eq(err, "evalua: gate failed: acc = 0.5 < 0.9\n", "stderr")
  code, _, err = h.evalua({ "--store", db, "--fail-under", "acc=0.5", "--fail-under", "judge/v1/mean=4", s, "ok", "5 5 4 5" })
  h.eq(code, 0, "passing gates") h.eq(err, "", "quiet")
  code, _, err = h.evalua({ "--store", db, "--fail-on-regression", "base", s, "worse", "3 3 2 4 2 3 2 3" })
  h.eq(code, 1, "regression exit")
  assert(err:find("^evalua: gate failed: judge/v1/mean regressed: 4%.625 %-> 2%.75 %(difference %-1%.875"), err)
  code, _, err = h.evalua({ "--store", db, "--fail-on-regression", "base", "--min-effect", "2", s, "worse2", "3 3 2 4 2 3 2 3" })
  h.eq(code, 0, "under min effect") h.eq(err, "", "no message")
  code, _, err = h.evalua({ "--store", db, "--fail-on-regression", "base", s, "same", "5 5 4 5 4 5 4 5" })
  h.eq(code, 0, "no regression")
  code, _, err = h.evalua({ "--store", db, "--fail-on-regression", "nosuch", s, "x", "5" })
  h.eq(code, 1, "unknown baseline")
  assert(err:find("evalua: gate failed: --fail-on-regression: no run matches 'nosuch'", 1, true), err)
  code, _, err = h.evalua({ "--store", db, "--fail-under", "acc=1", "-e", "require 'evalua.tracking'" })
  h.eq(code, 1, "no run")
  h.eq(err, "evalua: gate failed: no run was recorded by this script, so no metric can be checked\n", "no run message")
  -- a failing script exits 1 on its own; gates stay quiet
  code, _, err = h.evalua({ "--store", db, "--fail-under", "acc=1", "-e", "require('evalua').log_metric('acc', 0) error('boom')" })
  h.eq(code, 1, "script error")
  assert(not err:find("gate failed", 1, true), err)
end)

h.done()
