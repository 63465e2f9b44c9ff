-- `evalua runs`: list, show, export (csv, jsonl, mlflow-json), compare, and
-- their error messages and exit codes.
local h = require "helper"
local cjson = require "cjson"

local d = h.tmpdir()
local db = d .. "/cli.db"

local setup = h.write(d .. "/setup.lua", [[
local evalua = require "evalua"
local function mk(exp, name, scores, preds, metrics)
  evalua.set_experiment(exp)
  local run <close> = evalua.start_run{ run_name = name }
  local data = {}
  for i = 1, #scores do
    data[i] = { "q" .. i, preds[i], 10 + i, scores[i], scores[i] and ("because " .. i) or nil, 1 / 3 * i }
  end
  run:log_table("eval_results_table", { columns = { "inputs", "outputs", "token_count",
    "judge/v1/score", "judge/v1/justification", "ratio" }, data = data })
  run:log_metrics(metrics, { ["judge/v1"] = true })
  run:log_param("model", "m-" .. name)
  run:log_param("judges", "judge/v1=openai:/gpt-4o:9118dd86a1b2c3d4,style/v1=endpoints:/local:0123abcd4567ef89")
  run:set_accounting({ requests = 3, cache_hits = 1, prompt_tokens = 100, completion_tokens = 20, cost_usd = 0.5,
    models = { ["openai:gpt"] = { requests = 3, cache_hits = 1, prompt_tokens = 100, completion_tokens = 20,
      cost_usd = 0.5 } } })
  run:put_cell("predictions", 2, { value = nil, error = "HTTP 500 from server" })
  run:put_cell("judge/v1", 3, { justification = "failed: unparseable answer", failed = true })
  run:put_cell("predictions", 1, { value = "ok" })
  evalua.log_artifact("notes.txt", "hello")
end
mk("translation", "alpha", { 5, 4, 3 }, { "héllo \"x\"", "a,b", "line\nbreak" },
  { ["judge/v1/mean"] = 4, ["judge/v1/failures"] = 1, ["toxicity/v1/ratio"] = 0.0 })
mk("translation", "beta", { 3, 2, 1 }, { "x", "y", "z" },
  { ["judge/v1/mean"] = 2, ["judge/v1/failures"] = 0, ["toxicity/v1/ratio"] = 0.0 })
mk("other", "gamma", { 5, 5, 5 }, { "x", "y", "z" }, { ["judge/v1/mean"] = 5 })
]])

local code, _, err = h.evalua({ "--store", db, setup })
assert(code == 0, err)

local function runs(args)
  local a = { "--store", db, "runs" }
  for _, x in ipairs(args) do a[#a + 1] = x end
  return h.evalua(a)
end

local function lines(s)
  local t = {}
  for l in s:gmatch("([^\n]*)\n") do t[#t + 1] = l end
  return t
end

h.case("--help lists the runs command with its summary", function()
  local c, out = h.evalua({ "--help" })
  h.eq(c, 0, "exit")
  assert(out:find("  runs%s+list, show, export and compare stored runs"), out)
end)

h.case("runs list", function()
  local c, out = runs({ "list" })
  h.eq(c, 0, "exit")
  local l = lines(out)
  h.eq(#l, 4, "header + 3 runs")
  assert(l[1]:find("^ID%s+NAME%s+EXPERIMENT%s+STATUS%s+STARTED %(UTC%)%s+DURATION%s+ROWS$"), l[1])
  assert(l[2]:find("^%x%x%x%x%x%x%x%x%x%x%x%x  gamma  other%s+FINISHED  %d%d%d%d%-%d%d%-%d%d %d%d:%d%d  %d+%.%ds%s+3$"), l[2])
  assert(l[4]:find(" alpha  translation  FINISHED ", 1, true), l[4])
  c, out = runs({ "list", "--experiment", "translation" })
  h.eq(#lines(out), 3, "filtered")
  assert(not out:find("gamma", 1, true), out)
  c, out = runs({ "list", "--json" })
  local j = cjson.decode(out)
  h.eq(#j, 3, "json runs")
  h.eq(j[3].name, "alpha", "oldest last") h.eq(j[3].status, "FINISHED", "status") h.eq(j[3].n_rows, 3, "rows")
  c, out, err = runs({ "list", "--experiment", "none" })
  h.eq(c, 0, "empty list is fine") h.eq(out, "", "nothing on stdout")
  assert(err:find("evalua: no runs in experiment 'none' in " .. db, 1, true), err)
  c, _, err = runs({ "list", "--limit", "x" })
  h.eq(c, 2, "bad limit") h.eq(err, "evalua: runs list: --limit needs a positive integer\n", "message")
  c, out = runs({})
  h.eq(#lines(out), 4, "list is the default")
end)

h.case("runs show", function()
  local c, out = runs({ "show", "alpha" })
  h.eq(c, 0, "exit")
  local l = lines(out)
  assert(l[1]:find("^run %x+  alpha$"), l[1])
  for _, want in ipairs({
    "  experiment  translation", "  status      FINISHED", "  rows        3", "params", "  model   m-alpha", "  judges  judge/v1: openai:/gpt-4o; style/v1: endpoints:/local",
    "metrics", "  judge/v1/failures  1  (lower is better)", "  judge/v1/mean      4  (higher is better)",
    "  toxicity/v1/ratio  0", "accounting", "  total       3 requests, 1 cached, 100 prompt + 20 completion tokens, $0.50",
    "  openai:gpt  3 requests, 1 cached, 100 prompt + 20 completion tokens, $0.50", "tables", "  eval_results_table  3 rows, 6 columns", "artifacts",
    "  notes.txt  text/plain, 5 bytes", "failures", "  judge/v1/failures  1",
    "  row 3              judge/v1: failed: unparseable answer", "  row 2              predictions: HTTP 500 from server",
  }) do
    local found = false
    for _, x in ipairs(l) do if x == want then found = true end end
    if not found then error("missing line " .. string.format("%q", want) .. " in:\n" .. out) end
  end
  c, out = runs({ "show", "beta" })
  for _, x in ipairs(lines(out)) do
    assert(not x:find("^  judge/v1/failures%s+0$"), "zero failures are not listed as failures")
  end
  assert(out:find("\n  judge/v1/failures  0  (lower is better)\n", 1, true), out)
  c, out = runs({ "show", "alpha", "--json" })
  local j = cjson.decode(out)
  h.eq(j.info.name, "alpha", "json name") h.eq(j.metrics["judge/v1/mean"], 4, "json metric")
  h.eq(j.row_error_count, 2, "json row errors") h.eq(j.params.model, "m-alpha", "json param")
  -- by id prefix
  local id = j.info.id
  c, out = runs({ "show", id:sub(1, 10) })
  h.eq(c, 0, "prefix") assert(out:find("alpha", 1, true), out)
end)

h.case("accounting of another shape is flattened", function()
  local lines_ = require("evalua.cli.runs").accounting_lines({ tokens = { a = 5, b = 2.5 }, note = "x", list = { "p", "q" } })
  h.same(lines_, { { "list", "p, q" }, { "note", "x" }, { "tokens.a", "5" }, { "tokens.b", "2.5" } }, "flattened")
end)

h.case("runs export: csv, jsonl, mlflow-json", function()
  local c, out = runs({ "export", "alpha", "--format", "csv" })
  h.eq(c, 0, "exit")
  h.eq(out, table.concat({
    "inputs,outputs,token_count,judge/v1/score,judge/v1/justification,ratio",
    'q1,"héllo ""x""",11,5,because 1,0.3333333333333333',
    'q2,"a,b",12,4,because 2,0.6666666666666666',
    'q3,"line\nbreak",13,3,because 3,1.0', "" }, "\r\n"), "csv")
  c, out = runs({ "export", "alpha", "--format", "jsonl" })
  h.eq(out, table.concat({
    '{"inputs":"q1","outputs":"héllo \\"x\\"","token_count":11,"judge/v1/score":5,"judge/v1/justification":"because 1","ratio":0.3333333333333333}',
    '{"inputs":"q2","outputs":"a,b","token_count":12,"judge/v1/score":4,"judge/v1/justification":"because 2","ratio":0.6666666666666666}',
    '{"inputs":"q3","outputs":"line\\nbreak","token_count":13,"judge/v1/score":3,"judge/v1/justification":"because 3","ratio":1.0}', "" }, "\n"), "jsonl")
  c, out = runs({ "export", "alpha", "--format", "mlflow-json" })
  h.eq(out, '{"columns":["inputs","outputs","token_count","judge/v1/score","judge/v1/justification","ratio"],'
    .. '"data":[["q1","h\\u00e9llo \\"x\\"",11,5,"because 1",0.3333333333],'
    .. '["q2","a,b",12,4,"because 2",0.6666666667],["q3","line\\nbreak",13,3,"because 3",1.0]]}', "mlflow-json")
  local text = require("evalua.cli.runs").export_text({ names = { "a", "b", "c", "d" }, n_rows = 2,
    columns = { a = { n = 2, 1 }, b = { n = 2, 1, 2 }, c = { n = 2, 1, 2.5 }, d = { n = 2, 1, "x" } } }, "mlflow-json")
  h.eq(text, '{"columns":["a","b","c","d"],"data":[[1.0,1,1.0,1],[null,2,2.5,"x"]]}', "pandas dtypes")
  local f = d .. "/out.json"
  c = runs({ "export", "alpha", "--format", "mlflow-json", "-o", f })
  h.eq(c, 0, "to file")
  h.eq(cjson.decode(h.read(f)).columns[2], "outputs", "file content")
  c, _, err = runs({ "export", "alpha" })
  h.eq(c, 2, "no format") h.eq(err, "evalua: runs export: --format csv|jsonl|mlflow-json is required\n", "message")
  c, _, err = runs({ "export", "alpha", "--format", "xml" })
  h.eq(c, 2, "bad format") h.eq(err, "evalua: runs export: --format must be csv, jsonl or mlflow-json, got 'xml'\n", "message")
  c, _, err = runs({ "export", "alpha", "--format", "csv", "--table", "nope" })
  h.eq(c, 1, "no such table")
  assert(err:find("^evalua: runs export: run %x+ has no table 'nope' %(tables: eval_results_table%)\n$"), err)
end)

h.case("runs compare", function()
  local c, out = runs({ "compare", "alpha", "beta" })
  h.eq(c, 0, "exit")
  local l = lines(out)
  h.eq(l[1], "runs (baseline first):", "title")
  assert(l[2]:find("^  A  %x+  alpha  translation  FINISHED  "), l[2])
  assert(l[3]:find("^  B  %x+  beta   translation  FINISHED  "), l[3])
  h.eq(l[4], "paired rows B-A: 3 (by inputs)", "pairing")
  assert(l[6]:find("^METRIC%s+A%s+B%s+B%-A%s+95%% CI$"), l[6])
  local found = {}
  for _, x in ipairs(l) do
    if x:find("^judge/v1/mean%s+4%s+2%s+%-2%s+%[%-2, %-2%]%s+worse$") then found.mean = true end
    if x:find("^token_count %(row mean%)%s+12%s+12%s+0%s+%[0, 0%]$") then found.tc = true end
    if x:find("^ratio") then found.ratio = true end
    if x == "  judge/v1/score: 0 up, 3 down, 0 same (0 better, 3 worse)" then found.flips = true end
    if x == "    row 1: 5 -> 3  q1" then found.row = true end
    if x == "(paired bootstrap over shared rows, 2000 resamples, seed 42)" then found.note = true end
  end
  for _, k in ipairs({ "mean", "tc", "flips", "row", "note" }) do
    if not found[k] then error("missing " .. k .. " in:\n" .. out) end
  end
  h.eq(found.ratio, nil, "a non-score column is not compared")
  local c2, out2 = runs({ "compare", "alpha", "beta" })
  h.eq(out2, out, "reproducible")
  c, out = runs({ "compare", "alpha", "beta", "--json" })
  local j = cjson.decode(out)
  h.eq(j.runs[2].name, "beta", "json") h.eq(j.seed, 42, "seed") h.eq(j.resamples, 2000, "B")
  c, out, err = runs({ "compare", "alpha", "beta", "--fail-on-regression" })
  h.eq(c, 1, "regression exit")
  assert(err:find("^evalua: gate failed: judge/v1/mean regressed: 4 %-> 2 %(difference %-2, 95%% CI %[%-2, %-2%] over 3 rows%) against alpha %(%x+%)\n$"), err)
  c = runs({ "compare", "beta", "alpha", "--fail-on-regression" })
  h.eq(c, 0, "improvement passes")
  c = runs({ "compare", "alpha", "beta", "--fail-on-regression", "--min-effect", "3" })
  h.eq(c, 0, "min effect")
  c, out = runs({ "compare", "alpha", "beta", "gamma" })
  h.eq(c, 0, "three runs")
  assert(out:find("paired rows C-A: 3", 1, true), out)
  assert(out:find("METRIC%s+A%s+B%s+C%s+B%-A%s+95%% CI%s+C%-A%s+95%% CI"), out)
  c, _, err = runs({ "compare", "alpha" })
  h.eq(c, 2, "one run") h.eq(err, "evalua: runs compare: give at least two runs (the baseline first)\n", "message")
  c, _, err = runs({ "compare", "alpha", "nope" })
  h.eq(c, 2, "unknown run: an input error")
  h.eq(err, "evalua: runs compare: no run matches 'nope' in " .. db .. "\n", "message")
end)

h.case("runs delete", function()
  local c, out, e = runs({ "delete", "gamma", "nosuch" })
  h.eq(c, 2, "one unknown run: nothing deleted")
  h.eq(e, "evalua: runs delete: no run matches 'nosuch' in " .. db .. "\n", "message")
  c, out = runs({ "list", "--json" })
  h.eq(#cjson.decode(out), 3, "still three runs")
  c, out = runs({ "delete", "gamma" })
  h.eq(c, 0, "exit")
  assert(out:find("^deleted run gamma %(%x+%)\n$"), out)
  c, out = runs({ "list", "--json" })
  h.eq(#cjson.decode(out), 2, "two runs left")
  c, _, e = runs({ "show", "gamma" })
  h.eq(c, 2, "gone: an unknown run")
  -- nothing of it is left in any table
  local st = require("evalua.store").open(db)
  for _, t in ipairs({ "tags", "params", "metrics", "cells", "result_tables", "table_columns", "artifacts", "accounting" }) do
    local n = st:first("SELECT count(*) AS n FROM " .. t .. " WHERE run_id NOT IN (SELECT id FROM runs)").n
    h.eq(n, 0, "orphans in " .. t)
  end
  st:close()
  c, _, e = runs({ "delete" })
  h.eq(c, 2, "no run") h.eq(e, "evalua: runs delete: give the runs to delete\n", "message")
end)

h.case("errors: unknown run, unknown command, no store", function()
  local c, _, e = runs({ "show", "nosuch" })
  h.eq(c, 2, "exit") h.eq(e, "evalua: runs show: no run matches 'nosuch' in " .. db .. "\n", "message")
  c, _, e = runs({ "frob" })
  h.eq(c, 2, "exit") h.eq(e, "evalua: runs: unknown command 'frob' (list, show, export, compare, push, delete)\n", "message")
  c, _, e = runs({ "show" })
  h.eq(c, 2, "exit") h.eq(e, "evalua: runs show: give one run\n", "message")
  c, _, e = runs({ "list", "--bogus" })
  h.eq(c, 2, "exit") h.eq(e, "evalua: runs: unknown option '--bogus'\n", "message")
  local missing = d .. "/missing.db"
  c, _, e = h.evalua({ "runs", "--store", missing, "show", "x" })
  h.eq(c, 2, "exit (an input error)")
  h.eq(e, "evalua: runs: no run store at '" .. missing .. "' (give --store PATH or set EVALUA_STORE)\n", "message")
  local f = io.open(missing, "rb")
  h.eq(f, nil, "no store file created by reading")
end)

h.done()
