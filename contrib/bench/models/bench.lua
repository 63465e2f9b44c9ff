-- bench.lua MODE ROWS: ROWS model calls through one path, printing one line
-- of figures. MODE raw: evalua.http.request with a hand-built body (the
-- floor); adapter: evalua.openai.model{...}:predict (template filling,
-- request building, parsing, accounting, and the cache as the command-line
-- flags set it). OPENAI_BASE_URL points at the loopback test server.
local cjson = require "cjson"
local core = require "evalua.core"
local config = require "evalua.config"
config.quiet = true

local mode, rows = arg[1], tonumber(arg[2])
local questions = {}
for i = 1, rows do questions[i] = "Sentence number " .. i .. " to translate, with {braces} inside." end

local t0, cpu0 = core.clock(), os.clock()
local ok, failed = 0, 0
if mode == "raw" then
  local http, sched = require "evalua.http", require "evalua.sched"
  local url = os.getenv("OPENAI_BASE_URL") .. "/chat/completions"
  local results = sched.map(rows, function(i)
    local resp = http.request{ method = "POST", url = url,
      headers = { Authorization = "Bearer sk-bench", ["Content-Type"] = "application/json" },
      body = cjson.encode{ model = "gpt-4o-mini", temperature = 0, messages = {
        { role = "system", content = "Translate into Spanish." }, { role = "user", content = questions[i] } } } }
    return resp and resp.status == 200 and cjson.decode(resp.body).choices[1].message.content
  end)
  for i = 1, rows do if results[i] then ok = ok + 1 else failed = failed + 1 end end
else
  local m = require("evalua.openai").model{ model = "gpt-4o-mini", parameters = { temperature = 0 },
    messages = { { role = "system", content = "Translate into Spanish." }, { role = "user", content = "{q}" } } }
  local preds, errors = m:predict({ q = questions })
  for i = 1, rows do if preds[i] then ok = ok + 1 elseif errors[i] then failed = failed + 1 end end
  require("evalua.cache").close()
end
local secs, cpu = core.clock() - t0, os.clock() - cpu0
local s = require("evalua.accounting").snapshot()
print(string.format("rows=%d ok=%d failed=%d sent=%d cached=%d seconds=%.2f rows_per_s=%.0f cpu_us_per_row=%.1f",
  rows, ok, failed, mode == "raw" and rows or s.requests, s.cache_hits, secs, rows / secs, cpu / rows * 1e6))
