-- test_cache: the response cache end to end against the loopback test
-- server: a re-run sends nothing, --offline replays without a key, misses
-- name the request, --no-cache always sends, --dry-run sends nothing and
-- counts, two processes share one file, a bad key stops the run early, and
-- the key never reaches the cache or the run store.
local h = require "helper"
local cache = require "evalua.cache"
local testserver = require "testserver"

local SECRET = "sk-test-SECRET"

-- ------------------------------------------------------------ keys (in process)

h.case("cache key: canonical, credential-free", function()
  local base = { method = "POST", url = "http://h/v1/chat/completions",
    headers = { Authorization = "Bearer A", ["Content-Type"] = "application/json" },
    body = '{"model":"m","temperature":0,"messages":[{"role":"user","content":"x"}]}' }
  local k = cache.key(base)
  h.eq(#k, 64)
  local same = {
    -- key order, spacing, number spelling and credentials do not matter
    { method = "post", url = "http://h/v1/chat/completions",
      headers = { authorization = "Bearer B", ["OpenAI-Organization"] = "org", ["User-Agent"] = "x" },
      body = '{ "messages": [ {"content":"x", "role":"user"} ], "temperature": 0.0, "model": "m" }' },
    { method = "POST", url = "http://user:pw@h/v1/chat/completions?key=abc",
      headers = { ["api-key"] = "Z", ["x-api-key"] = "Y", ["X-Session-Token"] = "s" }, body = base.body },
  }
  for i, r in ipairs(same) do h.eq(cache.key(r), k, "same #" .. i) end
  local differ = {
    { url = "http://h/v1/chat/completions", body = base.body:gsub('"temperature":0', '"temperature":1') },
    { url = "http://h/v1/chat/completions", body = base.body:gsub('"x"', '"y"') },
    { url = "http://h/v1/chat/completions", body = base.body:gsub('"m"', '"m2"') },
    { url = "http://other/v1/chat/completions", body = base.body },
    { url = "http://h/v1/chat/completions?api-version=2", body = base.body },
    { url = "http://h/v1/chat/completions", body = base.body, headers = { ["anthropic-beta"] = "b" } },
  }
  for i, r in ipairs(differ) do
    r.method = "POST"
    if cache.key(r) == k then error("request #" .. i .. " should have another key") end
  end
  local canon = cache.canonical(cache.canonical_request(same[1]))
  h.eq(canon:find("Bearer", 1, true), nil)
  h.eq(canon:find("org", 1, true), nil)
  h.eq(cache.canonical({ b = { 1, 2.5, true }, a = "s" }), '{"a":"s","b":[1,2.5,true]}')
end)

h.case("cache path honours --cache, XDG_CACHE_HOME, HOME", function()
  local d = h.tmpdir()
  local code = "print(require('evalua.cache').path())"
  local rc, out = h.evalua({ "-e", code }, { XDG_CACHE_HOME = d .. "/xdg", HOME = d })
  h.eq(rc, 0)
  h.eq(out, d .. "/xdg/evalua/cache.db\n")
  rc, out = h.evalua({ "-e", code }, { XDG_CACHE_HOME = "", HOME = d })
  h.eq(out, d .. "/.cache/evalua/cache.db\n")
  rc, out = h.evalua({ "--cache", d .. "/c.db", "-e", code }, { HOME = d })
  h.eq(out, d .. "/c.db\n")
  -- stats on a cache that does not exist yet reports it and creates nothing
  rc, out = h.evalua({ "cache", "stats", "--cache", d .. "/none.db" })
  h.eq(rc, 0)
  h.eq(out, "path        " .. d .. "/none.db (no cache file yet)\nentries     0\n")
  h.eq(h.read(d .. "/none.db"), nil)
end)

-- ------------------------------------------------------------ end to end

local ts = testserver.start{ require_key = SECRET }
local dir = h.tmpdir()
local db = dir .. "/cache.db"

local SCRIPT = h.write(dir .. "/run.lua", [[
local evalua = require "evalua"
local rows = {}
for i = 1, tonumber(arg[1] or 6) do rows[i] = "question " .. i .. " {with braces}" end
local m = evalua.openai.model{ model = "gpt-4o-mini", parameters = { temperature = 0 },
  messages = { { role = "system", content = "Answer briefly." }, { role = "user", content = "{q}" } } }
local preds, errors = m:predict({ q = rows })
for i = 1, preds.n do print(i, preds[i], errors[i]) end
local text, usage = evalua.anthropic.chat{ model = "claude-3-5-haiku-latest",
  messages = { { role = "system", content = "S" }, { role = "user", content = "hello claude" } } }
print("anthropic", text, type(usage) == "table" and usage.total_tokens > 0 or usage)
local s = require("evalua.accounting").snapshot()
print("accounting", s.calls, s.requests, s.cache_hits, s.failures, s.prompt_tokens > 0)
]])

local function env(extra)
  local e = { OPENAI_BASE_URL = ts.url .. "/v1", ANTHROPIC_BASE_URL = ts.url,
    OPENAI_API_KEY = SECRET, ANTHROPIC_API_KEY = SECRET, HOME = dir }
  for k, v in pairs(extra or {}) do e[k] = v end
  return e
end

local function run(flags, extra_env, args)
  local argv = {}
  for _, f in ipairs(flags or {}) do argv[#argv + 1] = f end
  argv[#argv + 1] = SCRIPT
  for _, a in ipairs(args or {}) do argv[#argv + 1] = a end
  return h.evalua(argv, env(extra_env))
end

local function answers(out)
  local t = {}
  for line in out:gmatch("[^\n]+") do
    if not line:match("^accounting") then t[#t + 1] = line end
  end
  return table.concat(t, "\n")
end

local first_out

h.case("first run sends one request per row; a re-run sends none", function()
  ts:reset()
  local rc, out, err = run({ "--cache", db })
  h.eq(rc, 0, err)
  h.eq(ts:stats().requests, 7)
  h.eq(out:match("\n6\treply to: question 6 {with braces}\tnil\n") ~= nil, true, out)
  h.eq(out:match("anthropic\treply to: hello claude\ttrue") ~= nil, true, out)
  h.eq(out:match("accounting\t7\t7\t0\t0\ttrue") ~= nil, true, out)
  first_out = out
  ts:reset()
  rc, out, err = run({ "--cache", db })
  h.eq(rc, 0, err)
  h.eq(ts:stats().requests, 0)
  h.eq(answers(out), answers(first_out))
  h.eq(out:match("accounting\t7\t0\t7\t0\tfalse") ~= nil, true, out)
end)

h.case("--offline replays with no key at all; a miss names the request", function()
  ts:reset()
  local rc, out, err = run({ "--cache", db, "--offline" }, { OPENAI_API_KEY = "", ANTHROPIC_API_KEY = "" })
  h.eq(rc, 0, err)
  h.eq(answers(out), answers(first_out))
  rc, out, err = run({ "--cache", db, "--offline" }, { OPENAI_API_KEY = "", ANTHROPIC_API_KEY = "" }, { "7" })
  h.eq(rc, 0, err)
  h.eq(out:find("7\tnil\topenai.chat: offline and no cached response for openai gpt-4o-mini at " ..
    ts.url .. '/v1/chat/completions (last message: "question 7 {with braces}")', 1, true) ~= nil, true, out)
  h.eq(ts:stats().requests, 0)
end)

h.case("--no-cache always sends; evalua cache stats and clear", function()
  ts:reset()
  local rc, _, err = run({ "--cache", db, "--no-cache" })
  h.eq(rc, 0, err)
  h.eq(ts:stats().requests, 7)
  local out
  rc, out, err = h.evalua({ "--cache", db, "cache", "stats", "--json" })
  h.eq(rc, 0, err)
  local s = require("cjson").decode(out)
  h.eq(s.entries, 7)
  h.eq(s.path, db)
  h.eq(s.runs, 4) -- first run, re-run and two offline runs touched the cache
  h.eq(s.last_hits, 7) -- the offline run with 7 rows: 6 rows and the anthropic call replayed
  h.eq(s.last_misses, 1)
  rc, out = h.evalua({ "cache", "stats", "--cache", db })
  h.eq(rc, 0)
  h.eq(out:match("entries%s+7\n") ~= nil, true, out)
  rc, out = h.evalua({ "cache", "clear", "--cache", db })
  h.eq(rc, 0)
  h.eq(out, "removed 7 cached responses from " .. db .. "\n")
  ts:reset()
  rc, _, err = run({ "--cache", db })
  h.eq(rc, 0, err)
  h.eq(ts:stats().requests, 7)
end)

h.case("--dry-run sends nothing and prints the count", function()
  ts:reset()
  local rc, out, err = run({ "--cache", db, "--dry-run" }, nil, { "9" })
  h.eq(rc, 0, err)
  h.eq(ts:stats().requests, 0)
  h.eq(out:match("\n9\t%(dry run%)\tnil\n") ~= nil, true, out)
  -- the 7 answers the cache holds are free: only 3 of the 10 calls would be sent
  h.eq(err:match("dry run: 3 requests, ~%d+ prompt tokens, est%. cost %$[%d.]+; 7 more answered by the cache %(free%)") ~= nil,
    true, err)
end)

h.case("two processes share the cache file", function()
  local shared = dir .. "/shared.db"
  ts:reset()
  local q = h.quote
  local function cmd(n)
    local parts = {}
    for k, v in pairs(env()) do parts[#parts + 1] = k .. "=" .. q(v) end
    return table.concat(parts, " ") .. " " .. q(h.bin) .. " --cache " .. q(shared) .. " " .. q(SCRIPT) ..
      " " .. n .. " >" .. q(dir .. "/p" .. n .. ".out") .. " 2>&1"
  end
  local rc = os.execute("(" .. cmd(20) .. ") & (" .. cmd(21) .. ") & wait")
  h.eq(rc, true)
  for _, n in ipairs({ 20, 21 }) do
    local out = h.read(dir .. "/p" .. n .. ".out")
    h.eq(out:match("\n20\treply to: question 20 {with braces}\tnil\n") ~= nil, true, out)
  end
  -- every distinct request is now stored: a third run sends nothing
  local before = ts:stats().requests
  h.eq(before >= 22 and before <= 43, true, "requests " .. before)
  local out, err
  rc, out, err = run({ "--cache", shared }, nil, { "21" })
  h.eq(rc, 0, err)
  h.eq(ts:stats().requests, before)
end)

h.case("the API key never reaches the cache, the store or the output", function()
  local store = dir .. "/store"
  local script = h.write(dir .. "/eval.lua", [[
local evalua = require "evalua"
local data = evalua.table.from{ inputs = { "alpha", "beta {x}" }, ground_truth = { "a", "b" } }
local m = evalua.openai.model{ model = "gpt-4o-mini", messages = { { role = "user", content = "{inputs}" } } }
local r = evalua.evaluate{ model = m, data = data, targets = "ground_truth", model_type = "text" }
print(r.run_id)
]])
  local rc, out, err = h.evalua({ "--cache", db, "--store", store, script }, env())
  h.eq(rc, 0, err)
  h.eq((out .. err):find(SECRET, 1, true), nil)
  local files = io.popen("find " .. h.quote(dir) .. " -type f")
  local checked = 0
  for f in files:lines() do
    local data = h.read(f) or ""
    if data:find(SECRET, 1, true) and not f:match("%.lua$") then error("the key was written to " .. f) end
    checked = checked + 1
  end
  files:close()
  h.eq(checked > 3, true)
  h.eq(h.read(db) ~= nil, true)
end)

h.case("failed answers are never cached", function()
  local script = h.write(dir .. "/fault.lua", [[
local chat = require("evalua.openai").chat
local kind = arg[1]
for round = 1, 3 do
  local text, err = chat{ model = "m", messages = { { role = "user", content = "fault " .. kind } },
    extra_headers = { ["x-evalua-fault"] = kind, ["x-evalua-fault-count"] = "1" } }
  print(round, text, type(err) == "string" and err or "ok")
end
]])
  local fdb = dir .. "/fault.db"
  -- a 200 with a broken body fails the row and is not stored: round 2 is
  -- sent again, round 3 comes from the cache
  ts:reset()
  local rc, out, err = h.evalua({ "--cache", fdb, script, "malformed" }, env())
  h.eq(rc, 0, err)
  h.eq(out:match("^1\tnil\topenai.chat: malformed JSON in response: ") ~= nil, true, out)
  h.eq(out:match("\n2\treply to: fault malformed\tok\n3\treply to: fault malformed\tok\n$") ~= nil, true, out)
  h.eq(ts:stats().requests, 2)
  -- faults the scheduler retries (429, 500, a truncated body) end in one
  -- stored answer: two requests in all, the later rounds replayed
  for _, kind in ipairs({ "429", "500", "truncated" }) do
    ts:reset()
    rc, out, err = h.evalua({ "--cache", fdb, script, kind }, env())
    h.eq(rc, 0, err)
    h.eq(out, string.format("1\treply to: fault %s\tok\n2\treply to: fault %s\tok\n3\treply to: fault %s\tok\n",
      kind, kind, kind))
    h.eq(ts:stats().requests, 2, kind)
  end
end)

h.case("a request the scheduler gives up on names the attempts", function()
  local script = h.write(dir .. "/giveup.lua", [[
require("evalua.http").configure{ max_attempts = 2, backoff_base_ms = 5, backoff_max_ms = 10 }
local text, err = require("evalua.openai").chat{ model = "m", messages = { { role = "user", content = "down" } },
  extra_headers = { ["x-evalua-fault"] = "503", ["x-evalua-fault-count"] = "100" } }
print(text, err)
]])
  ts:reset()
  local rc, out, err = h.evalua({ "--cache", db, script }, env())
  h.eq(rc, 0, err)
  h.eq(out:match("^nil\topenai%.chat: POST " .. ts.url:gsub("%p", "%%%0") ..
    "/v1/chat/completions: gave up after 2 attempts %(last: HTTP 503") ~= nil, true, out)
  h.eq(ts:stats().requests, 2)
end)

h.case("a wrong key stops the run early with one clear message", function()
  ts:reset()
  local rc, out, err = run({ "--no-cache", "--concurrency", "4" }, { OPENAI_API_KEY = "sk-wrong" }, { "200" })
  local all = out .. err
  h.eq(all:find("openai.chat: HTTP 401 from " .. ts.url .. "/v1/chat/completions", 1, true) ~= nil, true, all)
  h.eq(all:find("sk-wrong", 1, true), nil)
  h.eq(rc, 0, err)
  local n = ts:stats().requests
  h.eq(n <= 8, true, "requests after a 401: " .. n)
  -- every row, and the later anthropic call, carry the one message
  local msg = "openai.chat: HTTP 401 from " .. ts.url .. "/v1/chat/completions: Incorrect API key provided (check OPENAI_API_KEY)"
  local rows = 0
  for line in out:gmatch("[^\n]+") do
    if line:match("^%d+\t") then
      rows = rows + 1
      h.eq(line:match("^%d+\tnil\t(.*)$"), msg, line)
    end
  end
  h.eq(rows, 200)
  h.eq(out:find("anthropic\tnil\t" .. msg, 1, true) ~= nil, true, out)
end)

ts:stop()
h.done()
