-- helper: plain-assert test kit for the Lua tests (run by the evalua binary).
local M = {}

M.bin = os.getenv("EVALUA_BIN") or "build/evalua"
M.source_dir = os.getenv("EVALUA_SOURCE_DIR") or "."
M.build_dir = os.getenv("EVALUA_BUILD_DIR") or "build"

local passed, failed = 0, 0

-- Runs fn as a named case; a failure is reported and counted, the file goes on.
function M.case(name, fn)
  local ok, err = xpcall(fn, debug.traceback)
  if ok then
    passed = passed + 1
  else
    failed = failed + 1
    io.stderr:write("FAIL ", name, ": ", tostring(err), "\n")
  end
end

-- Prints the closing line and exits non-zero when a case failed.
function M.done()
  print(string.format("%d passed, %d failed", passed, failed))
  os.exit(failed == 0 and 0 or 1, true)
end

function M.eq(got, want, what)
  if got ~= want then
    error(string.format("%s: expected %q, got %q", what or "value", tostring(want), tostring(got)), 2)
  end
end

function M.near(got, want, tol, what)
  tol = tol or 1e-9
  if type(got) ~= "number" or math.abs(got - want) > tol then
    error(string.format("%s: expected %.12g, got %s", what or "value", want, tostring(got)), 2)
  end
end

-- Deep equality for plain tables.
function M.same(a, b, path)
  path = path or "value"
  if type(a) ~= type(b) then
    error(string.format("%s: type %s ~= %s (%s vs %s)", path, type(a), type(b), tostring(a), tostring(b)), 2)
  end
  if type(a) ~= "table" then
    if a ~= b and not (a ~= a and b ~= b) then
      error(string.format("%s: %s ~= %s", path, tostring(a), tostring(b)), 2)
    end
    return
  end
  for k, v in pairs(a) do M.same(v, b[k], path .. "." .. tostring(k)) end
  for k in pairs(b) do
    if a[k] == nil then error(path .. "." .. tostring(k) .. ": missing", 2) end
  end
end

-- Asserts that fn(...) raises an error whose message contains `expected`
-- (plain text, not a pattern); returns the message.
function M.raises(expected, fn, ...)
  local ok, err = pcall(fn, ...)
  if ok then error("expected an error containing " .. string.format("%q", expected), 2) end
  local msg = type(err) == "table" and tostring(err.msg) or tostring(err)
  if not msg:find(expected, 1, true) then
    error(string.format("expected an error containing %q, got %q", expected, msg), 2)
  end
  return msg
end

local function shell_quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end
M.quote = shell_quote

-- A fresh directory under /tmp, removed at exit of the test process.
local made = {}
function M.tmpdir()
  local p = io.popen("mktemp -d /tmp/evalua-test.XXXXXX")
  local d = p:read("l")
  p:close()
  made[#made + 1] = d
  return d
end
setmetatable(made, { __gc = function(t)
  for _, d in ipairs(t) do os.execute("rm -rf " .. shell_quote(d)) end
end })

-- Runs a shell command; returns exit code, stdout, stderr.
function M.sh(cmd)
  local d = M.tmpdir()
  local out, err = d .. "/out", d .. "/err"
  local ok, how, code = os.execute(cmd .. " >" .. shell_quote(out) .. " 2>" .. shell_quote(err))
  local function slurp(p)
    local f = io.open(p, "rb")
    local s = f and f:read("a") or ""
    if f then f:close() end
    return s
  end
  if how == "signal" then code = 128 + code end
  return code, slurp(out), slurp(err)
end

-- Runs the evalua binary with the given argument list (strings are quoted).
function M.evalua(args, env)
  local parts = {}
  for k, v in pairs(env or {}) do parts[#parts + 1] = k .. "=" .. shell_quote(v) end
  parts[#parts + 1] = shell_quote(M.bin)
  for _, a in ipairs(args) do parts[#parts + 1] = shell_quote(a) end
  return M.sh(table.concat(parts, " "))
end

function M.write(path, data)
  local f = assert(io.open(path, "wb"))
  f:write(data)
  f:close()
  return path
end

function M.read(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

return M
