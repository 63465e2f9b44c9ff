-- sched.lua URL ROWS JUDGES CONCURRENCY: the same requests as eval.lua with
-- the scheduler alone: one task per row, the model call, then the judges'
-- calls at once (a nested map), bodies encoded once by hand, nothing parsed
-- beyond the answer text and nothing stored. The best evalua's loop can do
-- for this shape; evaluate is quoted against it and against the ideal.
local cjson = require "cjson"
local core = require "evalua.core"
local http = require "evalua.http"
local sched = require "evalua.sched"
local config = require "evalua.config"
local url, rows, njudges, conc = arg[1], tonumber(arg[2]), tonumber(arg[3]), tonumber(arg[4])
config.concurrency = conc
config.quiet = true
local endpoint = url .. "/v1/chat/completions"
local headers = { authorization = "Bearer sk-bench", ["content-type"] = "application/json" }
local function call(model, content)
  local resp, err = http.request{ method = "POST", url = endpoint, headers = headers,
    body = cjson.encode{ model = model, messages = { { role = "user", content = content } } }, tokens = 50 }
  if not resp then error(err) end
  return cjson.decode(resp.body).choices[1].message.content
end
local t0, c0 = core.clock(), os.clock()
sched.map(rows, function(i)
  local answer = call("gpt-3.5-turbo", "Sentence number " .. i .. " to translate.")
  sched.map(njudges, function(k)
    return call("gpt-4", "score: justification: grade " .. k .. ": " .. answer)
  end, { progress = false })
  return true
end)
local secs, cpu = core.clock() - t0, os.clock() - c0
local rss = io.open("/proc/self/status"):read("a"):match("VmHWM:%s*(%d+)")
print(string.format("sched_s=%.2f cpu_s=%.2f requests=%d rss_mb=%.1f", secs, cpu, http.stats().requests,
  tonumber(rss) / 1024))
