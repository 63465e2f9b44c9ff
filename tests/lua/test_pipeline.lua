-- The row pipeline against the loopback test server: binding errors send
-- nothing (exit 2); a 401 stops the run (FAILED, non-zero, names the
-- variable); failed rows beyond --max-failures exit 3; garbage judge
-- answers are asked again on the next run and not before; judges stream
-- with no barrier, all judges of a row at once, max_workers unset = no cap;
-- structured output falls back on a 400; request bodies are byte-stable
-- across processes; no socket outlives evaluate; the progress line is
-- labelled.
local h = require "helper"
local cjson = require "cjson"
local testserver = require "testserver"

local d = h.tmpdir()

-- An eval script: N rows through an openai model (or none) and judges.
-- Options through the environment: NROWS, JUDGES (count), CONTEXT (a
-- grading-context column), MAXW (max_workers), NOMODEL, SCHEMA.
local script = h.write(d .. "/ev.lua", [[
local evalua = require "evalua"
local genai = evalua.metrics.genai
local n = tonumber(os.getenv("NROWS") or "20")
local inputs, outs = { n = n }, { n = n }
for i = 1, n do inputs[i] = "sentence number " .. i; outs[i] = "answer " .. i end
local data = evalua.table.from({ { "user_input", inputs }, { "ready", outs } })
local judges = {}
for k = 1, tonumber(os.getenv("JUDGES") or "1") do
  judges[k] = genai.make_genai_metric{ name = "quality" .. k, definition = "How good the answer is.",
    grading_prompt = "Score 1-5: 1 bad, 5 good.", model = "openai:/gpt-4",
    grading_context_columns = os.getenv("CONTEXT") and { os.getenv("CONTEXT") } or nil,
    max_workers = tonumber(os.getenv("MAXW") or ""),
    structured_output = os.getenv("SCHEMA") == "1" or nil }
end
local model = evalua.openai.model{ model = "gpt-3.5-turbo",
  messages = { { role = "user", content = "{user_input}" } } }
evalua.set_experiment("pipeline")
local r = evalua.evaluate{ model = not os.getenv("NOMODEL") and model or nil,
  predictions = os.getenv("NOMODEL") and "ready" or nil,
  data = data, extra_metrics = judges,
  evaluator_config = { col_mapping = { inputs = "user_input" } } }
print("RUN " .. tostring(r.run_id))
print("MEAN " .. tostring(r.metrics["quality1/v1/mean"]))
print("FAILURES " .. tostring(r.metrics["quality1/v1/failures"]))
]])

local function env(ts, extra)
  local e = { OPENAI_API_KEY = "test-key", OPENAI_BASE_URL = ts.url .. "/v1" }
  for k, v in pairs(extra or {}) do e[k] = v end
  return e
end

local function run(args, e)
  local a = {}
  for _, x in ipairs(args) do a[#a + 1] = x end
  a[#a + 1] = script
  return h.evalua(a, e)
end

-- ------------------------------------------------------------ bind before spending

h.case("binding errors send no request and exit 2", function()
  local ts <close> = testserver.start{}
  local db = d .. "/bind.db"
  -- a judge's grading-context column that does not exist
  local code, out, err = run({ "--quiet", "--no-cache", "--store", db }, env(ts, { CONTEXT = "context" }))
  h.eq(code, 2, "exit: " .. err .. out)
  assert(err:find("evaluate: metric 'quality1' needs 'context'", 1, true), err)
  assert(not err:find("stack traceback", 1, true), "a usage error has no traceback: " .. err)
  h.eq(ts:stats().requests, 0, "requests sent")
  -- a make_metric parameter that binds to nothing
  local s2 = h.write(d .. "/bind2.lua", [[
local evalua = require "evalua"
local m = evalua.metrics.make_metric{ name = "m", eval_fn = function(predictions, nosuch) return {} end }
evalua.evaluate{ model = evalua.openai.model{ model = "x", messages = { { role = "user", content = "{q}" } } },
  data = evalua.table.from({ q = { "a", "b" } }), extra_metrics = { m } }
]])
  code, out, err = h.evalua({ "--quiet", "--no-cache", "--store", db, s2 }, env(ts))
  h.eq(code, 2, "exit: " .. err)
  assert(err:find("evaluate: metric 'm' needs 'nosuch'", 1, true), err)
  -- a template placeholder naming no column
  local s3 = h.write(d .. "/bind3.lua", [[
local evalua = require "evalua"
evalua.evaluate{ model = evalua.openai.model{ model = "x", messages = { { role = "user", content = "{nope}" } } },
  data = evalua.table.from({ q = { "a", "b" }, r = { "c", "d" } }), model_type = "text" }
]])
  code, out, err = h.evalua({ "--quiet", "--no-cache", "--store", db, s3 }, env(ts))
  h.eq(code, 2, "exit: " .. err)
  assert(err:find("placeholder {nope} names no column", 1, true), err)
  -- a gate naming a run that does not exist
  code, out, err = run({ "--quiet", "--no-cache", "--store", db, "--fail-on-regression", "nosuchrun" }, env(ts))
  h.eq(code, 2, "exit: " .. err .. out)
  assert(err:find("--fail-on-regression nosuchrun", 1, true), err)
  h.eq(ts:stats().requests, 0, "requests sent")
end)

-- ------------------------------------------------------------ loud failures

h.case("a 401 stops the run within one round, FAILED, names the variable", function()
  local ts <close> = testserver.start{ require_key = "right-key", latency_ms = 20 }
  local db = d .. "/auth.db"
  local code, out, err = run({ "--quiet", "--no-cache", "--store", db, "--concurrency", "4" },
    env(ts, { OPENAI_API_KEY = "wrong-key", NROWS = "200" }))
  assert(code ~= 0, "a 401 run must not exit 0: " .. out)
  assert(err:find("HTTP 401", 1, true) and err:find("OPENAI_API_KEY", 1, true), err)
  assert(not err:find("wrong-key", 1, true), "the key is never shown")
  local n = ts:stats().requests
  assert(n <= 8, "requests after the 401: " .. n)
  local code2, list = h.evalua({ "--store", db, "runs", "list" })
  h.eq(code2, 0)
  assert(list:find("FAILED", 1, true), list)
end)

h.case("a missing key stops the run before any request, naming the variable", function()
  -- no OPENAI_BASE_URL: the real service, which needs a key; nothing is sent
  local db = d .. "/nokey.db"
  local code, out, err = run({ "--quiet", "--no-cache", "--store", db }, { OPENAI_API_KEY = "", NROWS = "50" })
  assert(code ~= 0, "a run with no key must not exit 0: " .. out)
  assert(err:find("OPENAI_API_KEY is not set", 1, true), err)
  assert(err:find("the run was stopped", 1, true), err)
  local _, list = h.evalua({ "--store", db, "runs", "list" })
  assert(list:find("FAILED", 1, true), list)
end)

h.case("every row failing: FAILED run, exit 3", function()
  local db = d .. "/down.db"
  local code, out, err = run({ "--quiet", "--no-cache", "--store", db, "--concurrency", "4" },
    { OPENAI_API_KEY = "k", OPENAI_BASE_URL = "http://127.0.0.1:1/v1", NROWS = "6" })
  h.eq(code, 3, "exit: " .. err .. out)
  assert(err:find("too many failed rows", 1, true), err)
  assert(err:find("predictions: 6 of 6 rows failed", 1, true), err)
  local code2, list = h.evalua({ "--store", db, "runs", "list" })
  assert(list:find("FAILED", 1, true), list)
end)

h.case("--offline with an empty cache: exit 3, nothing scored", function()
  local code, out, err = run({ "--quiet", "--offline", "--cache", d .. "/empty-cache.db", "--store", d .. "/off.db" },
    { OPENAI_API_KEY = "k", OPENAI_BASE_URL = "http://127.0.0.1:1/v1", NROWS = "5" })
  h.eq(code, 3, "exit: " .. err .. out)
  assert(err:find("offline and no cached response", 1, true), err)
end)

h.case("unparseable judge answers beyond --max-failures exit 3; --max-failures 1 accepts them", function()
  local ts <close> = testserver.start{ judge_garbage = 0.3, garbage_receipts = 1000 }
  local code, out, err = run({ "--quiet", "--no-cache", "--store", d .. "/garbage.db" }, env(ts, { NROWS = "40" }))
  h.eq(code, 3, "exit: " .. err .. out)
  local failed = tonumber(out:match("FAILURES (%d+)"))
  assert(failed and failed >= 4 and failed <= 24, "failures: " .. tostring(failed))
  assert(err:find("quality1/v1: " .. failed .. " of 40 rows failed (more than --max-failures 0.05); first: row ", 1, true), err)
  assert(err:find("could not read a score", 1, true), err)
  code, out, err = run({ "--quiet", "--no-cache", "--store", d .. "/garbage.db", "--max-failures", "1" },
    env(ts, { NROWS = "40" }))
  h.eq(code, 0, "exit: " .. err .. out)
  code, out, err = run({ "--quiet", "--no-cache", "--max-failures", "2" }, env(ts))
  h.eq(code, 2, "bad --max-failures")
end)

-- ------------------------------------------------------------ failures are re-asked

h.case("garbage answers are asked again on the next run, and not before", function()
  local ts <close> = testserver.start{ judge_garbage = 0.3 }
  local cache, db = d .. "/reask-cache.db", d .. "/reask.db"
  local N = 40
  local code, out, err = run({ "--quiet", "--cache", cache, "--store", db, "--max-failures", "1" },
    env(ts, { NROWS = tostring(N) }))
  h.eq(code, 0, err)
  local failed = tonumber(out:match("FAILURES (%d+)"))
  assert(failed and failed > 0, out)
  h.eq(ts:stats().requests, 2 * N, "a failed answer is not re-asked within the run")
  -- a rerun replays the good answers from the cache and asks only the failed
  -- ones (the server's counters are not reset: it answers a request well
  -- from its second receipt on)
  code, out, err = run({ "--quiet", "--cache", cache, "--store", db }, env(ts, { NROWS = tostring(N) }))
  h.eq(code, 0, err)
  h.eq(ts:stats().requests, 2 * N + failed, "exactly the failed judge rows were asked again")
  h.eq(out:match("FAILURES (%d+)"), "0", out)
  -- a third run is served entirely from the cache
  code = run({ "--quiet", "--cache", cache, "--store", db }, env(ts, { NROWS = tostring(N) }))
  h.eq(code, 0)
  h.eq(ts:stats().requests, 2 * N + failed, "everything cached")
end)

h.case("--resume re-asks exactly the failed rows (no cache)", function()
  local ts <close> = testserver.start{ judge_garbage = 0.3 }
  local db = d .. "/resume-fail.db"
  local N = 30
  local code, out, err = run({ "--quiet", "--no-cache", "--store", db }, env(ts, { NROWS = tostring(N) }))
  h.eq(code, 3, err)
  local id = out:match("RUN (%x+)")
  local failed = tonumber(out:match("FAILURES (%d+)"))
  h.eq(ts:stats().requests, 2 * N)
  code, out, err = run({ "--quiet", "--no-cache", "--store", db, "--resume", id }, env(ts, { NROWS = tostring(N) }))
  h.eq(code, 0, err)
  h.eq(out:match("RUN (%x+)"), id, "the same run")
  h.eq(ts:stats().requests, 2 * N + failed, "only the failed rows")
  h.eq(out:match("FAILURES (%d+)"), "0", out)
end)

-- ------------------------------------------------------------ streaming

h.case("all judges of a row run at once; max_workers unset is no cap, set is a cap", function()
  local ts <close> = testserver.start{ latency_ms = 200 }
  -- one row, four judges: in flight together (one on a cold start may wait
  -- for a connection, so at least three)
  local code, out, err = run({ "--quiet", "--no-cache", "--store", d .. "/conc.db" },
    env(ts, { NROWS = "1", JUDGES = "4", NOMODEL = "1" }))
  h.eq(code, 0, err)
  local st = ts:stats()
  h.eq(st.requests, 4)
  assert(st.inflight_peak >= 3, "the judges of a row are concurrent: " .. st.inflight_peak)
  -- 48 rows, one judge, --concurrency 32: the judge fills the pool
  ts:reset()
  code, out, err = run({ "--quiet", "--no-cache", "--store", d .. "/conc.db", "--concurrency", "32" },
    env(ts, { NROWS = "48", NOMODEL = "1" }))
  h.eq(code, 0, err)
  st = ts:stats()
  assert(st.inflight_peak > 10 and st.inflight_peak <= 32, "in flight: " .. st.inflight_peak)
  ts:reset()
  code, out, err = run({ "--quiet", "--no-cache", "--store", d .. "/conc.db", "--concurrency", "32" },
    env(ts, { NROWS = "24", NOMODEL = "1", MAXW = "3" }))
  h.eq(code, 0, err)
  st = ts:stats()
  assert(st.inflight_peak <= 3, "max_workers = 3: in flight " .. st.inflight_peak)
end)

h.case("no barrier: a row's judge starts before every prediction was sent", function()
  local ts <close> = testserver.start{ latency_ms = 30 }
  local s = h.write(d .. "/stream.lua", [[
local evalua = require "evalua"
local genai = evalua.metrics.genai
local n = 60
local inputs = { n = n }
for i = 1, n do inputs[i] = "sentence " .. i end
local seen
local judge = genai.make_genai_metric{ name = "q", definition = "d", grading_prompt = "g",
  model = function(prompt)
    if not seen then
      -- the model requests the server had received when the first judge ran
      local p = io.popen("curl -s " .. os.getenv("OPENAI_BASE_URL"):gsub("/v1$", "") .. "/stats")
      seen = require("cjson").decode(p:read("a")).requests
      p:close()
    end
    return "score: 3\njustification: ok"
  end }
local r = evalua.evaluate{ model = evalua.openai.model{ model = "m", messages = { { role = "user", content = "{inputs}" } } },
  data = evalua.table.from({ inputs = inputs }), extra_metrics = { judge } }
print("SEEN " .. seen)
]])
  local code, out, err = h.evalua({ "--quiet", "--no-cache", "--store", d .. "/stream.db", "--concurrency", "4", s }, env(ts))
  h.eq(code, 0, err)
  local seen = tonumber(out:match("SEEN (%d+)"))
  assert(seen and seen < 60, "the first judge waited for every prediction: " .. tostring(seen))
end)

-- ------------------------------------------------------------ structured output

h.case("a 400 refusing json_schema falls back to plain text, once per slot", function()
  local ts <close> = testserver.start{ refuse_json_schema = 1, latency_ms = 20 }
  local N = 30
  local code, out, err = run({ "--quiet", "--no-cache", "--store", d .. "/schema.db", "--concurrency", "4" },
    env(ts, { NROWS = tostring(N), SCHEMA = "1" }))
  h.eq(code, 0, err .. out)
  h.eq(out:match("FAILURES (%d+)"), "0", out)
  local st = ts:stats()
  local refused = st.status and st.status["400"] or 0
  assert(refused >= 1 and refused <= 4, "refusals: " .. tostring(refused))
  h.eq(st.requests, 2 * N + refused, "one extra request per refusal")
end)

-- ------------------------------------------------------------ byte-stable bodies

h.case("request bodies are byte-identical across processes", function()
  local ts <close> = testserver.start{ log = true }
  local s = h.write(d .. "/bodies.lua", [[
local common = require "evalua.providers.common"
local req = require("evalua.providers.openai").build_request{ model = "m",
  messages = { { role = "user", content = "x" } },
  params = { temperature = 0.5, max_tokens = 20, top_p = 1.0, seed = 3, stop = { "a", "b" },
    logit_bias = { ["12"] = 1, ["7"] = -1, ["300"] = 2 } },
  json_schema = { name = "j", schema = { type = "object", properties = { b = { type = "string" },
    a = { type = "integer" } } } } }
io.write(req.body)
]])
  local bodies = {}
  for k = 1, 4 do
    local code, out, err = h.evalua({ s })
    h.eq(code, 0, err)
    bodies[k] = out
  end
  for k = 2, 4 do h.eq(bodies[k], bodies[1], "body of process " .. k) end
  -- sorted keys at every level
  h.eq(bodies[1], '{"logit_bias":{"12":1,"300":2,"7":-1},"max_tokens":20,"messages":[{"content":"x","role":"user"}],'
    .. '"model":"m","response_format":{"json_schema":{"name":"j","schema":{"properties":{"a":{"type":"integer"},'
    .. '"b":{"type":"string"}},"type":"object"}},"type":"json_schema"},"seed":3,"stop":["a","b"],"temperature":0.5,'
    .. '"top_p":1}')
  -- and what the server receives: the same request keys from two processes
  local keys = {}
  for k = 1, 2 do
    ts:reset()
    local code, out, err = run({ "--quiet", "--no-cache", "--store", d .. "/bytes.db" }, env(ts, { NROWS = "8", JUDGES = "2" }))
    h.eq(code, 0, err)
    local st = ts:stats{ keys = true }
    local list = {}
    for key in pairs(st.keys or {}) do list[#list + 1] = key end
    table.sort(list)
    keys[k] = table.concat(list, ",")
    h.eq(#list, 24, "distinct requests")
  end
  h.eq(keys[2], keys[1], "request keys of two processes")
end)

-- ------------------------------------------------------------ resources, progress

h.case("no socket outlives evaluate", function()
  local ts <close> = testserver.start{ latency_ms = 5 }
  local s = h.write(d .. "/fds.lua", [[
local evalua = require "evalua"
local lfs = require "lfs"
local function fds()
  local n = 0
  for _ in lfs.dir("/proc/self/fd") do n = n + 1 end
  return n
end
local inputs = { n = 200 }
for i = 1, 200 do inputs[i] = "row " .. i end
local function once()
  return evalua.evaluate{ model = evalua.openai.model{ model = "m", messages = { { role = "user", content = "{inputs}" } } },
    data = evalua.table.from({ inputs = inputs }), extra_metrics = { evalua.metrics.genai.make_genai_metric{
      name = "q", definition = "d", grading_prompt = "g", model = "openai:/gpt-4" } } }
end
local function sockets()
  local p = io.popen("ls -l /proc/" .. require("evalua.core").pid() .. "/fd")
  local n = select(2, p:read("a"):gsub("socket:", ""))
  p:close()
  return n
end
require("evalua.http").configure{} -- the engine (curl's own wake-up socket pair)
local s0 = sockets()
once() -- opens the store and the cache
local before, s1 = fds(), sockets()
once()
print("FDS " .. before .. " " .. fds() .. " SOCKETS " .. s0 .. " " .. s1 .. " " .. sockets())
]])
  local code, out, err = h.evalua({ "--quiet", "--no-cache", "--store", d .. "/fds.db", "--concurrency", "64", s }, env(ts))
  h.eq(code, 0, err)
  local before, after = out:match("FDS (%d+) (%d+)")
  h.eq(tonumber(after), tonumber(before), "open descriptors after evaluate")
  local s0, s1, s2 = out:match("SOCKETS (%d+) (%d+) (%d+)")
  h.eq(s1, s0, "sockets after the first evaluate")
  h.eq(s2, s0, "sockets after the second evaluate")
  assert(ts:stats().connections_open <= 1, "server still sees open connections: " .. ts:stats().connections_open)
end)

h.case("the progress summary names the phase and the metrics", function()
  local ts <close> = testserver.start{}
  local code, out, err = run({ "--no-cache", "--store", d .. "/progress.db" }, env(ts, { NROWS = "12", JUDGES = "2" }))
  h.eq(code, 0, err)
  assert(err:find("evalua: predict 12/12 \u{b7} judge quality1 12/12 \u{b7} quality2 12/12 in ", 1, true), err)
  code, out, err = run({ "--quiet", "--no-cache", "--store", d .. "/progress.db" }, env(ts, { NROWS = "12" }))
  h.eq(err, "", "--quiet")
end)

h.done()
