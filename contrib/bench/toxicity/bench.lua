-- Throughput of the toxicity backends (run by run.sh on one core).
local tox = require "evalua.toxicity"
local core = require "evalua.core"

-- Short texts like LLM answers (40..160 bytes), from a fixed-seed generator.
local words = { "the", "model", "answer", "is", "a", "good", "question", "about", "data",
  "you", "can", "use", "this", "function", "to", "compute", "results", "quickly", "and",
  "we", "think", "it", "works", "well", "for", "most", "users", "here", "summary", "of",
  "report", "stupid", "idea", "hate", "love", "weather", "today", "Paris", "city", "thanks" }
local seed = 12345
local function rnd(n)
  seed = (seed * 1103515245 + 12345) % 2147483648
  return seed % n + 1
end
local function texts(count)
  local col = { n = count }
  local bytes = 0
  for i = 1, count do
    local parts, len = {}, 0
    local target = 40 + rnd(120)
    while len < target do
      local w = words[rnd(#words)]
      parts[#parts + 1] = w
      len = len + #w + 1
    end
    col[i] = table.concat(parts, " ") .. "."
    bytes = bytes + #col[i]
  end
  return col, bytes / count
end

local col, avg = texts(200000)
print(string.format("embedded: %d texts, mean %.0f bytes", col.n, avg))
tox.score_list({ "warm up", n = 1 })
local t0 = core.clock()
local s = tox.score_list(col)
local dt = core.clock() - t0
print(string.format("  score_list (one C call per column): %.0f texts/s (%.1f MB/s)", col.n / dt, col.n * avg / dt / 1e6))
t0 = core.clock()
for i = 1, col.n do s[i] = tox.score(col[i]) end
dt = core.clock() - t0
print(string.format("  score (one call per text):          %.0f texts/s", col.n / dt))

if os.getenv("ROBERTA") == "0" then return end
local ok, gen = pcall(require, "roberta_bench")
if not ok then
  package.path = os.getenv("EVALUA_SOURCE_DIR") and (os.getenv("EVALUA_SOURCE_DIR") .. "/contrib/bench/toxicity/?.lua;" .. package.path)
    or ("contrib/bench/toxicity/?.lua;" .. package.path)
  ok, gen = pcall(require, "roberta_bench")
end
if ok then gen.run(texts) else print("roberta: skipped (" .. tostring(gen) .. ")") end
