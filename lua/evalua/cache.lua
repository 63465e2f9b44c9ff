-- evalua.cache: the response cache. A request (as built by an adapter) is
-- keyed by the sha256 of its canonical form: method, URL and headers with
-- every credential removed, and the JSON body re-serialised with sorted keys.
-- The response body and its usage are stored in SQLite (evalua.cachedb);
-- nothing that identifies the caller's account is ever written.
local cjson = require "cjson"
local json = require "evalua.json"
local core = require "evalua.core"
local config = require "evalua.config"
local common = require "evalua.providers.common"

local M = {}

local KEY_VERSION = "evalua-cache-v2"

-- ---------------------------------------------------------------- keys

-- A stable text for any JSON-like value (json.canonical, in C): sorted
-- keys, integral numbers without a fraction, the form cachedb.canonical_json
-- gives JSON text, so a table body and its encoded text share one key.
M.canonical = json.canonical

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

-- header name as sent -> lower-case name to hash, or false to leave out
local header_memo = setmetatable({}, { __mode = "k" })
local function hashed_header(k)
  local v = header_memo[k]
  if v == nil then
    local name = tostring(k):lower()
    v = not dropped_headers[name] and not secret_header(name) and name
    if type(k) == "string" then header_memo[k] = v end
  end
  return v
end

local cachedb = require "evalua.cachedb"

local function canonical_body(body)
  if type(body) == "table" then return json.canonical(body) end
  if type(body) ~= "string" then return "" end
  return cachedb.canonical_json(body) or body -- a non-JSON body is hashed as sent
end

-- The canonical form of a request: a table with no credentials in it whose
-- body is the canonical JSON text (sorted keys, normalised numbers).
function M.canonical_request(req)
  local headers = {}
  for k, v in pairs(req.headers or {}) do
    local name = hashed_header(k)
    if name then headers[name] = tostring(v) end
  end
  return { method = (req.method or "POST"):upper(), url = common.scrub_url(req.url),
    headers = headers, body = canonical_body(req.body) }
end

-- The cache key of a request: 64 hex characters.
function M.key(req)
  local c = M.canonical_request(req)
  local lines = { KEY_VERSION, c.method, c.url }
  local names = {}
  for name in pairs(c.headers) do names[#names + 1] = name end
  table.sort(names)
  for _, name in ipairs(names) do lines[#lines + 1] = name .. ": " .. c.headers[name] end
  lines[#lines + 1] = ""
  lines[#lines + 1] = c.body
  return core.sha256(table.concat(lines, "\n"))
end

-- ---------------------------------------------------------------- store

local db, db_failed, opened_path
local counters = { hits = 0, misses = 0, writes = 0, errors = 0 }
M.counters = counters

-- Answers are written in batches (one commit per batch): at most
-- BATCH entries or BATCH_SECONDS old, and always when the run ends.
local BATCH, BATCH_SECONDS = 64, 0.25
local pending, pending_by_key, pending_since = {}, {}, nil

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
    local p = pending_by_key[key]
    if p then
      counters.hits = counters.hits + 1
      return p.body, p.usage
    end
    counters.misses = counters.misses + 1
    return nil
  end
  counters.hits = counters.hits + 1
  local u = usage and common.decode(usage) or nil
  return body, type(u) == "table" and u or nil
end

-- Writes the pending answers in one transaction.
function M.flush()
  if #pending == 0 then return end
  local batch = pending
  pending, pending_by_key, pending_since = {}, {}, nil
  local h, err = M.open()
  if not h then return warn(err) end
  local ok, berr = h:begin()
  if not ok then return warn(berr) end
  for _, p in ipairs(batch) do
    local pok, perr = h:put(p.key, p.provider, p.model, p.body, p.usage_json)
    if not pok then
      h:commit()
      return warn(perr)
    end
    counters.writes = counters.writes + 1
  end
  local cok, cerr = h:commit()
  if not cok then return warn(cerr) end
end

-- Stores a response body (the raw text the server sent) and its usage.
-- The write is batched; the answer is visible to this process at once.
function M.put(key, provider, model, body, usage)
  if not M.enabled() or config.offline then return end
  local h, err = M.open()
  if not h then return warn(err) end
  local p = pending_by_key[key]
  if not p then
    p = { key = key }
    pending[#pending + 1] = p
    pending_by_key[key] = p
  end
  p.provider, p.model, p.body, p.usage = provider, model, body, usage
  p.usage_json = usage and cjson.encode(usage) or nil
  local now = core.clock()
  pending_since = pending_since or now
  if #pending >= BATCH or now - pending_since >= BATCH_SECONDS then M.flush() end
end

-- Records this process's counters in the file and closes it (at finish).
function M.close()
  M.flush()
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
  M.flush()
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
  pending, pending_by_key, pending_since = {}, {}, nil
  local n, cerr = h:clear()
  if not n then return nil, cerr end
  for k in pairs(counters) do counters[k] = 0 end
  return n
end

return M
