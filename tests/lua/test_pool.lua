-- Endpoint pools: a model whose base_url is a list spreads its requests over
-- the members; a member that dies mid-run (its in-flight requests cut) is
-- taken out and its requests re-sent elsewhere, so no row fails; a dead
-- member is not hammered during its back-off; per-member counts reach the
-- run's accounting; EVALUA_ENDPOINTS entries take lists too.
local h = require "helper"
local evalua = require "evalua"
local config = require "evalua.config"
local tracking = require "evalua.tracking"
local accounting = require "evalua.accounting"
local pool = require "evalua.pool"
local testserver = require "testserver"

local d = h.tmpdir()
config.store_path = d .. "/pool.db"
config.no_cache = true
config.quiet = true

local function data(n)
  local inputs = { n = n }
  for i = 1, n do inputs[i] = "sentence number " .. i end
  return evalua.table.from({ { "user_input", inputs } })
end

local function len_metric()
  return evalua.metrics.make_metric{ name = "len", version = "v1", params = { "predictions" },
    eval_fn = function(col)
      local s = { n = col.n }
      for i = 1, col.n do s[i] = col[i] and #col[i] or nil end
      return { scores = s }
    end }
end

-- a port nothing listens on: bind one with a server, then stop it
local function dead_url()
  local s = testserver.start{}
  local url = s.url
  s:stop()
  os.execute("sleep 0.1")
  return url
end

h.case("a member killed mid-run: its requests go elsewhere, 0 rows fail", function()
  local a = testserver.start{ latency_ms = 80 }
  local b = testserver.start{ latency_ms = 80 }
  accounting.reset()
  pool._reset()
  local N = 400 -- about 4 s: time for the watcher to see 20 answers, even on a loaded machine
  -- the kill lands once a has answered 20 requests, while more are in
  -- flight (8 at a time, ~80 ms each), however loaded the machine is
  os.execute(string.format("(while :; do n=$(curl -s %s/stats | sed -n 's/^{\"requests\":\\([0-9]*\\).*/\\1/p');"
    .. " [ \"${n:-0}\" -ge 20 ] && break; sleep 0.02; done; kill -9 %d) >/dev/null 2>&1 &", a.url, a.pid))
  local model = evalua.openai.model{ model = "gpt-3.5-turbo", api_key = "k",
    base_url = { a.url .. "/v1", b.url .. "/v1" },
    messages = { { role = "user", content = "{user_input}" } } }
  local saved = config.concurrency
  config.concurrency = 8
  local r = evalua.evaluate{ model = model, data = data(N), extra_metrics = { len_metric() } }
  config.concurrency = saved
  assert(not a:running(), "a was killed during the run")
  h.eq(#r.errors, 0, "failed rows")
  local out = r.tables.eval_results_table:column("outputs")
  for i = 1, N do h.eq(out[i], "reply to: sentence number " .. i, "row " .. i) end
  local ep = accounting.snapshot().endpoints
  local ea, eb = ep[a.url .. "/v1"], ep[b.url .. "/v1"]
  assert(ea and eb, "both members counted")
  assert(ea.requests >= 20, "a served before it died: " .. ea.requests)
  assert(ea.failures >= 1 and ea.ejections >= 1, "a failed and was taken out")
  assert(ea.requests - ea.failures < N / 2, "a answered less than half")
  h.eq(eb.failures, 0, "b never failed")
  h.eq(ea.requests + eb.requests - ea.failures - eb.failures, N, "one answer per row")
  h.eq(b:stats().requests, eb.requests, "b's own count")
  -- the counts are in the run's accounting
  local run = tracking.get_run(r.run_id)
  h.eq(run.accounting.endpoints[b.url .. "/v1"].requests, eb.requests, "stored per-endpoint count")
  h.eq(run.accounting.failures, 0, "no failed call in the run")
  local c, text = h.evalua({ "--store", config.store_path, "runs", "show", r.run_id })
  h.eq(c, 0, text)
  local line = text:match("\n%s*" .. (b.url .. "/v1"):gsub("%p", "%%%0") .. "%s+([^\n]*)")
  h.eq(line, eb.requests .. " requests, 0 failed, 0 ejections", "runs show: the member's line")
  b:stop()
end)

h.case("a dead member is left alone during its back-off", function()
  local b = testserver.start{ latency_ms = 5 }
  local dead = dead_url()
  accounting.reset()
  pool._reset()
  local r = evalua.evaluate{ data = data(50), extra_metrics = { len_metric() },
    model = evalua.openai.model{ model = "m", api_key = "k", base_url = { dead .. "/v1", b.url .. "/v1" },
      messages = { { role = "user", content = "{user_input}" } } } }
  h.eq(#r.errors, 0, "failed rows")
  local ep = accounting.snapshot().endpoints
  -- concurrency 32: at most the first wave reached the dead member
  assert(ep[dead .. "/v1"].requests <= 32, "dead member tried " .. ep[dead .. "/v1"].requests)
  h.eq(ep[dead .. "/v1"].requests, ep[dead .. "/v1"].failures, "every try failed")
  h.eq(b:stats().requests, 50, "the live member answered every row")
  b:stop()
end)

h.case("429/5xx answers count against a member; every member down fails the row clearly", function()
  local bad = testserver.start{ fault_rate = 1, faults = { "500" } }
  local good = testserver.start{}
  accounting.reset()
  pool._reset()
  local text, err = evalua.openai.chat{ model = "m", api_key = "k",
    base_url = { bad.url .. "/v1", good.url .. "/v1" }, messages = { { role = "user", content = "hi" } } }
  h.eq(text, "reply to: hi", err)
  good:stop()
  pool._reset()
  local d1, d2 = dead_url(), dead_url()
  text, err = evalua.openai.chat{ model = "m", api_key = "k",
    base_url = { d1 .. "/v1", d2 .. "/v1" }, messages = { { role = "user", content = "hi" } } }
  h.eq(text, nil, "no answer")
  assert(err:find("all 2 endpoints failed after", 1, true), err)
  bad:stop()
end)

h.case("EVALUA_ENDPOINTS entries may list several base URLs", function()
  local a = testserver.start{}
  local b = testserver.start{}
  local f = h.write(d .. "/endpoints.json", string.format(
    '{ "local-llama": { "base_url": ["%s/v1", "%s/v1"], "model": "llama" } }', a.url, b.url))
  local script = h.write(d .. "/ep.lua", [[
local evalua = require "evalua"
local inputs = { n = 40 }
for i = 1, 40 do inputs[i] = "q" .. i end
local r = evalua.evaluate{ model = "endpoints:/local-llama", data = evalua.table.from({ { "x", inputs } }),
  extra_metrics = { evalua.metrics.make_metric{ name = "n", params = { "predictions" },
    eval_fn = function(c) return { scores = { n = c.n } } end } } }
print("ERRORS " .. #r.errors)
]])
  local code, out, err = h.evalua({ "--no-cache", "--quiet", "--store", d .. "/ep.db", script },
    { EVALUA_ENDPOINTS = f })
  h.eq(code, 0, err)
  h.eq(out, "ERRORS 0\n", "output")
  local na, nb = a:stats().requests, b:stats().requests
  h.eq(na + nb, 40, "every row once")
  assert(na >= 10 and nb >= 10, string.format("spread over both: %d / %d", na, nb))
  a:stop() b:stop()
end)

h.raises("base_url[2] must be an http(s) URL", function() pool.get({ "http://a", 3 }, "x") end)

h.done()
