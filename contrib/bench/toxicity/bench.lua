-- Throughput of the toxicity backends; run by run.sh, which pins the
-- process to one core. ROBERTA_DIR=DIR measures the RoBERTa model in DIR
-- instead of the embedded classifier (ROBERTA_THREADS OpenBLAS threads).
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
  local col, bytes = { n = count }, 0
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

local dir = os.getenv("ROBERTA_DIR")
if not dir then
  local col, avg = texts(200000)
  print(string.format("embedded classifier, 1 core: %d texts, mean %.0f bytes", col.n, avg))
  tox.score_list({ "warm up", n = 1 })
  local t0 = core.clock()
  local s = tox.score_list(col)
  local dt = core.clock() - t0
  print(string.format("  score_list (one C call per column): %9.0f texts/s (%.1f MB/s)", col.n / dt,
    col.n * avg / dt / 1e6))
  t0 = core.clock()
  for i = 1, col.n do s[i] = tox.score(col[i]) end
  dt = core.clock() - t0
  print(string.format("  score (one call per text):          %9.0f texts/s", col.n / dt))
  return
end

local threads = tonumber(os.getenv("ROBERTA_THREADS") or "1")
local m = assert(tox.roberta_open(dir, threads))
local col, avg = texts(tonumber(os.getenv("ROBERTA_TEXTS") or "48"))
local ntok = 0
for i = 1, col.n do ntok = ntok + #m:tokenize(col[i]) end
m:score_list({ "warm up", n = 1 })
print(string.format("roberta-base-sized model, %d OpenBLAS thread%s: %d texts, mean %.0f bytes, %.1f tokens",
  threads, threads == 1 and "" or "s", col.n, avg, ntok / col.n))
for _, batch in ipairs({ 1, 8 }) do
  local t0 = core.clock()
  m:score_list(col, batch)
  local dt = core.clock() - t0
  print(string.format("  batch %d: %7.2f texts/s", batch, col.n / dt))
end
m:close()
