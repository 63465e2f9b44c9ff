-- The run store: lazy creation, store path, runs and their statuses, round
-- trips of params/metrics/cells/tables/artifacts/accounting, id prefixes,
-- resume (explicit and automatic), shards, concurrent writer processes and
-- a writer killed with SIGKILL.
local h = require "helper"
local config = require "evalua.config"
local tracking = require "evalua.tracking"
local store = require "evalua.store"
local core = require "evalua.core"

local function fresh_store()
  tracking.close()
  local d = h.tmpdir()
  config.store_path = d .. "/runs.db"
  return d, config.store_path
end

local function exists(p)
  local f = io.open(p, "rb")
  if f then f:close() return true end
  return false
end

local function q(p) return h.quote(p) end

h.case("evalua.store binding: open, rows, params, blob, errors", function()
  local d = h.tmpdir()
  local db = assert(store.open(d .. "/x.db"))
  h.eq(db:schema_version(), store.schema_version, "schema version")
  db:run("INSERT INTO params(run_id, key, value) VALUES (?, ?, ?)", "r", "k", "v")
  local rows = db:rows("SELECT ?1 AS i, ?2 AS f, ?3 AS s, ?4 AS b, ?5 AS n, ?6 AS t",
    7, 2.5, "a\0b", store.blob("\0\255"), nil, true)
  h.eq(#rows, 1, "rows")
  h.eq(math.type(rows[1].i), "integer", "integer type")
  h.eq(rows[1].f, 2.5, "float")
  h.eq(rows[1].s, "a\0b", "text with NUL")
  h.eq(rows[1].b, "\0\255", "blob")
  h.eq(rows[1].n, nil, "null")
  h.eq(rows[1].t, 1, "boolean")
  h.eq(db:first("SELECT value FROM params WHERE key = ?", "k").value, "v", "first")
  h.eq(db:first("SELECT value FROM params WHERE key = ?", "zz"), nil, "first of nothing")
  h.raises("store: statement takes 1 parameters, got 0", db.rows, db, "SELECT ?")
  h.raises("syntax error", db.run, db, "SELEC 1")
  h.raises("cannot bind a table", db.run, db, "SELECT ?", {})
  db:begin()
  h.raises("store: a transaction is already open", db.begin, db)
  db:rollback()
  db:close()
  h.raises("store: the database is closed", db.rows, db, "SELECT 1")
  local bad, err = store.open("/nonexistent-dir/x.db")
  h.eq(bad, nil, "open of a missing dir")
  assert(err:find("^store: /nonexistent%-dir/x%.db: "), err)
end)

h.case("a script that never logs creates no store; readers create none", function()
  local d = h.tmpdir()
  local code = h.sh("cd " .. q(d) .. " && " .. q(h.bin) .. " -e " ..
    q("local e = require 'evalua'; local t = require 'evalua.tracking'; assert(#t.list_runs() == 0); assert(t.get_run('x') == nil)"))
  h.eq(code, 0, "exit")
  h.eq(exists(d .. "/evalua.db"), false, "no evalua.db")
end)

h.case("store path: default ./evalua.db, EVALUA_STORE, --store", function()
  local d = h.tmpdir()
  local code = h.sh("cd " .. q(d) .. " && " .. q(h.bin) .. " -e " .. q("require('evalua').log_metric('m', 1)"))
  h.eq(code, 0, "exit")
  assert(exists(d .. "/evalua.db"), "default file")
  code = h.sh("cd " .. q(d) .. " && EVALUA_STORE=env.db " .. q(h.bin) .. " -e " .. q("require('evalua').log_metric('m', 1)"))
  h.eq(code, 0, "exit")
  assert(exists(d .. "/env.db"), "EVALUA_STORE")
  code = h.sh("cd " .. q(d) .. " && EVALUA_STORE=env.db " .. q(h.bin) .. " --store flag.db -e " .. q("require('evalua').log_metric('m', 1)"))
  h.eq(code, 0, "exit")
  assert(exists(d .. "/flag.db"), "--store wins")
end)

h.case("start_run with <close>: FINISHED, FAILED on error, nested raises", function()
  fresh_store()
  local evalua = require "evalua"
  evalua.set_experiment("exp-a")
  local id
  do
    local run <close> = evalua.start_run{ run_name = "ok-run", tags = { team = "x" } }
    id = run.id
    h.eq(evalua.active_run(), run, "active")
    h.raises("start_run: run 'ok-run' (" .. id:sub(1, 8) .. ") is already active", evalua.start_run, {})
  end
  h.eq(evalua.active_run(), nil, "ended")
  local r = tracking.get_run(id)
  h.eq(r.info.status, "FINISHED", "status")
  h.eq(r.info.experiment, "exp-a", "experiment")
  h.eq(r.tags.team, "x", "tag")
  h.eq(r.tags["evalua.runName"], "ok-run", "runName tag")
  assert(r.info.end_time >= r.info.start_time, "times")
  h.eq(#id, 32, "id length")
  assert(id:match("^%x+$"), id)
  local fid
  local ok = pcall(function()
    local run <close> = evalua.start_run{}
    fid = run.id
    error("boom")
  end)
  h.eq(ok, false, "error propagates")
  local f = tracking.get_run(fid)
  h.eq(f.info.status, "FAILED", "failed status")
  assert(f.info.name:match("^%l+%-%l+%-%d+$"), "random name " .. f.info.name)
  h.raises("start_run: unknown field 'bogus'", evalua.start_run, { bogus = 1 })
  h.raises("set_experiment: expected a non-empty name", evalua.set_experiment, "")
end)

h.case("round trips: params, metrics, cells, tables, artifacts, accounting", function()
  fresh_store()
  local evalua = require "evalua"
  local run = evalua.start_run{ run_name = "trip" }
  evalua.log_param("model", "gpt-4")
  evalua.log_param("temperature", 0.5)
  run:log_params{ nested = { a = 1 } }
  evalua.log_metric("acc", 0.1 + 0.2)
  evalua.log_metric("nan_metric", 0 / 0)
  run:log_metrics({ ["faith/v1/mean"] = 4.5, ["faith/v1/failures"] = 2, ["faith/v1/variance"] = 0.25,
    ["tox/v1/mean"] = 0.1 }, { ["faith/v1"] = true, tox = false })
  local values = {
    [1] = 42, [2] = 0.1 + 0.2, [3] = "héllo\0x", [4] = true, [5] = false, [6] = 0 / 0,
    [7] = { score = 4, justification = "ok", list = { 1, 2.0, "x" } }, [8] = math.huge,
    [9] = 2 ^ 60 | 0, [10] = -0.0,
  }
  for i = 1, 10 do run:put_cell("k", i, values[i]) end
  run:put_cell("k", 11, nil)
  run:put_cells("col", { n = 3, 1, nil, "c" })
  run:put_row(5, { a = 1, b = "two" })
  local t = { columns = { "inputs", "n", "score", "nested" }, data = {
    { "q1", 1, 1.5, { x = 1 } }, { "q\"2\"", 2, nil, nil }, { "ü", 3, 0 / 0, { 1, 2 } } } }
  run:log_table("eval_results_table", t)
  run:log_table("rows_form", { { a = 1, b = "x" }, { a = 2 } })
  run:set_accounting({ requests = 3, models = { ["openai:gpt"] = { requests = 3, cost_usd = 0.25 } } })
  local d = h.tmpdir()
  h.write(d .. "/plot.svg", "<svg/>")
  h.eq(evalua.log_artifact(d .. "/plot.svg"), "plot.svg", "artifact name")
  evalua.log_artifact("raw.bin", "\0\1\2")
  tracking.end_run()

  local r = tracking.get_run("trip")
  h.eq(r.params.model, "gpt-4", "param")
  h.eq(r.params.temperature, "0.5", "numeric param as text")
  h.eq(r.params.nested, '{"a":1}', "table param as JSON")
  h.eq(r.metrics.acc, 0.1 + 0.2, "exact metric")
  assert(r.metrics.nan_metric ~= r.metrics.nan_metric, "NaN metric kept")
  h.eq(r.greater_is_better["faith/v1/mean"], true, "gib from prefix")
  h.eq(r.greater_is_better["faith/v1/failures"], false, "failures are lower-better")
  h.eq(r.greater_is_better["faith/v1/variance"], nil, "variance has no direction")
  h.eq(r.greater_is_better["tox/v1/mean"], false, "gib false")
  h.eq(r.greater_is_better.acc, nil, "no gib")
  h.eq(r.accounting.models["openai:gpt"].cost_usd, 0.25, "accounting")
  h.eq(math.type(r.accounting.requests), "integer", "accounting integers stay integers")

  local cells, present = tracking.load_cells(r.info.id, "k")
  h.eq(cells[1], 42, "int cell") h.eq(math.type(cells[1]), "integer", "int type")
  h.eq(cells[2], 0.1 + 0.2, "float cell") h.eq(math.type(cells[2]), "float", "float type")
  h.eq(cells[3], "héllo\0x", "string cell")
  h.eq(cells[4], true, "true") h.eq(cells[5], false, "false")
  assert(cells[6] ~= cells[6], "NaN cell")
  h.same(cells[7], { score = 4, justification = "ok", list = { 1, 2.0, "x" } }, "table cell")
  h.eq(math.type(cells[7].score), "integer", "nested integer stays integer")
  h.eq(math.type(cells[7].list[2]), "float", "nested float stays float")
  h.eq(cells[8], math.huge, "inf")
  h.eq(cells[9], 2 ^ 60 | 0, "big integer")
  h.eq(cells[11], nil, "nil cell") h.eq(present[11], true, "nil cell present")
  h.eq(present[12], nil, "absent row")
  local c2, p2 = tracking.load_cells("trip", "col")
  h.eq(c2[1], 1, "column list cell 1")
  h.eq(c2[2], nil, "hole")
  h.eq(c2[3], "c", "column list cell 3")
  h.eq(p2[2], true, "the hole is a stored row")
  h.eq(tracking.load_cells("trip", "a")[5], 1, "put_row")

  local tc = tracking.load_table_columns("trip")
  h.same(tc.names, { "inputs", "n", "score", "nested" }, "column order")
  h.eq(tc.n_rows, 3, "rows")
  h.eq(tc.columns.inputs[2], 'q"2"', "string")
  h.eq(math.type(tc.columns.n[3]), "integer", "integer column")
  h.eq(tc.columns.score[1], 1.5, "float")
  h.eq(tc.columns.score[2], nil, "nil in table")
  assert(tc.columns.score[3] ~= tc.columns.score[3], "NaN in table")
  h.same(tc.columns.nested[1], { x = 1 }, "nested")
  h.eq(tc.columns.nested[2], nil, "nested nil")
  local et = tracking.load_table("trip")
  assert(require("evalua.table").is(et), "load_table gives an evalua table")
  h.same(et:columns(), { "inputs", "n", "score", "nested" }, "evalua table columns")
  h.eq(#et, 3, "evalua table rows")
  h.eq(et:column("inputs")[3], "ü", "evalua table cell")
  h.eq(math.type(et:column("n")[2]), "integer", "evalua table integer")
  local rf = tracking.load_table_columns("trip", "rows_form")
  h.same(rf.names, { "a", "b" }, "rows form columns")
  h.eq(rf.columns.b[2], nil, "rows form hole")
  h.eq(r.info.n_rows, 3, "n_rows from eval_results_table")
  -- log_table replaces a table of the same name
  local run2 = tracking.start_run{ run_id = r.info.id }
  run2:log_table("rows_form", { { a = 9 } })
  run2:finish()
  h.eq(tracking.load_table_columns("trip", "rows_form").n_rows, 1, "replaced")
  local _, err = tracking.load_table_columns("trip", "nope")
  assert(err:find("has no table 'nope'", 1, true), err)

  local arts = tracking.artifacts("trip")
  h.eq(#arts, 2, "artifacts")
  h.eq(arts[1].name, "plot.svg", "name") h.eq(arts[1].mime, "image/svg+xml", "mime")
  local bytes, mime = tracking.artifact("trip", "raw.bin")
  h.eq(bytes, "\0\1\2", "bytes") h.eq(mime, "application/octet-stream", "mime")
  h.same(r.tables, { "eval_results_table", "rows_form" }, "table names")
  h.same(tracking.tables("trip"), { { name = "eval_results_table", n_rows = 3, columns = { "inputs", "n", "score", "nested" } },
    { name = "rows_form", n_rows = 1, columns = { "a" } } }, "table info")
end)

h.case("bad arguments raise clear errors", function()
  fresh_store()
  local run = tracking.start_run{}
  h.raises("put_cell: row must be a positive integer, got 0", run.put_cell, run, "k", 0, 1)
  h.raises("put_cell: expected a non-empty string key", run.put_cell, run, "", 1, 1)
  h.raises("put_cell: cannot store a function", run.put_cell, run, "k", 1, print)
  h.raises("log_metric: 'm' must be a number, got string", run.log_metric, run, "m", "x")
  h.raises("log_table: expected an evalua table or a list of rows, got number", run.log_table, run, "t", 5)
  h.raises("log_artifact: /nonexistent/file", run.log_artifact, run, "/nonexistent/file")
  h.raises("finish: status must be FINISHED, FAILED or KILLED", run.finish, run, "DONE")
  run:finish()
end)

h.case("resolve: id, unique prefix, name, ambiguous, missing", function()
  fresh_store()
  local ids = {}
  for i = 1, 40 do
    local r = tracking.start_run{ run_name = "n" .. i }
    ids[i] = r.id
    r:finish()
  end
  h.eq(tracking.resolve(ids[3]), ids[3], "full id")
  h.eq(tracking.resolve(ids[3]:sub(1, 10)), ids[3], "prefix")
  h.eq(tracking.resolve("n7"), ids[7], "name")
  -- some one-digit prefix is shared by several of 40 runs
  local count = {}
  for _, id in ipairs(ids) do count[id:sub(1, 1)] = (count[id:sub(1, 1)] or 0) + 1 end
  local shared
  for p, n in pairs(count) do if n > 1 then shared = p end end
  local id, err = tracking.resolve(shared)
  h.eq(id, nil, "ambiguous")
  assert(err:find("run '" .. shared .. "' is ambiguous: it matches ", 1, true), err)
  id, err = tracking.resolve("nosuchrun")
  h.eq(id, nil, "missing")
  assert(err:find("no run matches 'nosuchrun' in ", 1, true), err)
  h.eq(#tracking.list_runs{ limit = 5 }, 5, "limit")
  h.eq(tracking.list_runs()[1].name, "n40", "newest first")
end)

h.case("at_finish ends a still-active run: FINISHED on success, FAILED on error", function()
  local d = h.tmpdir()
  local db = d .. "/s.db"
  local code = h.evalua({ "--store", db, "-e", "require('evalua').log_metric('m', 1)" })
  h.eq(code, 0, "exit")
  code = h.evalua({ "--store", db, "-e", "require('evalua').start_run{ run_name = 'bad' }; error('x')" })
  h.eq(code, 1, "exit")
  config.store_path = db
  tracking.close()
  local runs = tracking.list_runs()
  h.eq(#runs, 2, "runs")
  h.eq(tracking.get_run("bad").info.status, "FAILED", "failed script")
  h.eq(runs[2].status, "FINISHED", "ok script")
end)

-- a script that acts like evaluate: takes the evaluate run, fills the rows
-- not there yet (one per second row, or all), and exits hard after `stop`
-- rows when STOP is set, leaving the run unfinished
local evaluate_like = [[
local tracking = require "evalua.tracking"
local n = tonumber(os.getenv("NROWS") or "10")
local run = tracking.run_for_evaluate{ data_hash = "data-1", params = { model = "m" }, n_rows = n }
io.stdout:write(run.id, " ", tostring(run.resumed), "\n")
local done = run:cells("pred")
local stop = tonumber(os.getenv("STOP") or "0")
local wrote = 0
for _, i in ipairs(tracking.shard_rows(n)) do
  if done[i] == nil then
    run:put_cell("pred", i, { value = "p" .. i })
    wrote = wrote + 1
    if stop > 0 and wrote >= stop then io.stdout:flush() os.exit(3, false) end
  end
end
io.stdout:write("wrote ", wrote, "\n")
if run:complete() then -- every row is there: assemble, as evaluate does
  local c = run:cells("pred")
  local rows = {}
  for i = 1, n do rows[i] = { pred = c[i].value } end
  run:log_metrics({ done = 1 })
  run:log_table("eval_results_table", rows)
end
run:evaluate_done()
]]

h.case("automatic resume of an unfinished run with the same script and data", function()
  local d = h.tmpdir()
  local db = d .. "/r.db"
  local s = h.write(d .. "/ev.lua", evaluate_like)
  local code, out = h.evalua({ "--store", db, s }, { STOP = "4" })
  h.eq(code, 3, "hard exit")
  local id1, resumed1 = out:match("^(%x+) (%a+)")
  h.eq(resumed1, "false", "first run fresh")
  config.store_path = db
  tracking.close()
  h.eq(tracking.get_run(id1).info.status, "RUNNING", "left running")
  h.eq(tracking.get_run(id1).info.status_note, "stopped", "its process is gone")
  code, out = h.evalua({ "--store", db, s })
  h.eq(code, 0, "second exit")
  local id2, resumed2 = out:match("^(%x+) (%a+)")
  h.eq(id2, id1, "same run")
  h.eq(resumed2, "true", "resumed")
  assert(out:find("wrote 6\n", 1, true), out)
  local r = tracking.get_run(id1)
  h.eq(r.info.status, "FINISHED", "finished")
  h.eq(r.info.resumes, 1, "resume count")
  h.eq(r.params.model, "m", "params")
  -- a finished run is not resumed: the next run is fresh
  code, out = h.evalua({ "--store", db, s })
  local id3 = out:match("^(%x+)")
  assert(id3 ~= id1, "fresh after finish")
  assert(out:find("wrote 10\n", 1, true), out)
  -- other data: a fresh run, not the unfinished one
  h.evalua({ "--store", db, s }, { STOP = "2" })
  h.write(d .. "/ev2.lua", (evaluate_like:gsub("data%-1", "data-2")))
  code, out = h.evalua({ "--store", db, d .. "/ev2.lua" })
  assert(out:find("false\nwrote 10\n", 1, true), out)
  -- other script arguments (another model, say): a fresh run
  code, out = h.evalua({ "--store", db, s, "model-a" }, { STOP = "2" })
  h.eq(code, 3, "stopped")
  local ida = out:match("^(%x+)")
  code, out = h.evalua({ "--store", db, s, "model-b" })
  assert(out:match("^(%x+)") ~= ida and out:find("false\nwrote 10\n", 1, true), "model-b is fresh: " .. out)
  code, out = h.evalua({ "--store", db, s, "model-a" })
  h.eq(out:match("^(%x+) true\n"), ida, "model-a resumes its run")
end)

h.case("the 2nd evaluate of a script resumes only the 2nd's run", function()
  local d = h.tmpdir()
  local db = d .. "/two.db"
  local s = h.write(d .. "/two.lua", [[
local tracking = require "evalua.tracking"
for call = 1, 2 do
  local run = tracking.run_for_evaluate{ data_hash = "same", params = { model = "m" }, n_rows = 10 }
  io.stdout:write(call, " ", run.id, " ", tostring(run.resumed), "\n")
  local done, w = run:cells("pred"), 0
  for i = 1, 10 do
    if done[i] == nil then
      run:put_cell("pred", i, call * 100 + i)
      w = w + 1
      if call == 2 and os.getenv("STOP") and w >= 3 then io.stdout:flush() os.exit(3, false) end
    end
  end
  io.stdout:write("wrote ", w, "\n")
  run:evaluate_done()
end
]])
  local code, out = h.evalua({ "--store", db, s }, { STOP = "1" })
  h.eq(code, 3, "killed in the 2nd call")
  local first1, second1 = out:match("^1 (%x+) false\nwrote 10\n2 (%x+) false\n$")
  assert(first1 and second1, out)
  code, out = h.evalua({ "--store", db, s })
  h.eq(code, 0, "rerun")
  local first2, second2 = out:match("^1 (%x+) false\nwrote 10\n2 (%x+) true\nwrote 7\n$")
  assert(first2 and second2, out)
  assert(first2 ~= first1 and first2 ~= second1, "the 1st call made a fresh run")
  h.eq(second2, second1, "the 2nd call resumed its own run")
  config.store_path = db
  tracking.close()
  local cells = tracking.load_cells(second1, "pred")
  for i = 1, 10 do h.eq(cells[i], 200 + i, "row " .. i .. " of the 2nd call") end
end)

h.case("two evaluates into one active run keep their cells apart", function()
  fresh_store()
  local run = tracking.start_run{ run_name = "both" }
  local a = tracking.run_for_evaluate{ data_hash = "x", n_rows = 2 }
  h.eq(a, run, "the 1st evaluate uses the active run itself")
  a:put_cell("pred", 1, "first")
  local b = tracking.run_for_evaluate{ data_hash = "x", n_rows = 2 }
  h.eq(b.id, run.id, "same run")
  h.eq(b.owned, false, "not owned")
  h.eq(b:cells("pred")[1], nil, "the 2nd evaluate does not see the 1st's rows")
  b:put_cell("pred", 1, "second")
  b:put_row(2, { pred = "second-2" })
  h.eq(a:cells("pred")[1], "first", "the 1st's rows are untouched")
  h.eq(tracking.load_cells(run.id, "eval2/pred")[1], "second", "stored under eval2/")
  h.same(b:missing_rows("pred", 3), { 3 }, "missing rows of the 2nd")
  b:evaluate_done()
  h.eq(tracking.active_run(), run, "evaluate_done keeps the script's run")
  h.eq(tracking.last_run_id(), run.id, "the gates look at it")
  run:finish()
end)

h.case("--resume RUN_ID continues that run; other data is refused", function()
  local d = h.tmpdir()
  local db = d .. "/r.db"
  local s = h.write(d .. "/ev.lua", evaluate_like)
  local _, out = h.evalua({ "--store", db, s }, { STOP = "7" })
  local id = out:match("^(%x+)")
  -- a changed script (another hash) resumes only when asked
  local s2 = h.write(d .. "/ev_changed.lua", evaluate_like .. "\n-- changed\n")
  local code
  code, out = h.evalua({ "--store", db, "--resume", id:sub(1, 8), s2 })
  h.eq(code, 0, "exit")
  assert(out:find(id .. " true\nwrote 3\n", 1, true), out)
  local c2, _, e2 = h.evalua({ "--store", db, "--resume", id, "-e", "require 'evalua.tracking'" })
  h.eq(c2, 0, "unused --resume is not an error")
  h.eq(e2, "evalua: warning: --resume " .. id .. " was not used: the script started no run and called no evaluate\n", "warning")
  local s3 = h.write(d .. "/ev3.lua", (evaluate_like:gsub("data%-1", "data-3")))
  local err
  code, out, err = h.evalua({ "--store", db, "--resume", id, s3 })
  h.eq(code, 1, "exit")
  assert(err:find("evaluate: --resume " .. id .. ": the run was made from other data", 1, true), err)
  code, out, err = h.evalua({ "--store", db, "--resume", "ffffffffffff", s })
  h.eq(code, 1, "exit")
  assert(err:find("evaluate: --resume: no run matches 'ffffffffffff'", 1, true), err)
end)

h.case("shards: same run id, rows split, merged by the last shard", function()
  local d = h.tmpdir()
  local db = d .. "/sh.db"
  local s = h.write(d .. "/ev.lua", evaluate_like)
  local c1, o1, e1 = h.evalua({ "--store", db, "--shard", "1/3", "--fail-under", "done=2", s }, { NROWS = "10" })
  local c2, o2 = h.evalua({ "--store", db, "--shard", "2/3", "--fail-under", "done=2", s }, { NROWS = "10" })
  h.eq(c1, 0, "shard 1") h.eq(c2, 0, "shard 2: gates wait for the last shard")
  assert(e1:find("^evalua: gates not checked: this shard left run %x+ to the shard that finishes last, which checks them\n$"), e1)
  assert(o1:find("wrote 4\n", 1, true), o1) -- rows 1, 4, 7, 10
  assert(o2:find("wrote 3\n", 1, true), o2) -- rows 2, 5, 8
  local id = o1:match("^(%x+)")
  h.eq(o2:match("^(%x+)"), id, "same run")
  config.store_path = db
  tracking.close()
  h.eq(tracking.get_run(id).info.status, "RUNNING", "incomplete after 2 of 3")
  h.eq(tracking.get_run(id).info.status_note, "waiting for shards", "note")
  h.eq(tracking.get_run(id).metrics.done, nil, "no final metrics yet")
  local c3, o3, e3 = h.evalua({ "--store", db, "--shard", "3/3", "--fail-under", "done=2", s }, { NROWS = "10" })
  h.eq(c3, 1, "the last shard checks the gates")
  h.eq(e3, "evalua: gate failed: done = 1 < 2\n", "gate message")
  h.eq(o3:match("^(%x+)"), id, "same run")
  local r = tracking.get_run(id)
  h.eq(r.info.status, "FINISHED", "complete")
  h.eq(r.metrics.done, 1, "the last shard assembled")
  h.eq(r.info.shard_n, 3, "shard count")
  local cells = tracking.load_cells(id, "pred")
  for i = 1, 10 do h.eq(cells[i] and cells[i].value, "p" .. i, "row " .. i) end
  -- shard_rows in process
  config.shard = { 2, 3 }
  h.same(tracking.shard_rows(10), { 2, 5, 8 }, "shard_rows")
  config.shard = nil
  h.same(tracking.shard_rows(3), { 1, 2, 3 }, "unsharded")
end)

h.case("concurrent writer processes into one store", function()
  local d = h.tmpdir()
  local db = d .. "/c.db"
  local code = h.evalua({ "--store", db, "-e",
    "local r = require('evalua').start_run{ run_name = 'shared' } print(r.id) r:finish('RUNNING')" })
  h.eq(code, 0, "setup")
  local writer = h.write(d .. "/w.lua", [[
local tracking = require "evalua.tracking"
local k, id = arg[1], arg[2]
local run = tracking.start_run{ run_id = id }
for i = 1, 200 do
  if i % 50 == 0 then run:put_cells(k .. "-batch", { [i] = i })
  else run:put_cell(k, i, i * 2) end
  if i % 20 == 0 then run:log_metric(k .. "/m", i) end
end
run:finish("RUNNING")
tracking.start_run{ run_name = "own-" .. k }:finish()
]])
  config.store_path = db
  tracking.close()
  local id = tracking.resolve("shared")
  local cmds = {}
  for k = 1, 4 do
    cmds[k] = string.format("%s --store %s %s w%d %s > %s/out%d 2>&1 &", q(h.bin), q(db), q(writer), k, id, q(d), k)
  end
  local c = h.sh(table.concat(cmds, " ") .. " wait")
  h.eq(c, 0, "writers")
  for k = 1, 4 do h.eq(h.read(d .. "/out" .. k), "", "writer " .. k .. " output") end
  for k = 1, 4 do
    local cells = tracking.load_cells(id, "w" .. k)
    local n = 0
    for i, v in pairs(cells) do
      n = n + 1
      h.eq(v, i * 2, "value")
    end
    h.eq(n, 196, "cells of writer " .. k)
    h.eq(tracking.get_run(id).metrics["w" .. k .. "/m"], 200, "metric")
    assert(tracking.resolve("own-w" .. k), "own run")
  end
end)

h.case("a writer killed with SIGKILL loses no row it reported written", function()
  local d = h.tmpdir()
  local db = d .. "/k.db"
  local progress = d .. "/progress"
  local script = h.write(d .. "/loop.lua", [[
local run = require("evalua.tracking").start_run{ run_name = "killed" }
local f = assert(io.open(arg[1], "w"))
f:write(run.id, "\n") f:flush()
local stop_at = require("evalua.core").clock() + 60 -- never outlives a broken test
for i = 1, 1e9 do
  if require("evalua.core").clock() > stop_at then break end
  run:put_cell("pred", i, { value = "row " .. i, n = i })
  f:write(i, "\n") f:flush()
end
]])
  local pidfile = d .. "/pid"
  h.sh(string.format("{ %s --store %s %s %s >/dev/null 2>&1 & echo $! > %s; }", q(h.bin), q(db), q(script),
    q(progress), q(pidfile)))
  local pid = tonumber(h.read(pidfile))
  assert(pid, "child pid")
  local last = 0
  local deadline = core.clock() + 30
  while last < 300 and core.clock() < deadline do
    core.sleep(0.02)
    local text = h.read(progress) or ""
    local n = text:match("(%d+)\n$")
    if n and text:find("\n") < #text then last = tonumber(n) end
  end
  os.execute("kill -9 " .. pid)
  core.sleep(0.1)
  assert(last >= 300, "the child wrote rows: " .. last)
  config.store_path = db
  tracking.close()
  local r = tracking.get_run("killed")
  h.eq(r.info.status, "RUNNING", "a killed run stays RUNNING")
  h.eq(r.info.status_note, "stopped", "shown as stopped")
  local _, out = h.evalua({ "--store", db, "runs", "list" })
  assert(out:find(" killed  Default     RUNNING (stopped) ", 1, true), out)
  _, out = h.evalua({ "--store", db, "runs", "show", "killed" })
  assert(out:find("  status      RUNNING  (its process is gone: rerun the script, or evalua run --resume "
    .. r.info.id:sub(1, 12) .. " SCRIPT)\n", 1, true), out)
  local cells = tracking.load_cells(r.info.id, "pred")
  for i = 1, last do
    local c = cells[i]
    if not c or c.value ~= "row " .. i or c.n ~= i then error("row " .. i .. " lost") end
  end
end)

h.case("json_encode: exact numbers, MLflow form, escapes", function()
  local j = tracking.json_encode
  h.eq(j({ 1, 2.0, 0.1, -0.0, 1e300, 2 ^ 53 }), "[1,2.0,0.1,-0.0,1e+300,9007199254740992.0]", "exact")
  h.eq(j({ 0 / 0, math.huge, -math.huge }), "[NaN,Infinity,-Infinity]", "non-finite")
  h.eq(j({ 0 / 0, math.huge, 1.5 }, { strict = true }), "[null,null,1.5]", "strict")
  h.eq(j({ 0 / 0, 1 / 3, 2.0, 1234.56789012345, 1e-12 }, { decimals = 10 }), "[null,0.3333333333,2.0,1234.5678901235,0.0]", "10 decimals")
  h.eq(j("é😀\n\"\\\1", { ascii = true }), '"\\u00e9\\ud83d\\ude00\\n\\"\\\\\\u0001"', "ascii escapes")
  h.eq(j("é"), '"é"', "utf-8 kept")
  h.eq(j({ n = 3, 1 }), "[1,null,null]", "column list")
  h.eq(j({ b = 1, a = { true, false } }), '{"a":[true,false],"b":1}', "sorted keys")
  h.eq(j({}), "[]", "empty")
  h.raises("json.encode: cannot encode a function", j, { print })
  local v = tracking.json_decode('{"a":[1,2.5,null,"\\u00e9\\ud83d\\ude00"],"b":-3,"c":NaN,"d":1e2}')
  h.eq(math.type(v.a[1]), "integer", "int") h.eq(v.a[2], 2.5, "float") h.eq(v.a.n, 4, "n with null")
  h.eq(v.a[4], "é😀", "unicode") h.eq(v.b, -3, "negative") assert(v.c ~= v.c, "NaN")
  h.eq(math.type(v.d), "float", "exponent is float")
  h.raises("json.decode: trailing text at byte 5", tracking.json_decode, "[1] x")
  h.raises("json.decode: unclosed string", tracking.json_decode, '"abc')
  h.eq(tracking.json_decode, require("evalua.json").decode, "the one codec (tests/lua/test_json.lua)")
end)

h.done()
