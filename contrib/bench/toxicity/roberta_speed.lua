-- RoBERTa throughput on texts of a fixed token length (run by
-- roberta_vs_torch.sh): ROBERTA_DIR=DIR, ROBERTA_THREADS=N, ROBERTA_TOKENS=20
-- (ids per text, <s> and </s> included), ROBERTA_TEXTS=count,
-- ROBERTA_BATCHES="1,8,32", ROBERTA_IDS=FILE (writes the texts' ids as JSON
-- for the PyTorch side, so both score the same ids).
local tox = require "evalua.toxicity"
local core = require "evalua.core"

local dir = assert(os.getenv("ROBERTA_DIR"), "ROBERTA_DIR")
local threads = tonumber(os.getenv("ROBERTA_THREADS") or "1")
local ntok = tonumber(os.getenv("ROBERTA_TOKENS") or "20")
local count = tonumber(os.getenv("ROBERTA_TEXTS") or "64")
local m = assert(tox.roberta_open(dir, threads))

local words = { "the", "model", "answer", "is", "a", "good", "question", "about", "data",
  "you", "can", "use", "this", "function", "to", "compute", "results", "quickly", "and",
  "we", "think", "it", "works", "well", "for", "most", "users", "here", "summary", "of",
  "report", "stupid", "idea", "hate", "love", "weather", "today", "Paris", "city", "thanks" }
local seed = 12345
local function rnd(n)
  seed = (seed * 1103515245 + 12345) % 2147483648
  return seed % n + 1
end
-- a text of exactly ntok ids: add words while it fits, then pad with "x"
local col, all_ids = { n = count }, {}
for i = 1, count do
  local parts = {}
  while true do
    parts[#parts + 1] = words[rnd(#words)]
    if #m:tokenize(table.concat(parts, " ")) > ntok then parts[#parts] = nil break end
  end
  local t = table.concat(parts, " ")
  while #m:tokenize(t) < ntok do
    local n0 = #m:tokenize(t)
    for _, pad in ipairs { ".", "!", "?", ",", " x" } do
      if #m:tokenize(t .. pad) == n0 + 1 then t = t .. pad break end
    end
    if #m:tokenize(t) == n0 then break end
  end
  assert(#m:tokenize(t) == ntok, "could not build a text of " .. ntok .. " ids")
  col[i] = t
  all_ids[i] = m:tokenize(t)
end
local idfile = os.getenv("ROBERTA_IDS")
if idfile then
  local f = assert(io.open(idfile, "wb"))
  f:write(require("evalua.json").encode(all_ids))
  f:close()
end
m:score_list({ col[1], n = 1 }, 1)   -- warm up
local batches = {}
for b in (os.getenv("ROBERTA_BATCHES") or "1,8,32"):gmatch("%d+") do batches[#batches + 1] = tonumber(b) end
for _, batch in ipairs(batches) do
  local t0, c0 = core.clock(), os.clock()
  local s = m:score_list(col, batch)
  local dt, dc = core.clock() - t0, os.clock() - c0
  print(string.format("evalua  threads=%d tokens=%d batch=%d texts=%d: %8.2f texts/s wall, %8.2f per CPU-second  (p[1]=%.6f)",
    threads, ntok, batch, count, count / dt, count / dc, s[1]))
end
m:close()
