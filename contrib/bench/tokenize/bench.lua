-- bench.lua CORPUS [REPEAT]: evalua's tokenizer on a corpus, single thread:
-- the first call (rank table build included), then the best of REPEAT
-- whole-text counts and of REPEAT line-by-line count_list passes. Prints
-- one JSON line per measurement for run.sh.
local core = require "evalua.core"
local tokenize = require "evalua.tokenize"
local path, rep = arg[1], tonumber(arg[2] or "5")
local f = assert(io.open(path, "rb"))
local text = f:read("a")
f:close()
local lines = { n = 0 }
for line in text:gmatch("[^\n]*") do
  lines.n = lines.n + 1
  lines[lines.n] = line
end
local mb = #text / 1e6

local function report(name, enc, secs, cpu, count)
  print(string.format('{"impl":"evalua","mode":"%s","encoding":"%s","mb_s":%.3f,"cpu_mb_s":%.3f,"tokens":%d}',
    name, enc, mb / secs, mb / cpu, count))
end

-- best wall-clock and best CPU seconds of rep calls of fn; fn's last result
local function measure(fn)
  local best, best_cpu, n = math.huge, math.huge, nil
  for _ = 1, rep do
    local t0, c0 = core.clock(), os.clock()
    n = fn()
    best = math.min(best, core.clock() - t0)
    best_cpu = math.min(best_cpu, os.clock() - c0)
  end
  return best, best_cpu, n
end

for _, enc in ipairs(tokenize.encodings) do
  local t0, c0 = core.clock(), os.clock()
  tokenize.count("", enc)
  print(string.format('{"impl":"evalua","mode":"table build","encoding":"%s","ms":%.1f,"cpu_ms":%.1f}',
    enc, (core.clock() - t0) * 1e3, (os.clock() - c0) * 1e3))
  report("whole text", enc, measure(function() return tokenize.count(text, enc) end))
  report("line by line", enc, measure(function()
    local counts, total = tokenize.count_list(lines, enc), 0
    for i = 1, counts.n do total = total + counts[i] end
    return total
  end))
end
