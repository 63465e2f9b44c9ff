-- testserver: starts the loopback test server (contrib/testserver) for a Lua
-- test and stops it when the test ends.
--   local ts = require("testserver").start{ latency_ms = 50, fault_rate = 0.1,
--     faults = { "429", "reset" }, seed = 7, replies = { { match = "x", reply = "y" } } }
--   ts.url, ts.port, ts:stats(), ts:reset(), ts:curl{...}, ts:stop()
local cjson = require "cjson"

local M = {}

local function q(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

local function slurp(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

local function tmpdir()
  local p = io.popen("mktemp -d /tmp/evalua-ts.XXXXXX")
  local d = p:read("l")
  p:close()
  return d
end

-- every server still running; killed when the test process closes its state
local live = setmetatable({}, { __gc = function(t)
  for s in pairs(t) do s:stop() end
end })

local Server = {}
Server.__index = Server

-- option name -> command-line flag (numbers and strings pass as they are)
local flags = {
  latency_ms = "--latency-ms", jitter_ms = "--jitter-ms", seed = "--seed",
  fault_rate = "--fault-rate", retry_after = "--retry-after",
  retry_after_ms = "--retry-after-ms", stall_ms = "--stall-ms",
  require_key = "--require-key", max_seconds = "--max-seconds", pairwise = "--pairwise",
  refuse_json_schema = "--refuse-json-schema", judge_garbage = "--judge-garbage",
  garbage_receipts = "--garbage-receipts",
}

-- Starts a server; opts: the flags above, faults (list or "a,b"), replies
-- (a JSONL path or a list of { match=, reply=, judge= }), log (true: keep a
-- request log at ts.log), bin (the executable; default $EVALUA_TESTSERVER).
-- Raises when the server does not come up within a few seconds.
function M.start(opts)
  opts = opts or {}
  local bin = opts.bin or os.getenv("EVALUA_TESTSERVER")
  if not bin or bin == "" then
    bin = (os.getenv("EVALUA_BUILD_DIR") or "build") .. "/evalua-testserver"
  end
  local dir = tmpdir()
  local args = { q(bin), "--port", "0", "--port-file", q(dir .. "/port"), "--pid-file", q(dir .. "/pid") }
  if opts.max_seconds == nil then args[#args + 1] = "--max-seconds 300" end
  for k, flag in pairs(flags) do
    if opts[k] ~= nil then args[#args + 1] = flag .. " " .. q(opts[k]) end
  end
  if opts.faults then
    local f = type(opts.faults) == "table" and table.concat(opts.faults, ",") or opts.faults
    args[#args + 1] = "--faults " .. q(f)
  end
  if opts.replies then
    local path = opts.replies
    if type(path) == "table" then
      local lines = {}
      for i, r in ipairs(opts.replies) do lines[i] = cjson.encode(r) end
      path = dir .. "/replies.jsonl"
      local f = assert(io.open(path, "wb"))
      f:write(table.concat(lines, "\n"), "\n")
      f:close()
    end
    args[#args + 1] = "--replies " .. q(path)
  end
  local log
  if opts.log then
    log = dir .. "/requests.log"
    args[#args + 1] = "--log " .. q(log)
  end
  local cmd = table.concat(args, " ")
  os.execute(cmd .. " >" .. q(dir .. "/stdout") .. " 2>" .. q(dir .. "/stderr") .. " </dev/null &")
  local port
  for _ = 1, 500 do -- about 10 s
    local s = slurp(dir .. "/port")
    port = s and tonumber(s:match("%d+"))
    if port then break end
    local err = slurp(dir .. "/stderr")
    if err and err ~= "" then break end
    os.execute("sleep 0.02")
  end
  local pid = tonumber((slurp(dir .. "/pid") or ""):match("%d+"))
  if not port then
    if pid then os.execute("kill " .. pid .. " 2>/dev/null") end
    error("testserver: did not start (" .. cmd .. "): " .. (slurp(dir .. "/stderr") or ""), 2)
  end
  local self = setmetatable({ port = port, pid = pid, dir = dir, log = log,
    url = "http://127.0.0.1:" .. port }, Server)
  live[self] = true
  return self
end

-- Sends one request with the curl CLI (outside tasks). req: path, method,
-- body (string or table, encoded as JSON), headers ({name=value}),
-- max_time (seconds). Returns status (0 when none), body, headers text,
-- curl's exit code, total seconds.
function Server:curl(req)
  local body = req.body
  if type(body) == "table" then body = cjson.encode(body) end
  local args = { "curl", "-s", "-o", q(self.dir .. "/resp"), "-D", q(self.dir .. "/head"),
    "-w", q("%{http_code} %{time_total}"), "--max-time", tostring(req.max_time or 10) }
  args[#args + 1] = "-X " .. (req.method or (body and "POST" or "GET"))
  for k, v in pairs(req.headers or {}) do args[#args + 1] = "-H " .. q(k .. ": " .. v) end
  if body then
    local f = assert(io.open(self.dir .. "/req", "wb"))
    f:write(body)
    f:close()
    args[#args + 1] = "-H 'content-type: application/json' --data-binary @" .. q(self.dir .. "/req")
  end
  os.remove(self.dir .. "/resp")
  os.remove(self.dir .. "/head")
  args[#args + 1] = q(self.url .. (req.path or "/v1/chat/completions"))
  local p = io.popen(table.concat(args, " ") .. "; echo \" $?\"")
  local out = p:read("a")
  p:close()
  local status, secs, rc = out:match("^(%d+) ([%d.]+)%s+(%d+)")
  return tonumber(status) or 0, slurp(self.dir .. "/resp") or "", slurp(self.dir .. "/head") or "",
    tonumber(rc), tonumber(secs)
end

-- The decoded /stats counters; opts.keys adds the per-request key table.
function Server:stats(opts)
  local status, body = self:curl{ path = "/stats" .. ((opts and opts.keys) and "?keys=1" or "") }
  if status ~= 200 then error("testserver: /stats answered " .. status .. ": " .. body, 2) end
  return cjson.decode(body)
end

-- Clears the counters (and restarts the fault sequence).
function Server:reset()
  local status, body = self:curl{ path = "/reset", method = "POST" }
  if status ~= 200 then error("testserver: /reset answered " .. status .. ": " .. body, 2) end
end

-- Whether the server process is still alive (a zombie left for an init that
-- does not reap counts as gone).
function Server:running()
  if not self.pid then return false end
  local st = slurp("/proc/" .. self.pid .. "/stat")
  if not st then return false end
  return st:match("^%d+ %b() (%a)") ~= "Z"
end

-- Stops the server (idempotent) and removes its files.
function Server:stop()
  if not live[self] then return end
  live[self] = nil
  if self.pid then os.execute("kill " .. self.pid .. " 2>/dev/null") end
  os.execute("rm -rf " .. q(self.dir))
end
Server.__close = Server.stop

return M
