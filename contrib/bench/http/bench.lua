-- bench.lua URL ROWS CONCURRENCY LATENCY_MS: ROWS rows, each a model call then
-- a judge call on its answer (two sequential requests per row), through
-- evalua.sched / evalua.http. Prints one line of figures.
local cjson = require "cjson"
local core = require "evalua.core"
local http = require "evalua.http"
local sched = require "evalua.sched"
local config = require "evalua.config"

local url, rows, conc, latency = arg[1], tonumber(arg[2]), tonumber(arg[3]), tonumber(arg[4])
config.concurrency = conc
config.quiet = true

local endpoint = url .. "/v1/chat/completions"
local headers = { authorization = "Bearer sk-bench" }

local function call(messages)
  local resp, err = http.request{ method = "POST", url = endpoint, headers = headers,
    body = cjson.encode{ model = "bench-model", messages = messages }, tokens = 50 }
  if not resp then error(err) end
  if resp.status ~= 200 then error("HTTP " .. resp.status) end
  return cjson.decode(resp.body).choices[1].message.content
end

local t0 = core.clock()
local cpu0 = os.clock()
local results, errors = sched.map(rows, function(i)
  local answer = call{ { role = "system", content = "Translate into Spanish." },
    { role = "user", content = "Sentence number " .. i .. " to translate." } }
  local verdict = call{ { role = "user", content = "Grade the answer. Reply with\nscore: <1-5>\n" ..
    "justification: <why>\nAnswer: " .. answer } }
  return tonumber(verdict:match("score: (%d)"))
end)
local secs = core.clock() - t0
local cpu = os.clock() - cpu0

local ok, failed = 0, 0
for i = 1, rows do
  if results[i] then ok = ok + 1 elseif errors[i] then failed = failed + 1 end
end
local st = http.stats()
local rss = io.open("/proc/self/status"):read("a"):match("VmHWM:%s*(%d+)")
local rate = st.requests / secs
local ideal = latency > 0 and conc / (latency / 1000) or 0
print(string.format("rows=%d ok=%d failed=%d requests=%d seconds=%.2f req_per_s=%.0f ideal=%.0f pct_ideal=%.1f req_per_cpu_s=%.0f peak_inflight=%d rss_mb=%.1f",
  rows, ok, failed, st.requests, secs, rate, ideal, ideal > 0 and 100 * rate / ideal or 0,
  st.requests / cpu, st.inflight_peak, tonumber(rss) / 1024))
