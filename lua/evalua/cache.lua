-- evalua.cache: the response cache. A request (as built by an adapter) is
-- keyed by the sha256 of its canonical form: method, URL and headers with
-- every credential removed, and the JSON body re-serialised with sorted keys.
-- The response body and its usage are stored in SQLite (evalua.cachedb);
-- nothing that identifies the caller's account is ever written.
local cjson = require "cjson"
local core = require "evalua.core"
local config = require "evalua.config"
local common = require "evalua.providers.common"

local M = {}

local KEY_VERSION = "evalua-cache-v1"

-- ---------------------------------------------------------------- keys

local function canon(v, out)
  local t = type(v)
  if v == nil or v == cjson.null then
    out[#out + 1] = "null"
  elseif t == "boolean" then
    out[#out + 1] = v and "true" or "false"
  elseif t == "number" then
    if v ~= v or v == math.huge or v == -math.huge then
      out[#out + 1] = "null"
    elseif math.type(v) == "integer" or (v == math.floor(v) and math.abs(v) < 2 ^ 53) then
      out[#out + 1] = string.format("%d", math.tointeger(v) or math.floor(v))
    else
      out[#out + 1] = string.format("%.17g", v)
    end
  elseif t == "string" then
    out[#out + 1] = string.format("%q", v)
  elseif t == "table" then
    local n = #v
    local count = 0
    for _ in pairs(v) do count = count + 1 end
    if count > 0 and count == n then
      out[#out + 1] = "["
      for i = 1, n do
        if i > 1 then out[#out + 1] = "," end
        canon(v[i], out)
      end
      out[#out + 1] = "]"
    else
      local keys = {}
      for k in pairs(v) do keys[#keys + 1] = tostring(k) end
      table.sort(keys)
      out[#out + 1] = "{"
      for i, k in ipairs(keys) do
        if i > 1 then out[#out + 1] = "," end
        out[#out + 1] = string.format("%q", k)
        out[#out + 1] = ":"
        local val = v[k]
        if val == nil then val = v[tonumber(k)] end
        canon(val, out)
      end
      out[#out + 1] = "}"
    end
  else
    out[#out + 1] = string.format("%q", tostring(v))
  end
end

-- A stable text for any JSON-like value: sorted keys, integral numbers
-- without a fraction, strings quoted the same way every time.
function M.canonical(v)
  local out = {}
  canon(v, out)
  return table.concat(out)
end

-- Header names that never take part in a key: credentials, account
-- identifiers and transport details.
local dropped_headers = { ["content-type"] = true, ["content-length"] = true, ["user-agent"] = true,
  accept = true, ["accept-encoding"] = true, connection = true, host = true,
  ["openai-organization"] = true, ["openai-project"] = true }

local function secret_header(name)
  return name:find("auth", 1, true) or name:find("key", 1, true) or name:find("token", 1, true)
    or name:find("secret", 1, true) or name:find("cookie", 1, true)
    or name:find("session", 1, true) or name:find("signature", 1, true)
end

-- The canonical form of a request, as a table with no credentials in it.
function M.canonical_request(req)
  local headers = {}
  for k, v in pairs(req.headers or {}) do
    local name = tostring(k):lower()
    if not dropped_headers[name] and not secret_header(name) then headers[name] = tostring(v) end
  end
  local body = req.body
  if type(body) == "string" then
    local decoded = common.decode(body)
    if decoded ~= nil then body = decoded end
  end
  return { method = (req.method or "POST"):upper(), url = common.scrub_url(req.url),
    headers = headers, body = body }
end

-- The cache key of a request: 64 hex characters.
function M.key(req)
  return core.sha256(KEY_VERSION .. "\n" .. M.canonical(M.canonical_request(req)))
end

-- ---------------------------------------------------------------- store

local db, db_failed, opened_path
local counters = { hits = 0, misses = 0, writes = 0, errors = 0 }
M.counters = counters

-- The cache file: config.cache_path, or $XDG_CACHE_HOME/evalua/cache.db,
-- or ~/.cache/evalua/cache.db.
function M.path()
  if config.cache_path and config.cache_path ~= "" then return config.cache_path end
  local xdg = os.getenv("XDG_CACHE_HOME")
  if xdg and xdg ~= "" then return xdg .. "/evalua/cache.db" end
  local home = os.getenv("HOME") or "."
  return home .. "/.cache/evalua/cache.db"
end

-- Whether the run reads and writes the cache (off with --no-cache).
function M.enabled()
  return config.cache ~= false
end

local function mkdir_p(dir)
  local lfs = require "lfs"
  local path = dir:sub(1, 1) == "/" and "/" or ""
  for part in dir:gmatch("[^/]+") do
    path = path .. part
    if lfs.attributes(path, "mode") == nil then
      local ok, err = lfs.mkdir(path)
      if not ok and lfs.attributes(path, "mode") ~= "directory" then return nil, err end
    end
    path = path .. "/"
  end
  return true
end

local finish_registered = false

local function register_finish()
  if finish_registered then return end
  finish_registered = true
  require("evalua.runtime").at_finish(function()
    M.close()
  end)
end

-- Opens the cache file (once per process). Returns the handle, or nil, err.
function M.open()
  if db then return db end
  if db_failed then return nil, db_failed end
  local path = M.path()
  local dir = path:match("^(.*)/[^/]*$")
  if dir and dir ~= "" then
    local ok, err = mkdir_p(dir)
    if not ok then
      db_failed = "cache: " .. path .. ": cannot create directory: " .. tostring(err)
      return nil, db_failed
    end
  end
  local h, err = require("evalua.cachedb").open(path)
  if not h then
    db_failed = err
    return nil, err
  end
  db, opened_path = h, path
  register_finish()
  return db
end

local warned = false
local function warn(err)
  counters.errors = counters.errors + 1
  if not warned and not config.quiet then
    warned = true
    io.stderr:write("evalua: warning: ", tostring(err), " (going on without the cache)\n")
  end
end

-- Looks a key up: returns body, usage (a table or nil) on a hit, or nil on a
-- miss (or when the cache is off or unusable; errors are warned once). With
-- --offline an unusable cache raises, since nothing could be replayed.
function M.get(key)
  if not M.enabled() then return nil end
  local h, err = M.open()
  if not h then
    if config.offline then error(err, 0) end
    warn(err)
    return nil
  end
  local body, usage = h:get(key)
  if body == nil then
    if config.offline then error(usage, 0) end
    warn(usage)
    return nil
  end
  if body == false then
    counters.misses = counters.misses + 1
    return nil
  end
  counters.hits = counters.hits + 1
  local u = usage and common.decode(usage) or nil
  return body, type(u) == "table" and u or nil
end

-- Stores a response body (the raw text the server sent) and its usage.
function M.put(key, provider, model, body, usage)
  if not M.enabled() or config.offline then return end
  local h, err = M.open()
  if not h then return warn(err) end
  local ok, perr = h:put(key, provider, model, body, usage and cjson.encode(usage) or nil)
  if not ok then return warn(perr) end
  counters.writes = counters.writes + 1
end

-- Records this process's counters in the file and closes it (at finish).
function M.close()
  if db then
    if counters.hits + counters.misses + counters.writes > 0 then
      db:note_run(counters.hits, counters.misses, counters.writes)
    end
    db:close()
    db = nil
  end
  db_failed = nil
end

-- Statistics of the cache file: entries, body_bytes, file_bytes, runs,
-- hits/misses/writes (all recorded runs), last_* (the latest run), path.
function M.stats()
  local h, err = M.open()
  if not h then return nil, err end
  local s, serr = h:stats()
  if not s then return nil, serr end
  s.path = opened_path
  return s
end

-- Removes every stored response; returns how many were removed.
function M.clear()
  local h, err = M.open()
  if not h then return nil, err end
  local n, cerr = h:clear()
  if not n then return nil, cerr end
  for k in pairs(counters) do counters[k] = 0 end
  return n
end

return M
