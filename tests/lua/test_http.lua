-- evalua.http and evalua.sched against the loopback test server: tasks,
-- concurrency, every fault kind, retries and Retry-After, timeouts, limits,
-- user coroutines, nested maps, abort, the body cap, dead tasks.
local h = require "helper"
local cjson = require "cjson"
local testserver = require "testserver"
local http = require "evalua.http"
local sched = require "evalua.sched"
local config = require "evalua.config"

config.quiet = true
config.concurrency = 32
local defaults = http.configure()

-- fast backoff for the tests; each case that changes more restores this
local function setup(extra)
  local c = { concurrency = 32, max_attempts = 6, timeout_ms = 10000,
    backoff_base_ms = 10, backoff_max_ms = 50, body_cap = defaults.body_cap }
  for k, v in pairs(extra or {}) do c[k] = v end
  config.concurrency = c.concurrency
  http.configure(c)
  http.reset_stats()
  sched.clear_abort()
end

local function chat_req(ts, text, headers, extra)
  local req = { method = "POST", url = ts.url .. "/v1/chat/completions",
    headers = headers or {},
    body = cjson.encode{ model = "m", messages = { { role = "user", content = text } } } }
  for k, v in pairs(extra or {}) do req[k] = v end
  return req
end

-- text of a chat reply, or nil, err
local function ask(ts, text, headers, extra)
  local resp, err = http.request(chat_req(ts, text, headers, extra))
  if not resp then return nil, err end
  if resp.status ~= 200 then return nil, "HTTP " .. resp.status end
  local ok, obj = pcall(cjson.decode, resp.body)
  if not ok then return nil, "malformed reply" end
  return obj.choices[1].message.content
end

local ts = testserver.start{}

h.case("http.request outside a task is an error", function()
  h.raises("http.request: called outside a task (use evalua.sched.map or t:map)",
    http.request, { url = ts.url .. "/v1/chat/completions" })
  h.raises("sched.sleep: called outside a task", sched.sleep, 0.01)
  h.eq(sched.in_task(), false, "in_task outside")
end)

h.case("a request inside a task: status, lower-case headers, body", function()
  setup()
  local res, errs = sched.map(1, function()
    assert(sched.in_task(), "in_task inside")
    return http.request(chat_req(ts, "hello"))
  end)
  h.eq(next(errs), nil, "no errors")
  local r = res[1]
  h.eq(r.status, 200, "status")
  h.eq(r.headers["content-type"], "application/json", "header")
  h.eq(r.attempts, 1, "attempts")
  h.eq(cjson.decode(r.body).choices[1].message.content, "reply to: hello", "body")
end)

h.case("bad requests raise with the API name", function()
  setup()
  local _, errs = sched.map(5, function(i)
    if i == 1 then return http.request{ method = "POST" } end
    if i == 2 then return http.request{ url = "ftp://x/y" } end
    if i == 4 then return http.request{ url = ts.url, timeout_ms = "soon" } end
    if i == 5 then return http.request{ url = ts.url, headers = { ["bad\nname"] = "x" } } end
    return http.request{ url = ts.url, method = "get me" }
  end)
  assert(errs[4]:find("http.request: timeout_ms must be a number (got string)", 1, true), errs[4])
  assert(errs[5]:find("http.request: bad header 'bad", 1, true), errs[5])
  assert(errs[1]:find("http.request: url must be a string (got nil)", 1, true), errs[1])
  assert(errs[2]:find("http.request: url must start with http:// or https://", 1, true), errs[2])
  assert(errs[3]:find("http.request: bad method 'get me'", 1, true), errs[3])
end)

h.case("results in input order; errors captured per item with a traceback", function()
  setup()
  local res, errs = sched.map(50, function(i)
    local text = assert(ask(ts, "row " .. i))
    if i % 10 == 3 then error("row " .. i .. " failed on purpose") end
    return text
  end)
  for i = 1, 50 do
    if i % 10 == 3 then
      h.eq(res[i], nil, "failed row " .. i)
      assert(errs[i]:find("row " .. i .. " failed on purpose", 1, true), errs[i])
      assert(errs[i]:find("stack traceback", 1, true), errs[i])
    else
      h.eq(res[i], "reply to: row " .. i, "row " .. i)
      h.eq(errs[i], nil, "no error " .. i)
    end
  end
end)

h.case("concurrency is real and capped (server and client in-flight peaks)", function()
  local slow = testserver.start{ latency_ms = 300 }
  setup{ concurrency = 8 }
  local res = sched.map(40, function(i) return ask(slow, "c" .. i) end)
  h.eq(#res, 40, "rows")
  local s = slow:stats()
  h.eq(s.requests, 40, "server requests")
  h.eq(s.inflight_peak, 8, "server in-flight peak = concurrency")
  h.eq(http.stats().inflight_peak, 8, "client in-flight peak")
  -- keep-alive: connections are reused, not one per request
  assert(s.connections <= 16, "connections: " .. s.connections)
  -- a map's own limit caps its tasks
  slow:reset()
  setup{ concurrency = 8 }
  sched.map(12, function(i) return ask(slow, "l" .. i) end, { limit = 3 })
  h.eq(slow:stats().inflight_peak, 3, "peak with limit 3")
  slow:stop()
end)

h.case("every fault kind: the run completes, every row has a value or an error", function()
  local bad = testserver.start{ fault_rate = 0.35, seed = 11, stall_ms = 5000,
    faults = "429,500,503,reset,stall,malformed,truncated" }
  setup{ timeout_ms = 400, max_attempts = 4 }
  local n = 80
  local res, errs = sched.map(n, function(i)
    return assert(ask(bad, "fault row " .. i))
  end)
  local values, failed = 0, 0
  for i = 1, n do
    if res[i] then
      values = values + 1
      h.eq(res[i], "reply to: fault row " .. i, "value " .. i)
    else
      failed = failed + 1
      assert(type(errs[i]) == "string" and #errs[i] > 0, "row " .. i .. " has neither")
    end
  end
  h.eq(values + failed, n, "rows accounted")
  assert(values > n / 2, "too few successes: " .. values)
  local s = bad:stats()
  for _, kind in ipairs({ "429", "500", "503", "reset", "stall", "malformed", "truncated" }) do
    assert(s.faults[kind] > 0, "fault " .. kind .. " never happened")
  end
  -- no request sent twice except as a counted retry
  local st = http.stats()
  h.eq(s.distinct_keys, n, "distinct requests")
  h.eq(s.requests, st.requests, "server receipts = client attempts")
  h.eq(s.requests - s.distinct_keys, st.retries, "repeats = counted retries")
  h.eq(st.inflight, 0, "nothing in flight after the run")
  bad:stop()
end)

h.case("429 retries wait for Retry-After (seconds)", function()
  local t2 = testserver.start{ retry_after = 1 }
  setup()
  local res = sched.map(1, function()
    return http.request(chat_req(t2, "ra", { ["x-evalua-fault"] = "429", ["x-evalua-fault-count"] = "1" }))
  end)
  h.eq(res[1].status, 200, "status after retry")
  h.eq(res[1].attempts, 2, "attempts")
  local s = t2:stats{ keys = true }
  local _, k = next(s.keys)
  h.eq(k.count, 2, "receipts")
  assert(k.min_gap_ms >= 1000, "retried after " .. k.min_gap_ms .. " ms, before Retry-After: 1")
  t2:stop()
end)

h.case("429 retries wait for retry-after-ms", function()
  local t2 = testserver.start{ retry_after_ms = 400 }
  setup()
  local res = sched.map(3, function(i)
    return http.request(chat_req(t2, "ms" .. i, { ["x-evalua-fault"] = "429", ["x-evalua-fault-count"] = "2" }))
  end)
  for i = 1, 3 do h.eq(res[i].attempts, 3, "attempts " .. i) end
  local s = t2:stats{ keys = true }
  for _, k in pairs(s.keys) do
    h.eq(k.count, 3, "receipts")
    assert(k.min_gap_ms >= 400, "retried after " .. k.min_gap_ms .. " ms, before retry-after-ms: 400")
  end
  t2:stop()
end)

h.case("5xx gives up after the bound with the attempts and last status", function()
  setup{ max_attempts = 3 }
  ts:reset()
  local res, errs = sched.map(1, function()
    return assert(http.request(chat_req(ts, "down", { ["x-evalua-fault"] = "503" })))
  end)
  h.eq(res[1], nil, "no value")
  local want = "http.request: POST " .. ts.url .. "/v1/chat/completions: gave up after 3 attempts " ..
    "(last: HTTP 503: The server is overloaded)"
  assert(errs[1]:find(want, 1, true), errs[1])
  h.eq(ts:stats().requests, 3, "server receipts")
  h.eq(http.stats().retries, 2, "retries counted")
  h.eq(http.stats().failures, 1, "failures counted")
end)

h.case("the default bound is 6 attempts; per-request max_attempts overrides", function()
  setup()
  ts:reset()
  local _, errs = sched.map(2, function(i)
    local extra = i == 2 and { max_attempts = 2 } or nil
    return assert(http.request(chat_req(ts, "down" .. i, { ["x-evalua-fault"] = "500" }, extra)))
  end)
  assert(errs[1]:find("gave up after 6 attempts (last: HTTP 500", 1, true), errs[1])
  assert(errs[2]:find("gave up after 2 attempts (last: HTTP 500", 1, true), errs[2])
  h.eq(ts:stats().requests, 8, "server receipts")
end)

h.case("other 4xx come back at once as responses", function()
  local t2 = testserver.start{ require_key = "sk-right" }
  setup()
  local res = sched.map(1, function() return http.request(chat_req(t2, "k")) end)
  h.eq(res[1].status, 401, "status")
  h.eq(res[1].attempts, 1, "attempts")
  assert(res[1].body:find("Incorrect API key", 1, true), res[1].body)
  h.eq(t2:stats().requests, 1, "sent once")
  t2:stop()
end)

h.case("timeouts retry, then give up naming the timeout", function()
  local t2 = testserver.start{ stall_ms = 5000 }
  setup{ max_attempts = 2 }
  local _, errs = sched.map(1, function()
    return assert(http.request(chat_req(t2, "st", { ["x-evalua-fault"] = "stall" }, { timeout_ms = 200 })))
  end)
  assert(errs[1]:find("gave up after 2 attempts (last: timeout after 200 ms)", 1, true), errs[1])
  h.eq(t2:stats().requests, 2, "receipts")
  t2:stop()
end)

h.case("connection errors retry and give up", function()
  setup{ max_attempts = 2 }
  -- a port nobody listens on: bind a server, stop it, reuse its port
  local t2 = testserver.start{}
  local url = t2.url
  t2:stop()
  os.execute("sleep 0.1")
  local _, errs = sched.map(1, function()
    return assert(http.request{ url = url .. "/v1/chat/completions", body = "{}" })
  end)
  assert(errs[1]:find("gave up after 2 attempts (last: ", 1, true), errs[1])
  assert(errs[1]:lower():find("connect", 1, true), errs[1])
end)

h.case("the response body cap fails loudly and is not retried", function()
  setup{ body_cap = 100 }
  ts:reset()
  local _, errs = sched.map(1, function()
    return assert(http.request(chat_req(ts, string.rep("long ", 50))))
  end)
  assert(errs[1]:find("response body exceeds the 100-byte cap", 1, true), errs[1])
  h.eq(ts:stats().requests, 1, "not retried")
end)

h.case("user coroutines inside tasks still work (sched.wrap, sched.resume)", function()
  setup()
  local res, errs = sched.map(4, function(i)
    -- a generator that makes requests between its own yields
    local gen = sched.wrap(function()
      for k = 1, 3 do
        local text = assert(ask(ts, "gen " .. i .. "." .. k))
        coroutine.yield(text)
      end
      return "end"
    end)
    local out = {}
    for _ = 1, 4 do out[#out + 1] = gen() end
    -- sched.resume works the same way
    local co = coroutine.create(function(a)
      local b = coroutine.yield(a + 1)
      return assert(ask(ts, "co " .. b))
    end)
    local ok1, v1 = sched.resume(co, 1)
    local ok2, v2 = sched.resume(co, "x")
    out[#out + 1] = tostring(ok1) .. v1 .. tostring(ok2) .. v2
    return table.concat(out, "|")
  end)
  h.eq(next(errs), nil, "errors")
  for i = 1, 4 do
    h.eq(res[i], string.format("reply to: gen %d.1|reply to: gen %d.2|reply to: gen %d.3|end|true2truereply to: co x",
      i, i, i), "row " .. i)
  end
  -- errors inside a wrapped coroutine propagate to the caller
  local _, e2 = sched.map(1, function()
    return sched.wrap(function() ask(ts, "x"); error("inner boom") end)()
  end)
  assert(e2[1]:find("inner boom", 1, true), e2[1])
end)

h.case("no global is patched; a wait in a plain coroutine is a clear error", function()
  setup()
  local before = ts:stats().requests
  h.eq(coroutine.resume, sched.raw.resume, "coroutine.resume untouched")
  h.eq(debug.getinfo(coroutine.wrap, "S").what, "C", "coroutine.wrap untouched")
  local _, errs = sched.map(2, function(i)
    if i == 1 then return coroutine.wrap(function() return ask(ts, "x") end)() end
    local ok, e = coroutine.resume(coroutine.create(function() return sched.sleep(0) end))
    error(e, 0)
  end)
  for i = 1, 2 do
    assert(errs[i]:find("cannot wait inside a coroutine made with coroutine.create/wrap (use evalua.sched.wrap or sched.resume", 1, true), errs[i])
  end
  h.eq(ts:stats().requests - before, 0, "nothing sent")
  -- plain yields of a plain coroutine still pass through a task untouched
  local res = sched.map(1, function()
    local gen = coroutine.wrap(function() coroutine.yield(1) coroutine.yield(2) end)
    return gen() + gen()
  end)
  h.eq(res[1], 3, "plain coroutine")
end)

h.case("a plain coroutine.yield in a task is reported, not hung", function()
  setup()
  local _, errs = sched.map(1, function() coroutine.yield(1) end)
  assert(errs[1]:find("yielded to the scheduler without waiting", 1, true), errs[1])
end)

h.case("nested maps share the loop", function()
  setup{ concurrency = 6 }
  ts:reset()
  local res, errs = sched.map(5, function(i)
    local inner, ierr = sched.map(4, function(j)
      if j == 4 then error("inner " .. i) end
      return assert(ask(ts, i .. "/" .. j))
    end, { limit = 2 })
    assert(ierr[4]:find("inner " .. i, 1, true))
    return table.concat(inner, ",")
  end)
  h.eq(next(errs), nil, "outer errors")
  for i = 1, 5 do
    h.eq(res[i], string.format("reply to: %d/1,reply to: %d/2,reply to: %d/3", i, i, i), "row " .. i)
  end
  local s = ts:stats()
  h.eq(s.requests, 15, "requests")
  assert(s.inflight_peak <= 6, "peak " .. s.inflight_peak)
  -- an empty nested map returns at once
  local r2 = sched.map(2, function() local a, b = sched.map(0, print); return #a + #b end)
  h.eq(r2[1], 0, "empty nested map")
end)

h.case("sleep lets other tasks run", function()
  setup()
  local order = {}
  sched.map(3, function(i)
    if i == 1 then sched.sleep(1.0); order[#order + 1] = "sleep" return end
    assert(ask(ts, "while sleeping " .. i))
    order[#order + 1] = "req"
  end)
  h.eq(table.concat(order, ","), "req,req,sleep", "order")
end)

h.case("abort: remaining rows fail fast with the message", function()
  local t2 = testserver.start{ require_key = "sk-right", latency_ms = 20 }
  setup{ concurrency = 4 }
  local res, errs = sched.map(60, function(i)
    local resp = assert(http.request(chat_req(t2, "row " .. i)))
    if resp.status == 401 then
      sched.abort("openai.chat: HTTP 401: invalid key")
      error("openai.chat: HTTP 401: invalid key", 0)
    end
    return resp.status
  end)
  local n = 0
  for i = 1, 60 do
    h.eq(res[i], nil, "no value " .. i)
    assert(errs[i]:find("openai.chat: HTTP 401: invalid key", 1, true), errs[i])
    n = n + 1
  end
  h.eq(n, 60, "rows")
  assert(t2:stats().requests <= 8, "requests after abort: " .. t2:stats().requests)
  h.eq(sched.aborted(), "openai.chat: HTTP 401: invalid key", "aborted()")
  -- requests after the abort fail at once, without being sent
  local _, e2 = sched.map(1, function() return assert(http.request(chat_req(t2, "late"))) end)
  assert(e2[1]:find("HTTP 401: invalid key", 1, true), e2[1])
  sched.clear_abort()
  local r3 = sched.map(1, function() return http.request(chat_req(t2, "after clear")).status end)
  h.eq(r3[1], 401, "runs again after clear_abort")
  t2:stop()
end)

h.case("a dead task's transfer is removed and freed", function()
  local t2 = testserver.start{ latency_ms = 3000 }
  setup()
  local forwarders = require("evalua.sched_core").forwarders
  local res = sched.map(1, function()
    -- a coroutine sched.resume knows, resumed raw: the wait does not reach
    -- the loop, the request stays armed while the task itself returns
    local co = coroutine.create(function() return http.request(chat_req(t2, "orphan")) end)
    forwarders[co] = true
    local ok, v = sched.raw.resume(co)
    return ok and type(v)
  end)
  h.eq(res[1], "userdata", "the raw resume saw the sentinel")
  h.eq(http.stats().inflight, 0, "in flight after the task ended")
  h.eq(http.stats().pending, 0, "pending after the task ended")
  h.eq(t2:stats().requests, 0, "never sent")
  -- a second wait replaces a stale one: the first transfer is dropped
  local r2 = sched.map(1, function()
    local co = coroutine.create(function() return http.request(chat_req(t2, "stale")) end)
    forwarders[co] = true
    sched.raw.resume(co)
    return assert(http.request(chat_req(ts, "fresh"))).status
  end)
  h.eq(r2[1], 200, "the live request")
  h.eq(http.stats().pending, 0, "nothing left pending")
  h.eq(t2:stats().requests, 0, "the stale request was never sent")
  t2:stop()
end)

h.case("rate limits hold back requests (measured by the server)", function()
  local t2 = testserver.start{}
  setup()
  http.set_limits{ provider = "rpm", rpm = 600, burst_s = 0.1 }   -- 10/s
  http.set_limits{ provider = "tpm", tpm = 6000, burst_s = 0.25 } -- 100 tokens/s, bucket 25
  -- the same body sent repeatedly: the server's min_gap_ms is the spacing
  t2:reset()
  sched.map(5, function()
    return assert(http.request(chat_req(t2, "same", nil, { provider = "rpm" })))
  end)
  local _, k = next(t2:stats{ keys = true }.keys)
  h.eq(k.count, 5, "receipts")
  assert(k.min_gap_ms >= 80, "rpm 600: requests " .. k.min_gap_ms .. " ms apart")
  t2:reset()
  sched.map(4, function()
    return assert(http.request(chat_req(t2, "same", nil, { provider = "tpm", tokens = 25 })))
  end)
  _, k = next(t2:stats{ keys = true }.keys)
  assert(k.min_gap_ms >= 200, "tpm 6000 at 25 tokens: requests " .. k.min_gap_ms .. " ms apart")
  t2:stop()
end)

h.case("stats count requests, retries, failures, bytes", function()
  setup()
  sched.map(3, function(i)
    return http.request(chat_req(ts, "s" .. i, { ["x-evalua-fault"] = "500", ["x-evalua-fault-count"] = "1" }))
  end)
  local s = http.stats()
  h.eq(s.requests, 6, "requests")
  h.eq(s.retries, 3, "retries")
  h.eq(s.completed, 3, "completed")
  h.eq(s.failures, 0, "failures")
  h.eq(s.status_5xx, 3, "5xx")
  h.eq(s.status_2xx, 3, "2xx")
  assert(s.bytes_in > 0 and s.bytes_out > 0, "bytes")
  h.eq(s.inflight, 0, "inflight")
end)

h.case("progress: one summary line on a non-terminal stderr, none with --quiet", function()
  local script = h.tmpdir() .. "/p.lua"
  h.write(script, [[
    local sched, http = require "evalua.sched", require "evalua.http"
    sched.map(10, function(i)
      return http.request{ url = os.getenv("TS_URL") .. "/v1/chat/completions", body = "{}", tokens = 10 }
    end)
  ]])
  local code, _, err = h.evalua({ script }, { TS_URL = ts.url })
  h.eq(code, 0, "exit")
  assert(err:find("evalua: 10 rows in [%d.]+s: 10 requests %(%d+/s%), 0 retries, 0 failed, ~100 tokens"), err)
  code, _, err = h.evalua({ "--quiet", script }, { TS_URL = ts.url })
  h.eq(code, 0, "exit quiet")
  h.eq(err, "", "quiet stderr")
end)

h.case("progress: a redrawn line when stderr is a terminal", function()
  if not os.execute("command -v script >/dev/null 2>&1") then
    print("skip: no script(1) to give the test a terminal")
    return
  end
  local slow = testserver.start{ latency_ms = 100 }
  local script = h.tmpdir() .. "/p.lua"
  h.write(script, [[
    local sched, http = require "evalua.sched", require "evalua.http"
    sched.map(16, function(i)
      return http.request{ url = os.getenv("TS_URL") .. "/v1/chat/completions", body = "{}", tokens = 10 }
    end, { limit = 2 })
  ]])
  local code, out = h.sh("TS_URL=" .. h.quote(slow.url) .. " script -qec " ..
    h.quote(h.quote(h.bin) .. " " .. h.quote(script)) .. " /dev/null")
  h.eq(code, 0, "exit")
  assert(out:find("\r\27%[Krows %d+/16 %(%d+%%%)  %d+ req/s  2 in flight  0 retries  ~%d+ tokens"), out)
  assert(out:find("\r\27%[Kevalua: 16 rows in [%d.]+s: 16 requests"), out)
  slow:stop()
end)

h.case("large request bodies go out whole (no 100-continue stall)", function()
  setup()
  local big = string.rep("x", 3 * 1024 * 1024)
  local r = sched.run(function()
    return assert(http.request(chat_req(ts, big)))
  end)
  h.eq(r.status, 200, "status")
  h.eq(cjson.decode(r.body).usage.prompt_tokens, (#big + 1 + 3) // 4, "the server saw it all")
end)

h.case("--concurrency N caps the requests in flight", function()
  local slow = testserver.start{ latency_ms = 300 }
  local script = h.tmpdir() .. "/c.lua"
  h.write(script, [[
    local sched, http = require "evalua.sched", require "evalua.http"
    sched.map(12, function(i)
      return http.request{ url = os.getenv("TS_URL") .. "/v1/chat/completions", body = '{"n":' .. i .. '}' }
    end)
    print(http.stats().inflight_peak)
  ]])
  local code, out = h.evalua({ "--quiet", "--concurrency", "3", script }, { TS_URL = slow.url })
  h.eq(code, 0, "exit")
  h.eq(out, "3\n", "client peak")
  h.eq(slow:stats().inflight_peak, 3, "server peak")
  slow:stop()
end)

h.case("a large map keeps memory flat and finishes", function()
  setup{ concurrency = 64 }
  ts:reset()
  local res, errs = sched.map(3000, function(i) return assert(ask(ts, "big " .. i)) end)
  h.eq(next(errs), nil, "errors")
  h.eq(res[3000], "reply to: big 3000", "last")
  h.eq(ts:stats().requests, 3000, "requests")
end)

h.case("sched.run: one task from the top level, direct inside a task", function()
  setup()
  local text, extra = sched.run(function(a) return assert(ask(ts, "run " .. a)), "x" end, "one")
  h.eq(text, "reply to: run one", "result")
  h.eq(extra, "x", "second result")
  h.raises("run failed", sched.run, function() error("run failed") end)
  local r = sched.map(1, function() return sched.run(function() return sched.in_task() end) end)
  h.eq(r[1], true, "inside a task")
end)

ts:stop()
h.done()
