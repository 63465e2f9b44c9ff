-- Kill and resume: a real SIGKILL of a child evalua in the middle of an
-- evaluate against the loopback test server, then `evalua run --resume
-- RUN_ID` (and the automatic resume) computes only the missing rows, and
-- the final table equals the one of an uninterrupted run. Rows stream (a
-- row's judge starts as soon as its prediction exists), so a kill leaves
-- some predictions and some judgements stored; a resume asks exactly the
-- missing ones.
local h = require "helper"
local config = require "evalua.config"
local tracking = require "evalua.tracking"
local core = require "evalua.core"

local ts = require("testserver").start{ latency_ms = 150 }
local d = h.tmpdir()
local N = 24

local script = h.write(d .. "/ev.lua", [[
local evalua = require "evalua"
local genai = evalua.metrics.genai
local n = tonumber(os.getenv("NROWS"))
local inputs = { n = n }
for i = 1, n do inputs[i] = "sentence number " .. i end
local data = evalua.table.from({ { "user_input", inputs } })
local quality = genai.make_genai_metric{ name = "quality", definition = "How good the answer is.",
  grading_prompt = "Score 1-5: 1 bad, 5 good.", model = "openai:/gpt-4", greater_is_better = true }
local model = evalua.openai.model{ model = "gpt-3.5-turbo",
  messages = { { role = "user", content = "{user_input}" } } }
evalua.set_experiment("resume")
local r = evalua.evaluate{ model = model, data = data, model_type = "text", extra_metrics = { quality },
  evaluator_config = { col_mapping = { inputs = "user_input" } } }
print("RUN " .. r.run_id)
]])

local env = { OPENAI_API_KEY = "test-key", OPENAI_BASE_URL = ts.url .. "/v1", NROWS = tostring(N) }

local function run_evalua(args)
  local a = { "--no-cache", "--quiet", "--concurrency", "3" }
  for _, x in ipairs(args) do a[#a + 1] = x end
  return h.evalua(a, env)
end

local function export(db, id)
  local code, out, err = h.evalua({ "--store", db, "runs", "export", id, "--format", "jsonl" })
  assert(code == 0, err)
  return out
end

local function count(t)
  local n = 0
  for _ in pairs(t) do n = n + 1 end
  return n
end

-- starts the script in the background, waits until `key` has at least
-- `want` cells in its run, kills it with SIGKILL; returns the run id
local function start_and_kill_once(db, key, want)
  local pidfile = d .. "/pid"
  os.remove(pidfile)
  local parts = {}
  for k, v in pairs(env) do parts[#parts + 1] = k .. "=" .. h.quote(v) end
  h.sh(string.format("{ %s %s --no-cache --quiet --concurrency 3 --store %s %s >/dev/null 2>&1 & echo $! > %s; }",
    table.concat(parts, " "), h.quote(h.bin), h.quote(db), h.quote(script), h.quote(pidfile)))
  local pid = assert(tonumber(h.read(pidfile)), "child pid")
  config.store_path = db
  local id
  local deadline = core.clock() + 30
  while core.clock() < deadline do
    core.sleep(0.03)
    tracking.close()
    local runs = tracking.list_runs()
    if runs[1] then
      id = runs[1].id
      if count((tracking.load_cells(id, key))) >= want then break end
    end
  end
  os.execute("kill -9 " .. pid)
  core.sleep(0.2)
  tracking.close()
  assert(id, "the child made a run")
  return id
end

-- the same, again with a fresh store when a loaded machine let the child
-- finish every row of key before the kill landed
local function start_and_kill(db, key, want)
  for attempt = 1, 3 do
    local path = db:gsub("%.db$", "") .. "-" .. attempt .. ".db"
    local id = start_and_kill_once(path, key, want)
    config.store_path = path
    local n = count((tracking.load_cells(id, key)))
    tracking.close()
    if n < N then return id, path end
  end
  error("the child finished before every kill (machine too slow?)")
end

-- the uninterrupted reference
local ref_db = d .. "/ref.db"
local code, out, err = run_evalua({ "--store", ref_db, script })
assert(code == 0, err)
local ref_id = out:match("RUN (%x+)")
local reference = export(ref_db, ref_id)
assert(select(2, reference:gsub("\n", "")) == N, reference)

h.case("SIGKILL during the judge, then run --resume RUN_ID", function()
  local id, db = start_and_kill(d .. "/kill1.db", "quality/v1", 4)
  config.store_path = db
  local r = tracking.get_run(id)
  h.eq(r.info.status, "RUNNING", "the killed run is unfinished")
  local preds = count((tracking.load_cells(id, "predictions")))
  local judged = count((tracking.load_cells(id, "quality/v1")))
  assert(judged >= 4 and judged < N, "killed in the middle of the judge: " .. judged)
  assert(judged <= preds, "a row is judged after its prediction")
  tracking.close()
  ts:reset()
  local c, o, e = run_evalua({ "run", "--store", db, "--resume", id, script })
  h.eq(c, 0, "resume exit: " .. e)
  h.eq(o:match("RUN (%x+)"), id, "the same run")
  h.eq(ts:stats().requests, (N - preds) + (N - judged), "only the missing rows were requested")
  h.eq(export(db, id), reference, "the final table equals the uninterrupted run's")
  config.store_path = db
  r = tracking.get_run(id)
  h.eq(r.info.status, "FINISHED", "finished")
  h.eq(r.info.resumes, 1, "resumed once")
  tracking.close()
end)

h.case("SIGKILL during the predictions, then run --resume RUN_ID", function()
  local id, db = start_and_kill(d .. "/kill0.db", "predictions", 4)
  config.store_path = db
  local preds = count((tracking.load_cells(id, "predictions")))
  local judged = count((tracking.load_cells(id, "quality/v1")))
  assert(preds >= 4 and preds < N, "killed in the middle of the predictions: " .. preds)
  tracking.close()
  ts:reset()
  local c, o, e = run_evalua({ "run", "--store", db, "--resume", id, script })
  h.eq(c, 0, "resume exit: " .. e)
  h.eq(o:match("RUN (%x+)"), id, "the same run")
  h.eq(ts:stats().requests, (N - preds) + (N - judged), "only the missing predictions and judge rows")
  h.eq(export(db, id), reference, "the final table equals the uninterrupted run's")
end)

h.case("SIGKILL again during the judge, then the automatic resume", function()
  local id, db = start_and_kill(d .. "/kill2.db", "quality/v1", 10)
  config.store_path = db
  local preds = count((tracking.load_cells(id, "predictions")))
  local judged = count((tracking.load_cells(id, "quality/v1")))
  assert(judged >= 10 and judged < N, "killed in the middle of the judge: " .. judged)
  tracking.close()
  ts:reset()
  local c, o, e = run_evalua({ "--store", db, script })
  h.eq(c, 0, "rerun exit: " .. e)
  h.eq(o:match("RUN (%x+)"), id, "the unfinished run was picked up without --resume")
  h.eq(ts:stats().requests, (N - preds) + (N - judged), "only the missing rows were requested")
  h.eq(export(db, id), reference, "the final table equals the uninterrupted run's")
  -- a finished run is not resumed again
  ts:reset()
  c, o = run_evalua({ "--store", db, script })
  h.eq(c, 0, "third run")
  assert(o:match("RUN (%x+)") ~= id, "a new run after a finished one")
  h.eq(ts:stats().requests, 2 * N, "a new run computes everything")
end)

h.case("three shard processes at once merge into one run equal to the reference", function()
  local db = d .. "/shards.db"
  ts:reset()
  local parts = {}
  for k, v in pairs(env) do parts[#parts + 1] = k .. "=" .. h.quote(v) end
  local cmds = {}
  for i = 1, 3 do
    cmds[i] = string.format("%s %s --no-cache --quiet --concurrency 3 --store %s --shard %d/3 %s > %s 2>&1 &",
      table.concat(parts, " "), h.quote(h.bin), h.quote(db), i, h.quote(script), h.quote(d .. "/shard" .. i))
  end
  h.eq((h.sh(table.concat(cmds, " ") .. " wait")), 0, "shards ran")
  local ids = {}
  for i = 1, 3 do
    local o = h.read(d .. "/shard" .. i)
    ids[i] = o:match("RUN (%x+)")
    assert(ids[i], o)
  end
  h.eq(ids[2], ids[1], "one run") h.eq(ids[3], ids[1], "one run")
  h.eq(ts:stats().requests, 2 * N, "every row computed once")
  h.eq(export(db, ids[1]), reference, "the merged table equals the unsharded one")
  config.store_path = db
  local r = tracking.get_run(ids[1])
  h.eq(r.info.status, "FINISHED", "finished by the last shard")
  h.eq(r.info.shard_n, 3, "shards")
  h.eq(r.accounting.requests, 2 * N, "the shards' accounting is summed")
  tracking.close()
end)

h.done()
