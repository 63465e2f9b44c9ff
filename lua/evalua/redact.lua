-- evalua.redact: the one redaction step. Every string that reaches the run
-- store, the response cache, exports, reports and the engine's warnings
-- passes through M.text, which replaces
--   * the value of each configured key variable (OPENAI_API_KEY,
--     AZURE_OPENAI_API_KEY, ANTHROPIC_API_KEY, the variables listed in
--     EVALUA_SECRET_VARS, an endpoint's api_key_env) and of every api_key
--     the engine sent with a request, and
--   * the user:password@ (any user info) of a URL
-- with `***`. It applies to model outputs and judge justifications as well:
-- a server that echoes the key back has its answer stored with `***`.
-- Values shorter than 8 characters are not treated as secrets (they would
-- blank out ordinary words). See docs/security.md.
local M = {}

M.MIN_LENGTH = 8
M.VARS = { "OPENAI_API_KEY", "AZURE_OPENAI_API_KEY", "ANTHROPIC_API_KEY" }

local added = {}      -- value -> true, registered at send time
local secrets         -- the current list, longest first (nil: recompute)
local var_names = {}  -- extra variable names (endpoints' api_key_env)

local function escape(s) return (s:gsub("%W", "%%%0")) end

local function compute()
  local seen, list = {}, {}
  local function add(v)
    if type(v) == "string" and #v >= M.MIN_LENGTH and not seen[v] then
      seen[v] = true
      list[#list + 1] = v
    end
  end
  local names = {}
  for _, n in ipairs(M.VARS) do names[#names + 1] = n end
  for n in (os.getenv("EVALUA_SECRET_VARS") or ""):gmatch("[^,%s]+") do names[#names + 1] = n end
  for n in pairs(var_names) do names[#names + 1] = n end
  for _, n in ipairs(names) do add(os.getenv(n)) end
  for v in pairs(added) do add(v) end
  -- longest first, so a key that contains another is replaced whole
  table.sort(list, function(a, b) return #a > #b or (#a == #b and a < b) end)
  for i, v in ipairs(list) do list[i] = { plain = v, pattern = escape(v) } end
  secrets = list
  return list
end

-- Registers a secret value (an api_key the engine is about to send).
function M.add(value)
  if type(value) == "string" and #value >= M.MIN_LENGTH and not added[value] then
    added[value] = true
    secrets = nil
  end
end

-- Registers the name of another variable that holds a key.
function M.add_var(name)
  if type(name) == "string" and name ~= "" and not var_names[name] then
    var_names[name] = true
    secrets = nil
  end
end

-- s with every secret value and URL user info replaced by ***; non-strings
-- are returned as they are.
function M.text(s)
  if type(s) ~= "string" then return s end
  for _, sec in ipairs(secrets or compute()) do
    if s:find(sec.plain, 1, true) then s = s:gsub(sec.pattern, "***") end
  end
  if s:find("@", 1, true) then
    s = s:gsub("(%a[%w+.-]*://)[^%s/?#@\"'<>]+@", "%1***@")
  end
  return s
end

-- A copy of v with M.text applied to every string (keys too); tables with
-- a metatable are returned as they are.
function M.deep(v, seen)
  if type(v) == "string" then return M.text(v) end
  if type(v) ~= "table" or getmetatable(v) ~= nil then return v end
  seen = seen or {}
  if seen[v] then return seen[v] end
  local c = {}
  seen[v] = c
  for k, x in pairs(v) do c[M.deep(k, seen)] = M.deep(x, seen) end
  return c
end

-- A store handle whose writes pass every string parameter through M.text:
-- the run store only ever holds redacted text. Other methods pass through.
function M.store(h)
  local w = {}
  function w:run(sql, ...)
    local n = select("#", ...)
    local args = { ... }
    for i = 1, n do args[i] = M.text(args[i]) end
    return h:run(sql, table.unpack(args, 1, n))
  end
  return setmetatable(w, { __index = function(_, k)
    local f = h[k]
    if type(f) ~= "function" then return f end
    return function(self, ...)
      if self == w then return f(h, ...) end
      return f(self, ...)
    end
  end })
end

-- Forgets registered values (tests).
function M._reset()
  added, var_names, secrets = {}, {}, nil
end

return M
