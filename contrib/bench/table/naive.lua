-- stock lua5.4 side of the table benchmark: a naive CSV splitter (quoted
-- fields without line breaks) or lua-cjson per line, into a list of rows,
-- then written back. Prints: read rows/s, write rows/s, peak RSS in MB.
local kind, src, dst = arg[1], arg[2], arg[3]
local clock = os.clock -- CPU seconds (user+sys): the machine may be shared

local function split(line)
  local row, n, pos, len = {}, 0, 1, #line
  while pos <= len + 1 do
    local c = line:sub(pos, pos)
    n = n + 1
    if c == '"' then
      local buf, i = {}, pos + 1
      while true do
        local q = line:find('"', i, true)
        buf[#buf + 1] = line:sub(i, q - 1)
        if line:sub(q + 1, q + 1) == '"' then
          buf[#buf + 1] = '"'
          i = q + 2
        else
          pos = q + 2
          break
        end
      end
      row[n] = table.concat(buf)
    else
      local e = line:find(",", pos, true) or len + 1
      row[n] = line:sub(pos, e - 1)
      pos = e + 1
    end
  end
  return row
end

local function quote(s)
  if s:find('[,"\n\r]') then return '"' .. s:gsub('"', '""') .. '"' end
  return s
end

local rows = {}
local t0 = clock()
if kind == "csv" then
  for line in io.lines(src) do rows[#rows + 1] = split(line) end
  table.remove(rows, 1) -- header
else
  local cjson = require "cjson"
  for line in io.lines(src) do rows[#rows + 1] = cjson.decode(line) end
end
local t1 = clock()
local f = assert(io.open(dst, "w"))
if kind == "csv" then
  f:write("id,question,score,ok,answer\n")
  for _, r in ipairs(rows) do
    for i = 1, #r do r[i] = quote(r[i]) end
    f:write(table.concat(r, ","), "\n")
  end
else
  local cjson = require "cjson"
  for _, r in ipairs(rows) do f:write(cjson.encode(r), "\n") end
end
f:close()
local t2 = clock()
local hwm = 0
for line in io.lines("/proc/self/status") do
  local kb = line:match("^VmHWM:%s*(%d+)")
  if kb then hwm = tonumber(kb) end
end
print(string.format("%.0f %.0f %.1f", #rows / (t1 - t0), #rows / (t2 - t1), hwm / 1024))
