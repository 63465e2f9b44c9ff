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
  assert(s:find('<td><div class="txt">gpt-a</div></td>', 1, true), "param value")
  h.eq(count(s, "<svg role=\"img\""), 2, "inline charts (gauges, histograms)")
  assert(s:find('id="c1-glyph', 1, true) and s:find('id="c2-glyph', 1, true), "per-chart glyph ids")
  assert(not s:find('id="glyph', 1, true), "an unprefixed id")
  -- the row table: 40 rows, every column, scores numeric for sorting
  local rows = between(s, '<table class="sortable" id="rows"', "</table>")
  assert(rows, "no rows table")
  h.eq(count(rows, "<tr>") - 1, N, "rows")
  for _, col in ipairs { "inputs", "outputs", "faithfulness/v1/score", "faithfulness/v1/justification",
    "toxicity/v1/score", "token_count" } do
    assert(rows:find("<th>" .. col .. "</th>", 1, true), "column " .. col)
  end
  assert(rows:find('<td class="num" data-v="50">50</td>', 1, true), "numeric cell")
  -- escaped: the injected markup is text
  assert(s:find("question 1 &amp; more", 1, true), "ampersand")
  assert(s:find("&lt;script&gt;document.title=&#39;pwned&#39;&lt;/script&gt;", 1, true), "script escaped")
  assert(s:find("&lt;img src=x onerror=&quot;", 1, true), "img escaped")
  assert(not s:find("<script>document.title", 1, true), "raw script in the page")
  assert(not s:find("<img", 1, true), "raw img in the page")
  h.eq(count(s, "<script"), 1, "only our own script")
end)

h.case("report A B compares the runs", function()
  local f = dir .. "/cmp.html"
  local c, _, e = h.evalua({ "--store", db, "report", "gpt-a", id_b, "-o", f, "--no-plots" })
  h.eq(c, 0, "exit: " .. e)
  local s = assert(h.read(f))
  h.eq(count(s, "<svg"), 0, "--no-plots")
  local metrics = assert(between(s, 'id="metrics"', "</table>"), "metrics table")
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
  -- flips: every 4th row's judge score changed
  local flips = assert(between(s, 'id="flips"', "</table>"), "flips table")
  h.eq(count(flips, "<tr>") - 1, N // 4, "flips")
  assert(s:find("Per-row flips (" .. N // 4 .. ")", 1, true), "flip count in the heading")
  c = h.evalua({ "--store", db, "report", id_a, id_b, "-o", f, "--no-plots", "--max-rows", "3" })
  h.eq(c, 0, "exit --max-rows 3")
  s = h.read(f)
  h.eq(count(between(s, 'id="flips"', "</table>"), "<tr>") - 1, 3, "capped flips")
  assert(s:find("The first 3 of " .. N // 4 .. " flips", 1, true), "flips cap note")
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
  h.eq(c, 1, "unknown run: exit")
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
  h.eq(count(between(h.read(f), 'id="rows"', "</table>"), "<tr>") - 1, 7, "--max-rows rows")
  c, _, e = h.evalua({ "--store", db, "report", id_a, "--frob" })
  h.eq(c, 2, "unknown flag")
  assert(e:find("report: unknown option '--frob'", 1, true), e)
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

-- a plain run description, as the store's reading API gives it
local function run(id, metrics, gib, scores, n)
  n = n or #scores
  local col = { n = n }
  for i = 1, n do col[i] = scores[i] end
  return { info = { id = id, name = id }, params = {}, metrics = metrics, greater_is_better = gib,
    table = { names = { "m/v1/score" }, columns = { ["m/v1/score"] = col }, n_rows = n } }
end

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
  assert(s:find('<td class="na" data-v="">—</td>', 1, true), "missing cell")
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
  h.eq(count(rows, "<tr>") - 1, 2, "capped rows")
  assert(s:find("The first 2 of 3 rows", 1, true), "cap note")
  s = report.run(r, { plots = false, max_rows = 0 })
  h.eq(count(between(s, 'id="rows"', "</table>"), "<tr>") - 1, 3, "max_rows 0: all")
end)

-- ------------------------------------------------------------ Chromium ---

local CHROMIUM = h.source_dir .. "/tests/lua/chromium.sh"

-- loads url; returns the exit code, the DOM after load and Chromium's log;
-- with shot, also takes a screenshot there
local function chromium(url, out, shot)
  local log = out .. ".log"
  local c = h.sh(string.format("sh %s %s %s %s %s", h.quote(CHROMIUM), h.quote(url), h.quote(out),
    h.quote(log), shot and h.quote(shot) or ""))
  return c, h.read(out) or "", h.read(log) or ""
end

local function check_screenshot(png)
  local s = assert(h.read(png), "no screenshot")
  h.eq(s:sub(1, 8), "\137PNG\r\n\26\n", "png")
  local w, ht = string.unpack(">I4I4", s, 17)
  h.eq(w * 10000 + ht, 1280 * 10000 + 2000, "screenshot size")
  assert(#s > 50000, "screenshot looks empty: " .. #s .. " bytes")
  local keep = os.getenv("EVALUA_KEEP_SCREENSHOTS")
  if keep then os.execute("cp " .. h.quote(png) .. " " .. h.quote(keep)) end
end

local function console_lines(log)
  local out = {}
  for line in log:gmatch("[^\n]+") do
    if line:find("CONSOLE", 1, true) or line:find("Uncaught", 1, true) then out[#out + 1] = line end
  end
  return out
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
end)

h.case("chromium: run report loads clean, rows, filter, sort, inert markup", function()
  local f = dir .. "/run.html"
  assert(run_html, "the report case failed")
  local c, dom, log = chromium("file://" .. f, dir .. "/run.dom", dir .. "/run.png")
  h.eq(c, 0, "chromium exit: " .. log:sub(-2000))
  h.eq(table.concat(console_lines(log), "\n"), "", "console")
  assert(dom:find('data-ready="1"', 1, true), "the page script ran to its end")
  check_screenshot(dir .. "/run.png")
  assert(dom:find("<title>evalua run gpt-a</title>", 1, true), "title untouched")
  assert(not dom:find('data-pwned="1"', 1, true), "injected handler ran")
  assert(not dom:find("<img", 1, true), "an img element exists")
  assert(dom:find("&lt;script&gt;document.title='pwned'&lt;/script&gt;", 1, true), "script shown as text")
  local rows = assert(between(dom, 'id="rows"', "</table>"), "rows table in the DOM")
  h.eq(count(rows, "<tr>") - 1, N, "rows in the DOM")
  assert(dom:find(N .. " rows</span>", 1, true), "row count label")
  -- filter and sort from the link: "answer 1" matches rows 1 and 10..19
  c, dom, log = chromium("file://" .. f .. "#q=answer%201&sort=token_count&dir=desc", dir .. "/f.dom")
  h.eq(c, 0, "chromium exit")
  h.eq(table.concat(console_lines(log), "\n"), "", "console")
  assert(dom:find("11 of " .. N .. " rows", 1, true), "filtered count")
  rows = assert(between(dom, 'id="rows"', "</table>"))
  h.eq(count(rows, '<tr hidden="">'), N - 11, "hidden rows")
  local shown = {}
  for tr in rows:gmatch("<tr>(.-)</tr>") do
    local tc = tr:match('data%-v="(%d+)">%d+</td>$')
    if tc then shown[#shown + 1] = tonumber(tc) end
  end
  h.eq(#shown, 11, "visible rows")
  h.eq(table.concat(shown, ","), "29,28,27,26,25,24,23,22,21,20,11", "sorted by token_count, descending")
end)

h.case("chromium: comparison report loads clean", function()
  assert(cmp_html, "the compare case failed")
  local f = dir .. "/cmp.html"
  local c, dom, log = chromium("file://" .. f, dir .. "/cmp.dom", dir .. "/cmp.png")
  h.eq(c, 0, "chromium exit: " .. log:sub(-2000))
  h.eq(table.concat(console_lines(log), "\n"), "", "console")
  assert(dom:find('data-ready="1"', 1, true), "script ran")
  assert(not dom:find('data-pwned="1"', 1, true), "injected handler ran")
  local flips = assert(between(dom, 'id="flips"', "</table>"))
  h.eq(count(flips, "<tr>") - 1, N // 4, "flip rows in the DOM")
  check_screenshot(dir .. "/cmp.png")
end)

h.done()
