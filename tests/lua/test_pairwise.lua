-- Pairwise judges with position swap: the answer ladder, the prompt both
-- ways round, the test server's position-biased judge (with swap every row
-- is inconsistent), a length judge (consistent, winners mapped back to the
-- original columns), aggregates, runs show, and evalua.compare with
-- Bradley-Terry strengths for three models.
local h = require "helper"
local evalua = require "evalua"
local genai = evalua.metrics.genai
local pairwise = require "evalua.metrics.pairwise"
local models = require "evalua.models"

local db = h.tmpdir() .. "/evalua.db"
require("evalua.config").store_path = db
require("evalua.config").quiet = true

h.case("answer ladder", function()
  local cases = {
    { '{"winner": "A", "justification": "clearer"}', "A", "clearer" },
    { '```json\n{"Winner": "tie", "Justification": "same"}\n```', "tie", "same" },
    { 'Sure. {"winner": "B", "justification": "x"} hope it helps', "B", "x" },
    { "winner: B\njustification: more complete", "B", "more complete" },
    { "**Winner:** A\nJustification: shorter and right", "A", "shorter and right" },
    { "Winner: Output B\nJustification: ok", "B", "ok" },
  }
  for _, c in ipairs(cases) do
    local w, j = pairwise.parse_answer(c[1])
    h.eq(w, c[2], c[1])
    h.eq(j, c[3], c[1])
  end
  for _, bad in ipairs({ "", "I like A", '{"winner": "C", "justification": "x"}', "winner: both\njustification: x" }) do
    local w, j = pairwise.parse_answer(bad)
    h.eq(w, nil, bad)
    assert(j:find("failed", 1, true), j)
  end
end)

local function data(n)
  local q, a, b = {}, {}, {}
  for i = 1, n do
    q[i] = "question " .. i
    a[i] = "short " .. i
    b[i] = "a much longer answer " .. i
    if i % 3 == 0 then a[i], b[i] = b[i], a[i] end -- the longer one is A on every third row
  end
  return evalua.table.from({ inputs = q, output_a = a, output_b = b }, { columns = { "inputs", "output_a", "output_b" } })
end

h.case("swap: the judge sees both orders; verdicts mapped back", function()
  local prompts = {}
  local m = genai.make_pairwise_metric{ name = "pref", definition = "Better answer.", grading_prompt = "Prefer correct.",
    model = function(p)
      prompts[#prompts + 1] = p
      return #prompts == 1 and "winner: A\njustification: first" or "winner: B\njustification: second"
    end }
  local r = evalua.evaluate{ data = evalua.table.from({ inputs = { "q" }, output_a = { "x" }, output_b = { "y" } }),
    predictions = "output_a", extra_metrics = { m } }
  h.eq(#prompts, 2, "two requests")
  assert(prompts[1]:find("Output A:\nx\n(end of output A)", 1, true), prompts[1])
  assert(prompts[2]:find("Output A:\ny\n(end of output A)", 1, true), prompts[2])
  assert(prompts[1]:find("Input:\nq", 1, true))
  -- A first, then B with the outputs swapped = the original A both times
  local t = r.tables.eval_results_table
  h.eq(t:column("pref/v1/winner")[1], "A", "winner")
  h.eq(t:column("pref/v1/consistent")[1], 1, "consistent")
  h.eq(r.metrics["pref/v1/win_rate_a"], 1, "win_rate_a")
  h.eq(r.metrics["pref/v1/consistency"], 1, "consistency")
  assert(t:column("pref/v1/justification")[1]:find("A first: first | B first: second", 1, true))
end)

h.case("prompt: examples, grading context, literal braces; failures", function()
  local seen
  local m = genai.make_pairwise_metric{ name = "faithful", definition = "Sticks to {the} context.",
    grading_prompt = "Prefer answers supported by the context.", grading_context_columns = { "context" },
    examples = { { input = "Capital?", output_a = "Paris", output_b = "Lyon", winner = "A", justification = "Paris is right." } },
    model = function(p) seen = p return '{"winner": "tie", "justification": "same"}' end, swap = false }
  local r = evalua.evaluate{ data = evalua.table.from({ inputs = { "q {x}" }, output_a = { "a" }, output_b = { "b" },
    context = { "ctx {y}" } }), predictions = "output_a", extra_metrics = { m } }
  assert(seen:find("Example first output:\nParis\nExample second output:\nLyon\nExample winner: first", 1, true), seen)
  assert(seen:find("Additional information, context:\nctx {y}", 1, true), seen)
  assert(seen:find("Sticks to {the} context.", 1, true), seen)
  assert(seen:find("Input:\nq {x}", 1, true), seen)
  -- examples come before the row, so the row's outputs are the last ones marked
  assert(seen:find("Example", 1, true) < seen:find("Output A:\na\n(end of output A)", 1, true))
  h.eq(r.tables.eval_results_table:column("faithful/v1/winner")[1], "tie")
  -- a missing grading-context value fails the row without a request
  seen = nil
  local r2 = evalua.evaluate{ data = evalua.table.from({ inputs = { "q" }, output_a = { "a" }, output_b = { "b" },
    context = { n = 1 } }, { columns = { "inputs", "output_a", "output_b", "context" } }),
    predictions = "output_a", extra_metrics = { m } }
  h.eq(seen, nil, "no request")
  h.eq(r2.metrics["faithful/v1/failures"], 1)
  h.raises("make_pairwise_metric: field 'proxy_url' must be a string, got number", genai.make_pairwise_metric,
    { name = "x", definition = "d", grading_prompt = "g", proxy_url = 8080 })
  h.raises("make_pairwise_metric: field 'extra_headers' must be a table, got string", genai.make_pairwise_metric,
    { name = "x", definition = "d", grading_prompt = "g", extra_headers = "X-A: 1" })
  h.raises("examples[1].winner must be 'A', 'B' or 'tie'", genai.make_pairwise_metric, { name = "x",
    definition = "d", grading_prompt = "g", examples = { { output_a = "a", output_b = "b", winner = "a", justification = "j" } } })
  -- an unreadable verdict is a recorded failure that keeps the raw answer
  local bad = genai.make_pairwise_metric{ name = "p", definition = "d", grading_prompt = "g",
    model = function() return "I prefer the first" end }
  local r3 = evalua.evaluate{ data = evalua.table.from({ inputs = { "q" }, output_a = { "a" }, output_b = { "b" } }),
    predictions = "output_a", extra_metrics = { bad } }
  h.eq(r3.metrics["p/v1/failures"], 1)
  assert(r3.tables.eval_results_table:column("p/v1/justification")[1]:find("raw answer: I prefer the first", 1, true))
end)

local ts_first = require("testserver").start{ pairwise = "first" }
local ts_longer = require("testserver").start{ pairwise = "longer" }
models.register_endpoint("biased", { base_url = ts_first.url .. "/v1", model = "biased-judge" })
models.register_endpoint("fair", { base_url = ts_longer.url .. "/v1", model = "fair-judge" })

local function pref(model, swap)
  return genai.make_pairwise_metric{ name = "pref", definition = "Which answer is better.",
    grading_prompt = "Prefer the complete answer.", model = model, swap = swap,
    parameters = { temperature = 0 } }
end

h.case("a judge that always answers A: with swap every row is inconsistent", function()
  local N = 12
  ts_first:reset()
  local r = evalua.evaluate{ data = data(N), predictions = "output_a", extra_metrics = { pref("endpoints:/biased") } }
  h.eq(ts_first:stats().requests, 2 * N, "two requests per row")
  local t = r.tables.eval_results_table
  for i = 1, N do
    h.eq(t:column("pref/v1/winner")[i], "tie", "row " .. i .. " winner")
    h.eq(t:column("pref/v1/consistent")[i], 0, "row " .. i .. " consistent")
  end
  h.eq(r.metrics["pref/v1/consistency"], 0, "consistency")
  h.eq(r.metrics["pref/v1/tie_rate"], 1, "tie_rate")
  h.eq(r.metrics["pref/v1/win_rate_a"], 0, "win_rate_a")
  -- without swap the bias goes unseen: A wins everything
  local r2 = evalua.evaluate{ data = data(N), predictions = "output_a", extra_metrics = { pref("endpoints:/biased", false) } }
  h.eq(r2.metrics["pref/v1/win_rate_a"], 1, "no swap: A always wins")
  h.eq(r2.metrics["pref/v1/consistency"], nil, "no consistency without swap")
end)

h.case("a position-blind judge: consistent, winners in the original columns", function()
  local N = 9
  local r = evalua.evaluate{ data = data(N), predictions = "output_a", extra_metrics = { pref("endpoints:/fair") } }
  local t = r.tables.eval_results_table
  for i = 1, N do
    h.eq(t:column("pref/v1/winner")[i], i % 3 == 0 and "A" or "B", "row " .. i)
    h.eq(t:column("pref/v1/consistent")[i], 1, "row " .. i .. " consistent")
  end
  h.near(r.metrics["pref/v1/win_rate_a"], 3 / 9, 1e-12, "win_rate_a")
  h.near(r.metrics["pref/v1/win_rate_b"], 6 / 9, 1e-12, "win_rate_b")
  h.eq(r.metrics["pref/v1/consistency"], 1, "consistency")
  h.eq(r.metrics["pref/v1/failures"], 0, "failures")
  -- runs show: rates with intervals
  local code, out = h.evalua({ "--store", db, "runs", "show", r.run_id })
  h.eq(code, 0, "runs show")
  assert(out:find("pairwise\n  pref/v1 (9 rows judged", 1, true), out)
  assert(out:find("win_rate_b%s+0%.6667  %[0%.%d+, 1%]"), out)
end)

h.case("Bradley-Terry: hand-checkable fits", function()
  local cmp = require "evalua.compare"
  -- two players, 3 wins to 1, prior 0.5: (3.5 / 1.5) = pi1/pi2 at the MM fixed point
  -- with the virtual player; check the ordering and symmetry instead of a closed form
  local s = cmp.bradley_terry(2, { { 1, 2, 1 }, { 1, 2, 1 }, { 1, 2, 1 }, { 1, 2, 0 } })
  assert(s[1] > 0 and s[2] < 0, "winner first")
  h.near(s[1] + s[2], 0, 1e-9, "centred")
  -- equal records: equal strengths
  local e = cmp.bradley_terry(3, { { 1, 2, 1 }, { 2, 3, 1 }, { 3, 1, 1 } })
  h.near(e[1], e[2], 1e-9) h.near(e[2], e[3], 1e-9)
  -- no prior, a clear order with known MLE: p1 beats p2 2:1, p2 beats p3 2:1, p1 beats p3 2:1
  local o = {}
  for _, x in ipairs({ { 1, 2 }, { 2, 3 }, { 1, 3 } }) do
    o[#o + 1] = { x[1], x[2], 1 } o[#o + 1] = { x[1], x[2], 1 } o[#o + 1] = { x[1], x[2], 0 }
  end
  local f = cmp.bradley_terry(3, o, { prior = 1e-12, iterations = 5000 })
  -- the MLE satisfies: wins_i = sum_j n_ij * pi_i / (pi_i + pi_j)
  local pi = { math.exp(f[1]), math.exp(f[2]), math.exp(f[3]) }
  local wins = { 4, 3, 2 }
  for i = 1, 3 do
    local expct = 0
    for j = 1, 3 do if j ~= i then expct = expct + 3 * pi[i] / (pi[i] + pi[j]) end end
    h.near(expct, wins[i], 1e-6, "score equation " .. i)
  end
end)

h.case("compare: three models, all pairs, Bradley-Terry with intervals", function()
  local function model_of(len)
    return function(inputs)
      return inputs:map(function(row) return string.rep("x", len) .. " " .. row.inputs end)
    end
  end
  local N = 10
  local q = {}
  for i = 1, N do q[i] = "q" .. i end
  local res = evalua.compare{ models = { small = model_of(1), mid = model_of(10), big = model_of(30) },
    data = evalua.table.from({ inputs = q }), metrics = { pref("endpoints:/fair") }, resamples = 200 }
  h.same(res.models, { "big", "mid", "small" })
  local t = res.tables.eval_results_table
  h.eq(#t, 3 * N, "one row per data row and pair")
  -- the longer output always wins (the fair judge), consistently
  h.eq(res.metrics["pref/v1/consistency"], 1, "consistency")
  local st = res.strengths["pref/v1"]
  h.eq(st[1].name, "big") h.eq(st[2].name, "mid") h.eq(st[3].name, "small")
  h.eq(st[1].wins, 2 * N, "big wins all")
  h.eq(st[3].losses, 2 * N, "small loses all")
  assert(st[1].lo and st[1].lo <= st[1].strength and st[1].strength <= st[1].hi,
    string.format("interval %s [%s, %s]", st[1].strength, st[1].lo, st[1].hi))
  assert(st[1].lo > st[2].hi, "a clear order has separated intervals")
  h.eq(res.metrics["pref/v1/strength/big"], st[1].strength)
  local code, out = h.evalua({ "--store", db, "runs", "show", res.run_id })
  h.eq(code, 0)
  assert(out:find("Bradley-Terry strengths", 1, true), out)
  local html = h.tmpdir() .. "/r.html"
  code = h.evalua({ "--store", db, "report", res.run_id, "-o", html })
  h.eq(code, 0, "report")
  local page = h.read(html)
  assert(page:find("<h2>Pairwise verdicts</h2>", 1, true) and page:find("Bradley-Terry strengths", 1, true), "report section")
  h.raises("needs at least two models", evalua.compare, { models = { a = model_of(1) }, data = { inputs = q },
    metrics = { pref("endpoints:/fair") } })
  h.raises("is not a pairwise metric", evalua.compare, { models = { a = model_of(1), b = model_of(2) },
    data = { inputs = q }, metrics = { genai.make_genai_metric{ name = "x", definition = "d", grading_prompt = "g" } } })
end)

h.done()
