-- evalua report: the HTML page of a run and of two runs compared, from a real
-- run store; escaping; the comparison statistics; the page in headless
-- Chromium (loads without console errors, rows, filter, sort, inert markup).
local h = require "helper"
local report = require "evalua.report"

local dir = h.tmpdir()
local db = dir .. "/runs.db"
local N = 40

-- Two runs of the same 40 rows. Row 3's output is a script, row 4's an image
-- with an onerror handler. Run B changes the judge score of every 4th row and
-- adds 0.01 to every toxicity score.
local FIXTURE = [[
local evalua = require "evalua"
local N = ...
N = tonumber(N)
local function mk(name, b)
  evalua.set_experiment("report-test")
  local run <close> = evalua.start_run{ run_name = name }
  evalua.log_param("model", name)
  evalua.log_param("temperature", 0)
  local data, fs, tx = {}, 0, 0
  for i = 1, N do
    local f = ((i * 7) % 5) + 1
    if b and i % 4 == 0 then f = f % 5 + 1 end
    local t = ((i * 37) % 100) / 1000 + (b and 0.01 or 0)
    local out = "answer " .. i
    if i == 3 then out = "<script>document.title='pwned'</script>" end
    if i == 4 then out = "<img src=x onerror=\"document.body.setAttribute('data-pwned','1')\">" end
    data[i] = { "question " .. i .. " & more", out, f, "because " .. i, t, 10 + i }
    fs, tx = fs + f, tx + t
  end
  evalua.log_table("eval_results_table", { columns = { "inputs", "outputs", "faithfulness/v1/score",
    "faithfulness/v1/justification", "toxicity/v1/score", "token_count" }, data = data })
  evalua.log_metric("faithfulness/v1/mean", fs / N, { greater_is_better = true })
  evalua.log_metric("toxicity/v1/mean", tx / N, { greater_is_better = false })
  print(run.id)
end
mk("gpt-a", false)
mk("gpt-b", true)
]]

local script = h.write(dir .. "/fixture.lua", FIXTURE)
local code, out, err = h.evalua({ "--store", db, script, tostring(N) })
assert(code == 0, "fixture failed: " .. err)
local id_a, id_b = out:match("^(%x+)\n(%x+)\n$")
assert(id_a and id_b, "fixture ids: " .. out)

local function between(s, from, to)
  local i = s:find(from, 1, true)
  if not i then return nil end
  local j = s:find(to, i, true)
  return s:sub(i, j and j + #to - 1 or #s)
end

local function count(s, pat)
  local n = 0
  for _ in s:gmatch(pat) do n = n + 1 end
  return n
end

local run_html, cmp_html

-- a plain run description, as the store's reading API gives it
local function run(id, metrics, gib, scores, n)
  n = n or #scores
  local col = { n = n }
  for i = 1, n do col[i] = scores[i] end
  return { info = { id = id, name = id }, params = {}, metrics = metrics, greater_is_better = gib,
    table = { names = { "m/v1/score" }, columns = { ["m/v1/score"] = col }, n_rows = n } }
end


h.case("report RUN writes one self-contained page", function()
  local f = dir .. "/run.html"
  local c, _, e = h.evalua({ "--store", db, "report", id_a:sub(1, 10), "-o", f })
  h.eq(c, 0, "exit: " .. e)
  local s = assert(h.read(f), "no report written")
  run_html = s
  assert(s:find("^<!DOCTYPE html>"), "doctype")
  assert(s:find("<title>evalua run gpt-a</title>", 1, true), "title")
  -- nothing is fetched: no external src/href, and a CSP that forbids it
  assert(not s:find('src="http', 1, true) and not s:find('href="http', 1, true), "external reference")
  assert(s:find("default-src 'none'", 1, true), "CSP")
  -- the metrics, the params, the charts as inline SVG with distinct ids
  assert(s:find("faithfulness/v1/mean", 1, true) and s:find("toxicity/v1/mean", 1, true), "metrics")
  assert(s:find('<td><div class="full">gpt-a</div></td>', 1, true), "param value")
  h.eq(count(s, "<svg role=\"img\""), 2, "inline charts (gauges, histograms)")
  assert(s:find('id="c1-glyph', 1, true) and s:find('id="c2-glyph', 1, true), "per-chart glyph ids")
  assert(not s:find('id="glyph', 1, true), "an unprefixed id")
  -- the rows: one group per row, a summary line (input, output, score chips)
  -- and the details (input, output, each judge's score and justification)
  local rows = between(s, '<table class="rowtable no-tg" id="rows"', "</table>")
  assert(rows, "no rows table")
  h.eq(count(rows, '<tbody id="rows%-r%d+"'), N, "rows")
  h.eq(count(rows, '<tr class="det" hidden>'), N, "a details line per row, closed")
  assert(rows:find('<th class="s">inputs</th><th class="s o">outputs</th>', 1, true), "input and output columns")
  local r5 = assert(between(rows, '<tbody id="rows-r5"', "</tbody>"), "row 5")
  assert(r5:find('data-row="5"', 1, true), r5)
  assert(r5:find('<td class="in"><div class="clip">question 5 &amp; more</div></td>', 1, true), r5)
  assert(r5:find('<td class="out"><div class="clip">answer 5</div></td>', 1, true), r5)
  assert(r5:find('title="faithfulness/v1/score">faithfulness <b>1</b></span>', 1, true), r5)
  assert(r5:find('title="token_count">token_count <b>15</b>', 1, true), r5)
  assert(r5:find('<div class="jh">faithfulness <span class="score sc1">1</span></div><div class="full">because 5</div>', 1, true), r5)
  assert(r5:find('<dt>toxicity</dt><dd>0.085</dd>', 1, true), r5)
  -- sorting by any score: a select with each score column, numeric keys on the rows
  assert(s:find('<option value="data-s3" data-name="token_count">token_count</option>', 1, true), "sort options")
  assert(r5:find(' data-s3="15"', 1, true), "sort key")
  -- escaped: the injected markup is text
  assert(s:find("question 1 &amp; more", 1, true), "ampersand")
  assert(s:find("&lt;script&gt;document.title=&#39;pwned&#39;&lt;/script&gt;", 1, true), "script escaped")
  assert(s:find("&lt;img src=x onerror=&quot;", 1, true), "img escaped")
  assert(not s:find("<script>document.title", 1, true), "raw script in the page")
  assert(not s:find("<img", 1, true), "raw img in the page")
  h.eq(count(s, "<script"), 1, "only our own script")
  -- no box of its own that scrolls: the page scrolls, nothing inside it does
  assert(not s:find("overflow:auto", 1, true) and not s:find("overflow:scroll", 1, true), "a scrolling box")
end)

h.case("report A B compares the runs", function()
  local f = dir .. "/cmp.html"
  local c, _, e = h.evalua({ "--store", db, "report", "gpt-a", id_b, "-o", f, "--no-plots" })
  h.eq(c, 0, "exit: " .. e)
  local s = assert(h.read(f))
  h.eq(count(s, "<svg"), 0, "--no-plots")
  local metrics = assert(between(s, 'id="metrics-table"', "</table>"), "metrics table")
  -- toxicity: +0.01 on every row -> interval [0.01, 0.01], lower is better -> worse
  local tox = assert(between(metrics, "<td>toxicity/v1/mean</td>", "</tr>"))
  assert(tox:find("[0.01, 0.01]", 1, true), tox)
  assert(tox:find('class="bad">worse<', 1, true), tox)
  -- the same interval as `evalua runs compare` (shared pairing, resamples, seed)
  local faith = assert(between(metrics, "<td>faithfulness/v1/mean</td>", "</tr>"))
  local lo, hi = faith:match("%[([-%d%.e+]+), ([-%d%.e+]+)%]")
  assert(lo, faith)
  require("evalua.config").store_path = db
  local cmp = assert(require("evalua.stats").compare({ id_a, id_b }))
  local ci
  for _, m in ipairs(cmp.metrics) do
    if m.key == "faithfulness/v1/mean" then ci = m.ci[2] end
  end
  assert(ci, "no interval from evalua.stats")
  h.near(tonumber(lo), ci.lo, 1e-4, "lo as runs compare")
  h.near(tonumber(hi), ci.hi, 1e-4, "hi as runs compare")
  assert(ci.lo < 0 and ci.hi > 0, "a real interval")
  -- the rows side by side, the flips (every 4th row's judge score) first
  local pairs_ = assert(between(s, 'id="pairs"', "</table>"), "rows table")
  h.eq(count(pairs_, "<tbody "), N, "every paired row")
  h.eq(count(pairs_, ' class="flip"'), N // 4, "flips")
  assert(s:find("Rows: " .. N // 4 .. " changed of " .. N, 1, true), "flip count in the heading")
  local order = {}
  for row, rest in pairs_:gmatch('<tbody id="pairs%-r(%d+)"([^>]*)>') do
    order[#order + 1] = { tonumber(row), rest:find('class="flip"', 1, true) ~= nil }
  end
  h.eq(#order, N, "rows parsed")
  for k = 1, N // 4 do assert(order[k][2], "row " .. order[k][1] .. " at " .. k .. " is not a flip") end
  for k = N // 4 + 1, N do assert(not order[k][2], "a flip after the unchanged rows") end
  -- the largest change first: 5 -> 1 (-4) before 1 -> 2 (+1)
  local r8 = assert(between(pairs_, '<tbody id="pairs-r8"', "</tbody>"))
  assert(r8:find("faithfulness <b>2 → 3</b> (+1)", 1, true), r8)
  assert(order[1][1] == 12 or order[1][1] == 32, "largest change first, got row " .. order[1][1])
  -- both outputs and both justifications, side by side
  assert(r8:find('<h4>output A</h4><div class="full">answer 8</div>', 1, true), r8)
  assert(r8:find('<h4>A: <span class="score sc2">2</span></h4><div class="full">because 8</div>', 1, true), r8)
  assert(r8:find('<h4>B: <span class="score sc3">3</span></h4><div class="full">because 8</div>', 1, true), r8)
  c = h.evalua({ "--store", db, "report", id_a, id_b, "-o", f, "--no-plots", "--max-rows", "3" })
  h.eq(c, 0, "exit --max-rows 3")
  s = h.read(f)
  h.eq(count(between(s, 'id="pairs"', "</table>"), "<tbody "), 3, "capped rows")
  assert(s:find("The first 3 of " .. N .. " rows", 1, true), "cap note")
  -- with plots: the compare chart
  c = h.evalua({ "--store", db, "report", id_a, id_b, "-o", f })
  h.eq(c, 0, "exit with plots")
  cmp_html = assert(h.read(f))
  h.eq(count(cmp_html, "<svg role=\"img\""), 1, "compare chart")
end)

h.case("report: usage and errors", function()
  local c, _, e = h.evalua({ "--store", db, "report" })
  h.eq(c, 2, "no run: exit")
  assert(e:find("evalua: report: expected one run id or two", 1, true), e)
  c, _, e = h.evalua({ "--store", db, "report", "nope", "-o", dir .. "/x.html" })
  h.eq(c, 2, "unknown run: exit")
  assert(e:find("evalua: report: no run matches 'nope'", 1, true), e)
  c, _, e = h.evalua({ "--store", db, "report", id_a, "-o", "/nonexistent/r.html" })
  h.eq(c, 1, "bad output path: exit")
  assert(e:find("evalua: report: cannot write '/nonexistent/r.html'", 1, true), e)
  c, _, e = h.evalua({ "--store", db, "report", id_a, "--max-rows", "x" })
  h.eq(c, 2, "bad --max-rows")
  assert(e:find("report: --max-rows must be a whole number >= 0, got 'x'", 1, true), e)
  local f = dir .. "/capped.html"
  c = h.evalua({ "--store", db, "report", id_a, "--max-rows", "7", "--no-plots", "-o", f })
  h.eq(c, 0, "--max-rows 7")
  h.eq(count(between(h.read(f), 'id="rows"', "</table>"), "<tbody "), 7, "--max-rows rows")
  c, _, e = h.evalua({ "--store", db, "report", id_a, "--frob" })
  h.eq(c, 2, "unknown flag")
  assert(e:find("report: unknown option '--frob'", 1, true), e)
end)

-- A run made by evaluate with a judge (a Lua function answers for the
-- judge model), so that its prompt is stored with the run.
local JUDGED = [[
local evalua = require "evalua"
local genai = evalua.metrics.genai
local judge = genai.make_genai_metric{
  name = "politeness", definition = "How polite the answer is.",
  grading_prompt = "Score 1-5: 1 rude, 5 very polite.",
  examples = { genai.EvaluationExample{ input = "Hi", output = "Go away.", score = 1, justification = "Rude." } },
  model = function(prompt) return "score: 4\njustification: polite enough" end,
  parameters = { temperature = 0.0, max_tokens = 50 },
}
local function model(inputs) return inputs:map(function(row) return "Dear " .. row.q end) end
evalua.set_experiment("judged")
local r = evalua.evaluate{ model = model, data = evalua.table.from{ q = { "one", "two", "three" } },
  extra_metrics = { judge }, run_name = "judged", evaluator_config = { col_mapping = { inputs = "q" } } }
print(r.run_id)
io.stderr:write(judge.metric_details)
]]

h.case("judge prompts: stored with the run, in runs show in full, in the report", function()
  local script = h.write(dir .. "/judged.lua", JUDGED)
  local c, out, template = h.evalua({ "--store", db, script })
  h.eq(c, 0, "judged run: " .. template)
  local id = out:match("^(%x+)\n$")
  assert(id, out)
  assert(template:find("{output}", 1, true), "the template has placeholders: " .. template)
  -- the artifact
  require("evalua.config").store_path = db
  local list = assert(require("evalua.judge_prompts").load(id), "no judge_prompts.json")
  h.eq(#list, 1)
  h.eq(list[1].metric, "politeness/v1")
  h.eq(list[1].template, template, "the rendered template, placeholders kept")
  h.eq(list[1].parameters.max_tokens, 50)
  assert(not list[1].template:find("Dear one", 1, true), "a row's text in the template")
  -- runs show prints all of it, nothing cut
  local code, show = h.evalua({ "--store", db, "runs", "show", id })
  h.eq(code, 0)
  assert(show:find("judge prompts\n  judge politeness/v1 (make_genai_metric)\n", 1, true), show)
  assert(show:find('    parameters  {"max_tokens":50,"temperature":0.0}', 1, true) or
    show:find('    parameters  {"temperature":0.0,"max_tokens":50}', 1, true), show)
  assert(show:find("    rubric      Score 1-5: 1 rude, 5 very polite.", 1, true), show)
  local lines = {}
  for line in (template .. "\n"):gmatch("(.-)\n") do lines[#lines + 1] = "      | " .. line end
  assert(show:find(table.concat(lines, "\n"), 1, true), "the whole template, line by line:\n" .. show)
  -- the report's section
  local f = dir .. "/judged.html"
  code = h.evalua({ "--store", db, "report", id, "-o", f, "--no-plots" })
  h.eq(code, 0)
  local s = h.read(f)
  local sec = assert(between(s, '<section id="prompts">', "</section>"), "no judge prompts section")
  assert(sec:find("politeness/v1", 1, true) and sec:find("How polite the answer is.", 1, true), sec)
  assert(sec:find("Score 1-5: 1 rude, 5 very polite.", 1, true), sec)
  assert(sec:find(report.escape(template), 1, true), "the whole template in the report")
  assert(sec:find("Go away.", 1, true), "the examples")
  -- names, not hashes: the model is "a Lua function", the judge by its model
  assert(s:find('model</div><div class="v">a Lua function (', 1, true), "model by name")
  assert(s:find("politeness/v1: function</div>", 1, true), "judges by name")
end)

h.case("a judge that failed on a row shows on the row's line", function()
  local r = { info = { id = "f", name = "f" }, params = {}, metrics = {}, greater_is_better = {},
    table = { names = { "inputs", "outputs", "j/v1/score", "j/v1/justification" }, n_rows = 2, columns = {
      inputs = { n = 2, "q1", "q2" }, outputs = { n = 2, "a1", "a2" }, ["j/v1/score"] = { n = 2, 4 },
      ["j/v1/justification"] = { n = 2, "fine", "failed: could not read a score; raw answer: maybe" } } } }
  local s = report.run(r, { plots = false })
  local r2 = assert(between(s, '<tbody id="rows-r2"', "</tbody>"))
  assert(r2:find('<span class="chip down" title="failed: could not read a score; raw answer: maybe">j <b>failed</b></span>', 1, true), r2)
  assert(r2:find('<span class="score">—</span></div><div class="full">failed: could not read a score', 1, true), r2)
  assert(not between(s, '<tbody id="rows-r1"', "</tbody>"):find("failed", 1, true))
end)

h.case("parameters by name and accounting per model", function()
  h.eq(report.param_text("model", "gpt-3.5-turbo:7955b69a299d97d4"), "gpt-3.5-turbo")
  h.eq(report.param_text("model", "openai:/gpt-4o"), "openai:/gpt-4o")
  h.eq(report.param_text("judges", "a/v1=openai:/gpt-4:ba40c08e049f,b/v1=anthropic:/claude:0123456789ab"),
    "a/v1: openai:/gpt-4\nb/v1: anthropic:/claude")
  h.eq(report.param_text("toxicity.weights_sha256", string.rep("ab", 32)), "abababababab…")
  local r = run("acct", { ["m/v1/mean"] = 1 }, {}, { 1 })
  r.params = { model = "gpt-3.5-turbo:7955b69a299d97d4" }
  r.accounting = { calls = 9, requests = 8, cache_hits = 1, failures = 0, prompt_tokens = 3444,
    completion_tokens = 120, cost_usd = 0.107, unpriced = {},
    models = {
      ["openai:gpt-4"] = { provider = "openai", model = "gpt-4", calls = 5, requests = 4, cache_hits = 1,
        failures = 0, prompt_tokens = 3373, completion_tokens = 96, cost_usd = 0.107, priced = true },
      ["openai:gpt-3.5-turbo"] = { provider = "openai", model = "gpt-3.5-turbo", calls = 4, requests = 4,
        cache_hits = 0, failures = 0, prompt_tokens = 71, completion_tokens = 24, cost_usd = 0.0001, priced = true } },
    dry_run = { requests = 0, prompt_tokens = 0, cost_usd = 0, unpriced = {}, cached = 0 } }
  local s = report.run(r, { plots = false })
  assert(s:find('<td title="gpt-3.5-turbo:7955b69a299d97d4"><div class="full">gpt-3.5-turbo</div></td>', 1, true),
    "the model by name, the stored value in the title")
  local acct = assert(between(s, '<table class="acct">', "</table>"))
  assert(acct:find('<tr><td>gpt-4 (openai)</td><td class="num" data-label="calls">5</td><td class="num" data-label="sent">4</td>'
    .. '<td class="num" data-label="cached">1</td><td class="num" data-label="failed">0</td>'
    .. '<td class="num" data-label="prompt tokens">3,373</td>', 1, true), acct)
  assert(acct:find('<td class="num" data-label="cost">$0.11</td>', 1, true), acct)
  assert(acct:find('<tr class="total"><td>total</td><td class="num" data-label="calls">9</td>', 1, true), acct)
  assert(not s:find("&quot;models&quot;", 1, true) and not s:find("dry_run", 1, true), "raw JSON in the accounting")
end)

h.case("escape", function()
  local cases = {
    { "<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;" },
    { [[a & "b" 'c']], "a &amp; &quot;b&quot; &#39;c&#39;" },
    { "plain é 日本", "plain é 日本" },
    { "bad \xff byte", "bad \u{FFFD} byte" },
    { 3, "3" },
  }
  for _, c in ipairs(cases) do h.eq(report.escape(c[1]), c[2], "escape " .. tostring(c[1])) end
end)

h.case("comparison statistics, hand-computed", function()
  -- every row +1: the paired interval is exactly [1, 1]
  local a = run("a", { ["m/v1/mean"] = 2.5, ["x"] = 1 }, { ["m/v1/mean"] = true }, { 1, 2, 3, 4 })
  local b = run("b", { ["m/v1/mean"] = 3.5, ["x"] = 3 }, {}, { 2, 3, 4, 5 })
  local rows = report.comparison(a, b)
  h.eq(#rows, 2, "rows")
  local m, x = rows[1], rows[2]
  h.eq(m.metric, "m/v1/mean", "order")
  h.near(m.diff, 1, 1e-12, "diff")
  h.near(m.lo, 1, 1e-12, "lo")
  h.near(m.hi, 1, 1e-12, "hi")
  h.eq(m.paired, 4, "paired rows")
  h.eq(m.verdict, "better", "higher is better")
  h.eq(x.diff, 2, "plain metric diff")
  h.eq(x.lo, nil, "no interval without scores")
  -- the report reads evalua.stats' comparison, the engine of `runs compare`
  local cmp = require("evalua.stats").compare_runs({ a, b }, { a.table, b.table })
  h.eq(cmp.metrics[1].ci[2].lo, m.lo, "the same interval as stats")
  h.eq(cmp.metrics[1].ci[2].n, m.paired, "the same pairing as stats")
  -- lower is better: the same change is worse
  rows = report.comparison(run("a", { ["m/v1/mean"] = 2.5 }, { ["m/v1/mean"] = false }, { 1, 2, 3, 4 }),
    run("b", { ["m/v1/mean"] = 3.5 }, {}, { 2, 3, 4, 5 }))
  h.eq(rows[1].verdict, "worse", "lower is better")
  -- +1, -1, +1, -1: the interval straddles zero
  rows = report.comparison(run("a", { ["m/v1/mean"] = 2 }, {}, { 1, 3, 1, 3 }),
    run("b", { ["m/v1/mean"] = 2 }, {}, { 2, 2, 2, 2 }))
  assert(rows[1].lo < 0 and rows[1].hi > 0, "interval straddles 0")
  h.eq(rows[1].verdict, "no significant change", "verdict")
  -- only rows scored in both runs are paired
  rows = report.comparison(run("a", { ["m/v1/mean"] = 1 }, {}, { 1, 0 / 0, 5, 1 }),
    run("b", { ["m/v1/mean"] = 1 }, {}, { 2, 2, nil, 2 }, 4))
  h.eq(rows[1].paired, 2, "paired rows skip holes")
  h.near(rows[1].lo, 1, 1e-12, "lo over paired rows")
  -- flips: integer scores that changed
  local flips = report.flips(run("a", {}, {}, { 1, 2, 3 }), run("b", {}, {}, { 1, 4, 3 }))
  h.eq(#flips, 1, "one flip")
  h.eq(flips[1].row, 2, "flip row")
  h.eq(flips[1].b, 4, "flip to")
end)

h.case("report.run from a plain description", function()
  local r = run("plain", { ["m/v1/mean"] = 0.5 }, {}, { 0, 1, 0.5 })
  r.table.names[2] = "outputs"
  r.table.columns.outputs = { n = 3, "<b>x</b>", nil, { k = "v" } }
  local s = report.run(r, { plots = false })
  assert(s:find("&lt;b&gt;x&lt;/b&gt;", 1, true), "escaped output")
  assert(s:find('<td class="out na">—</td>', 1, true), "missing cell")
  assert(s:find("{&quot;k&quot;:&quot;v&quot;}", 1, true), "json cell")
  h.eq(count(s, "<svg"), 0, "no plots asked")
  -- one card per metric, its other aggregates under the mean
  r.metrics = { ["m/v1/mean"] = 0.5, ["m/v1/p90"] = 0.9, ["m/v1/variance"] = 0.25, ["exact_match/v1"] = 1 }
  s = report.run(r, { plots = false })
  assert(s:find('m/v1/mean</div><div class="v">0.5<div class="aggs">p90 0.9 · variance 0.25</div>', 1, true), s)
  assert(s:find('exact_match/v1</div><div class="v">1</div>', 1, true), "single-value metric")
  -- the row cap
  s = report.run(r, { plots = false, max_rows = 2 })
  local rows = between(s, 'id="rows"', "</table>")
  h.eq(count(rows, "<tbody "), 2, "capped rows")
  assert(s:find("The first 2 of 3 rows", 1, true), "cap note")
  s = report.run(r, { plots = false, max_rows = 0 })
  h.eq(count(between(s, 'id="rows"', "</table>"), "<tbody "), 3, "max_rows 0: all")
end)

-- ------------------------------------------------------------ Chromium ---

local CHROMIUM = h.source_dir .. "/tests/lua/chromium.sh"

-- loads url in a window of width x height; returns the exit code, the DOM
-- after load and Chromium's log; with shot, also takes a screenshot there
local function chromium(url, out, shot, width, height)
  local log = out .. ".log"
  local c = h.sh(string.format("CHROMIUM_WINDOW=%d,%d sh %s %s %s %s %s", width or 1280, height or 2000,
    h.quote(CHROMIUM), h.quote(url), h.quote(out), h.quote(log), shot and h.quote(shot) or ""))
  return c, h.read(out) or "", h.read(log) or ""
end

local function check_screenshot(png, width, height, keep_as)
  local s = assert(h.read(png), "no screenshot")
  h.eq(s:sub(1, 8), "\137PNG\r\n\26\n", "png")
  local w, ht = string.unpack(">I4I4", s, 17)
  h.eq(w * 10000 + ht, width * 10000 + height, "screenshot size")
  assert(#s > 30000, "screenshot looks empty: " .. #s .. " bytes")
  local keep = os.getenv("EVALUA_KEEP_SCREENSHOTS")
  if keep then os.execute("cp " .. h.quote(png) .. " " .. h.quote(keep .. "/" .. (keep_as or png:match("[^/]+$")))) end
end

local function console_lines(log)
  local out = {}
  for line in log:gmatch("[^\n]+") do
    if line:find("CONSOLE", 1, true) or line:find("Uncaught", 1, true) then out[#out + 1] = line end
  end
  return out
end

-- The page with a measuring script after its own (the CSP then allows
-- inline scripts): it writes on <body> how far the page overflows its
-- window sideways, the share of the row table's width its output columns
-- take (all of them, and the narrowest), and how many elements scroll by
-- themselves. Measured with every row expanded (#open=all).
local MEASURE = [[
<script>
(function () {
  var d = document.documentElement, b = document.body;
  b.setAttribute('data-overflow', String(d.scrollWidth - d.clientWidth));
  var t = document.querySelector('table.rowtable'), tw = t.getBoundingClientRect().width;
  var sum = 0, min = 1;
  Array.prototype.forEach.call(t.tHead.rows[0].querySelectorAll('th.o'), function (th) {
    var r = th.getBoundingClientRect().width / tw;
    sum += r; if (r < min) min = r;
  });
  b.setAttribute('data-out-share', sum.toFixed(3));
  b.setAttribute('data-out-min', min.toFixed(3));
  var scrollers = [];
  Array.prototype.forEach.call(document.querySelectorAll('body *'), function (el) {
    var cs = getComputedStyle(el);
    var sx = /auto|scroll/.test(cs.overflowX) && el.scrollWidth > el.clientWidth + 1;
    var sy = /auto|scroll/.test(cs.overflowY) && el.scrollHeight > el.clientHeight + 1;
    if (sx || sy) scrollers.push(el.tagName + '.' + el.className);
  });
  b.setAttribute('data-scrollers', scrollers.join(' ') || 'none');
  var wide = [];
  Array.prototype.forEach.call(document.querySelectorAll('main *'), function (el) {
    if (el.getBoundingClientRect().right > d.clientWidth + 1 && el.getClientRects().length) wide.push(el.tagName + '.' + el.className);
  });
  b.setAttribute('data-wide', wide.slice(0, 5).join(' ') || 'none');
  b.setAttribute('data-measured', '1');
})();
</script>]]

local function measured_copy(html, path)
  local s = html:gsub("script%-src 'sha256%-[^']+'", "script-src 'unsafe-inline'")
  s = s:gsub("</body>", function() return MEASURE .. "</body>" end)
  return h.write(path, s)
end

local function attr(dom, name)
  return dom:match("<body[^>]- " .. name:gsub("%-", "%%-") .. '="([^"]*)"')
end

h.case("chromium: the checks catch live markup (control)", function()
  local bad = h.write(dir .. "/bad.html", "<!DOCTYPE html><html><head><title>t</title></head><body>"
    .. "<script>document.title='pwned'; nosuch();</script>"
    .. "<img src=x onerror=\"document.body.setAttribute('data-pwned','1')\"></body></html>")
  local c, dom, log = chromium("file://" .. bad, dir .. "/bad.dom")
  h.eq(c, 0, "chromium exit: " .. log:sub(-2000))
  assert(dom:find("<title>pwned</title>", 1, true), "script ran: " .. dom)
  assert(dom:find('data-pwned="1"', 1, true), "handler ran: " .. dom)
  assert(#console_lines(log) > 0, "the console error is seen")
  -- the measuring script sees a page that is too wide and a box that scrolls
  local wide = h.write(dir .. "/wide.html", '<!DOCTYPE html><html><head><meta name="viewport" content="width=device-width">'
    .. '</head><body><main><div style="width:2000px">x</div><div style="height:40px;overflow:auto"><p style="height:400px">y</p></div>'
    .. '<table class="rowtable"><thead><tr><th class="o" style="width:10%">o</th><th>x</th></tr></thead></table></main></body></html>')
  c, dom = chromium("file://" .. measured_copy(h.read(wide), dir .. "/wide-m.html"), dir .. "/wide.dom", nil, 390, 800)
  h.eq(c, 0)
  assert(tonumber(attr(dom, "data-overflow")) > 1000, "overflow seen: " .. tostring(attr(dom, "data-overflow")))
  assert(tonumber(attr(dom, "data-out-share")) < 0.2, "share seen")
  assert(attr(dom, "data-scrollers"):find("DIV", 1, true), "scroller seen")
end)

-- Both reports at desktop and phone widths: no page overflow sideways, no
-- box that scrolls inside the page, the output columns at least 40% of the
-- row table (each output of two at least 25%), every row expanded.
local WIDTHS = { { 1400, 2400, "desktop" }, { 390, 2400, "phone" } }

h.case("chromium: widths, no sideways scrolling, outputs get the room", function()
  assert(run_html and cmp_html, "the report cases failed")
  for _, page in ipairs { { "run", run_html, 0.40, 0.40 }, { "compare", cmp_html, 0.40, 0.25 } } do
    local f = measured_copy(page[2], dir .. "/" .. page[1] .. "-m.html")
    for _, w in ipairs(WIDTHS) do
      local what = page[1] .. " at " .. w[1] .. " px"
      local c, dom, log = chromium("file://" .. f .. "#open=all", dir .. "/m.dom", nil, w[1], w[2])
      h.eq(c, 0, what .. ": chromium exit: " .. log:sub(-2000))
      h.eq(attr(dom, "data-measured"), "1", what .. ": measured")
      h.eq(attr(dom, "data-overflow"), "0", what .. ": sideways overflow (too wide: " .. tostring(attr(dom, "data-wide")) .. ")")
      h.eq(attr(dom, "data-scrollers"), "none", what .. ": boxes that scroll")
      local share, min = tonumber(attr(dom, "data-out-share")), tonumber(attr(dom, "data-out-min"))
      assert(share >= page[3], string.format("%s: outputs take %.3f of the table", what, share))
      assert(min >= page[4], string.format("%s: an output column takes %.3f of the table", what, min))
      assert(not dom:find('<tr class="det" hidden', 1, true), what .. ": #open=all left a row closed")
    end
  end
end)

h.case("chromium: run report loads clean, rows, filter, sort, expand, inert markup", function()
  local f = dir .. "/run.html"
  assert(run_html, "the report case failed")
  for _, w in ipairs(WIDTHS) do
    local shot = dir .. "/run-" .. w[1] .. ".png"
    local c, dom, log = chromium("file://" .. f, dir .. "/run.dom", shot, w[1], w[2])
    h.eq(c, 0, "chromium exit: " .. log:sub(-2000))
    h.eq(table.concat(console_lines(log), "\n"), "", "console")
    assert(dom:find('data-ready="1"', 1, true), "the page script ran to its end")
    check_screenshot(shot, w[1], w[2], "report-run-" .. w[3] .. ".png")
    assert(dom:find("<title>evalua run gpt-a</title>", 1, true), "title untouched")
    assert(not dom:find('data-pwned="1"', 1, true), "injected handler ran")
    assert(not dom:find("<img", 1, true), "an img element exists")
    assert(dom:find("&lt;script&gt;document.title='pwned'&lt;/script&gt;", 1, true), "script shown as text")
    local rows = assert(between(dom, 'id="rows"', "</table>"), "rows table in the DOM")
    h.eq(count(rows, "<tbody "), N, "rows in the DOM")
    assert(dom:find(N .. " rows</span>", 1, true), "row count label")
  end
  -- filter and sort from the link: "answer 1" matches rows 1 and 10..19
  local c, dom, log = chromium("file://" .. f .. "#q=answer%201&sort=token_count&dir=desc", dir .. "/f.dom")
  h.eq(c, 0, "chromium exit")
  h.eq(table.concat(console_lines(log), "\n"), "", "console")
  assert(dom:find("11 of " .. N .. " rows", 1, true), "filtered count")
  local rows = assert(between(dom, 'id="rows"', "</table>"))
  local shown = {}
  for attrs in rows:gmatch("<tbody ([^>]*)>") do
    if not attrs:find("hidden", 1, true) then shown[#shown + 1] = tonumber(attrs:match('data%-s3="(%d+)"')) end
  end
  h.eq(#shown, 11, "visible rows")
  h.eq(table.concat(shown, ","), "29,28,27,26,25,24,23,22,21,20,11", "sorted by token_count, descending")
  -- a link to one row opens it
  c, dom = chromium("file://" .. f .. "#row=7", dir .. "/r.dom")
  h.eq(c, 0)
  local r7 = assert(between(dom, '<tbody id="rows-r7"', "</tbody>"))
  assert(r7:find('aria-expanded="true"', 1, true) and r7:find('<tr class="det">', 1, true), "row 7 open: " .. r7)
  h.eq(count(dom, '<tr class="det">'), 1, "only row 7 open")
end)

h.case("chromium: comparison report loads clean", function()
  assert(cmp_html, "the compare case failed")
  local f = dir .. "/cmp.html"
  for _, w in ipairs(WIDTHS) do
    local shot = dir .. "/cmp-" .. w[1] .. ".png"
    local c, dom, log = chromium("file://" .. f, dir .. "/cmp.dom", shot, w[1], w[2])
    h.eq(c, 0, "chromium exit: " .. log:sub(-2000))
    h.eq(table.concat(console_lines(log), "\n"), "", "console")
    assert(dom:find('data-ready="1"', 1, true), "script ran")
    assert(not dom:find('data-pwned="1"', 1, true), "injected handler ran")
    h.eq(count(assert(between(dom, 'id="pairs"', "</table>")), "<tbody "), N, "rows in the DOM")
    check_screenshot(shot, w[1], w[2], "report-compare-" .. w[3] .. ".png")
  end
end)

h.done()
