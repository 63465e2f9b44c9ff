-- evalua side of the table benchmark: read a file into a table, write it back.
-- Prints: read rows/s, write rows/s, peak RSS in MB.
local T = require "evalua.table"
local kind, src, dst = arg[1], arg[2], arg[3]
local clock = os.clock -- CPU seconds (user+sys), as the other runners measure
local t0 = clock()
local t = kind == "csv" and T.read_csv(src) or T.read_jsonl(src)
local t1 = clock()
if kind == "csv" then t:write_csv(dst) else t:write_jsonl(dst, { ascii = false }) end
local t2 = clock()
local hwm = 0
for line in io.lines("/proc/self/status") do
  local kb = line:match("^VmHWM:%s*(%d+)")
  if kb then hwm = tonumber(kb) end
end
print(string.format("%.0f %.0f %.1f", #t / (t1 - t0), #t / (t2 - t1), hwm / 1024))
