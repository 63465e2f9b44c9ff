-- evalua.metrics.packs: metric packs are Lua files returning a metric, a
-- list of metrics, a constructor function, or plain spec tables. They run in
-- a sandbox (no os, io, load or arbitrary require) unless trusted, and are
-- checked at load time with errors naming the file and the field.
local M = {}

-- modules an untrusted pack may require; each is handed over as a read-only
-- view, and evalua.metrics' load only loads further packs untrusted
local SAFE_MODULES = {
  ["evalua.metrics"] = true, ["evalua.metrics.genai"] = true,
  ["evalua.text"] = true, ["evalua.tokenize"] = true, ["evalua.toxicity"] = true,
  ["cjson"] = true,
}

local SAFE_GLOBALS = {
  "assert", "error", "ipairs", "next", "pairs", "pcall", "select", "tonumber", "tostring",
  "type", "xpcall", "setmetatable", "getmetatable", "rawequal", "rawget", "rawlen", "rawset",
  "print", "_VERSION",
}
local SAFE_LIBS = { "string", "table", "math", "utf8", "coroutine" }

local function copy(t)
  local c = {}
  for k, v in pairs(t) do c[k] = v end
  return c
end

-- A read-only view of a module table: fields read through, writes refused;
-- nested module tables (metrics.genai) are viewed the same way.
local function readonly(mod, label, overrides)
  local views = {}
  return setmetatable({}, {
    __index = function(_, k)
      if overrides and overrides[k] ~= nil then return overrides[k] end
      local v = mod[k]
      if type(v) == "table" and getmetatable(v) == nil and k == "genai" then
        views[k] = views[k] or readonly(v, label)
        return views[k]
      end
      return v
    end,
    __newindex = function(_, k)
      error(string.format("%s: an untrusted metric pack cannot change the module field '%s'", label, tostring(k)), 2)
    end,
    __metatable = false,
  })
end

local function sandbox(label)
  local env = {}
  for _, k in ipairs(SAFE_GLOBALS) do env[k] = _G[k] end
  for _, k in ipairs(SAFE_LIBS) do env[k] = copy(_G[k]) end
  -- the string metatable is the host's: a pack must not reach it
  env.getmetatable = function(v)
    if type(v) == "string" then return nil end
    return getmetatable(v)
  end
  local untrusted_load = function(name, opts)
    if type(opts) == "table" and opts.trusted then
      error(label .. ": an untrusted metric pack cannot load another pack as trusted", 2)
    end
    return M.load(name, { args = type(opts) == "table" and opts.args or nil })
  end
  local views = {}
  env.require = function(name)
    if not SAFE_MODULES[name] then
      error(string.format("%s: require '%s' is not allowed in an untrusted metric pack (load it with { trusted = true })",
        label, tostring(name)), 2)
    end
    if not views[name] then
      views[name] = readonly(require(name), label, name == "evalua.metrics" and { load = untrusted_load } or nil)
    end
    return views[name]
  end
  env._G = env
  return env
end

local function file_exists(p)
  local f = io.open(p, "rb")
  if f then f:close() return true end
  return false
end

-- Finds the source of a pack: a path, ./metrics/NAME.lua, the source tree
-- (EVALUA_LUA_PATH/../metrics), or the copy embedded in the binary.
local function locate(name)
  local api = "metrics.load"
  if name:find("/", 1, true) or name:match("%.lua$") then
    local src = require("evalua.util").read_file(name)
    if not src then error(string.format("%s: cannot open '%s'", api, name), 0) end
    return src, name
  end
  if not name:match("^[%w_%-]+$") then
    error(string.format("%s: bad pack name '%s'", api, name), 0)
  end
  local local_path = "metrics/" .. name .. ".lua"
  local candidates = { local_path }
  local dev = os.getenv("EVALUA_LUA_PATH")
  if dev and dev ~= "" then table.insert(candidates, 1, dev .. "/../metrics/" .. name .. ".lua") end
  for _, p in ipairs(candidates) do
    if file_exists(p) then return require("evalua.util").read_file(p), p end
  end
  local src = require("evalua.core").embedded(local_path)
  if src then return src, local_path end
  local known = {}
  for _, n in ipairs(require("evalua.core").embedded_names("metrics/")) do
    known[#known + 1] = n:match("^metrics/(.*)%.lua$")
  end
  error(string.format("%s: no metric pack '%s' (built in: %s)", api, name, table.concat(known, ", ")), 0)
end

local function to_metric(v, label, args)
  local metrics = require "evalua.metrics"
  if metrics.is_metric(v) then return v end
  if type(v) == "function" then
    local ok, m = pcall(v, args or {})
    if not ok then error(string.format("metrics.load: %s: %s", label, tostring(m)), 0) end
    if not metrics.is_metric(m) then
      error(string.format("metrics.load: %s: the constructor returned a %s, not a metric", label, type(m)), 0)
    end
    return m
  end
  if type(v) == "table" and v.name ~= nil then
    local ok, m
    if v.definition ~= nil or v.grading_prompt ~= nil then
      ok, m = pcall(require("evalua.metrics.genai").make_genai_metric, v)
    elseif v.judge_prompt ~= nil then
      ok, m = pcall(require("evalua.metrics.genai").make_genai_metric_from_prompt, v)
    else
      ok, m = pcall(metrics.make_metric, v)
    end
    if not ok then error(string.format("metrics.load: %s: %s", label, tostring(m)), 0) end
    return m
  end
  error(string.format("metrics.load: %s: expected a metric, a constructor or a metric spec, got %s",
    label, type(v)), 0)
end

--[[ load(name_or_path, opts) -> metric (or a list of metrics)
opts.trusted  run the file with the full standard library
opts.args     arguments for a pack that returns a constructor ]]
function M.load(name, opts)
  opts = opts or {}
  if type(name) ~= "string" then
    error("metrics.load: expected a pack name or path, got " .. type(name), 2)
  end
  local src, label = locate(name)
  local env = opts.trusted and setmetatable({}, { __index = _G }) or sandbox(label)
  local chunk, err = load(src, "@" .. label, "t", env)
  if not chunk then error("metrics.load: " .. err, 0) end
  local ok, v = pcall(chunk)
  if not ok then error(string.format("metrics.load: %s: %s", label, tostring(v)), 0) end
  if v == nil then error(string.format("metrics.load: %s: the pack returned nothing", label), 0) end
  local metrics = require "evalua.metrics"
  if type(v) == "table" and not metrics.is_metric(v) and v.name == nil and #v > 0 then
    local out = {}
    for i, item in ipairs(v) do out[i] = to_metric(item, label .. ": item " .. i, opts.args) end
    return out
  end
  return to_metric(v, label, opts.args)
end

return M
