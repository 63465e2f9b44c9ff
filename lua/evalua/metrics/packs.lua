-- evalua.metrics.packs: metric packs are Lua files returning a metric, a
-- list of metrics, a constructor function, or plain spec tables. Untrusted
-- packs (the default) run in a sandbox behind a membrane: they get their
-- own _ENV, deep read-only views of what the host hands over, no loaders or
-- file access, limits on instructions and memory, and everything they hand
-- back is copied and validated as data. docs/security.md is the contract.
local M = {}

-- Limits of one call into untrusted pack code (the chunk, a constructor, an
-- eval_fn, a score_row); the trusted script may change them here or per
-- load with opts.limits = { instructions = N, memory = bytes }.
M.limits = { instructions = 2e9, memory = 256 * 1024 * 1024 }

-- modules an untrusted pack may require; each is handed over as a deep
-- read-only view (cjson as a private instance of its own)
local SAFE_MODULES = {
  ["evalua.metrics"] = true, ["evalua.metrics.genai"] = true,
  ["evalua.text"] = true, ["evalua.tokenize"] = true, ["evalua.toxicity"] = true,
  ["cjson"] = true,
}

local SAFE_GLOBALS = {
  "assert", "error", "ipairs", "pairs", "select", "tonumber", "tostring", "type",
  "rawequal", "rawlen", "print", "_VERSION",
}
local DROPPED = { string = { dump = true }, math = { randomseed = true } }

-- Fields that decide where a request goes or what it carries: an untrusted
-- pack may pass them only with the value the trusted script gave in args.
local ROUTING = { proxy_url = true, base_url = true, url = true, extra_headers = true, headers = true,
  api_key = true, endpoint = true, endpoints = true, organization = true, api_type = true,
  deployment = true, api_version = true, azure_ad = true }
-- Fields naming files or directories: only paths the trusted script gave.
local PATHS = { path = true, dir = true, file = true, model_path = true }

-- Functions made by the membrane for pack functions -> the pack function,
-- shared with evalua.metrics so parameter names are read from the original.
local fn_source = setmetatable({}, { __mode = "k" })
M.fn_source = fn_source

local INSTR_STEP = 1000

local LIMIT_MT = { __tostring = function(e) return e.msg end }
local function is_limit(e)
  return (type(e) == "table" and getmetatable(e) == LIMIT_MT) or e == "not enough memory"
end

local function weak() return setmetatable({}, { __mode = "k" }) end

local function short_number(n)
  local s = string.format("%.3g", n):gsub("e%+?0*", "e")
  return s
end

local view, unwrap, guard, call_host

-- A deep copy of a host value (metatables kept): what the engine gets back
-- when a pack hands over one of the views, so no engine function ever holds
-- (or changes) shared state a pack pointed it at.
local function hostcopy(v, seen)
  if type(v) ~= "table" then return v end
  seen = seen or {}
  if seen[v] then return seen[v] end
  local c = {}
  seen[v] = c
  for k, x in next, v do c[hostcopy(k, seen)] = hostcopy(x, seen) end
  local mt = debug.getmetatable(v)
  if mt then setmetatable(c, mt) end
  return c
end

local function ro_error(ctx, k)
  return string.format("%s: an untrusted metric pack cannot change the field '%s' (a read-only view)",
    ctx.label, tostring(k))
end

local function key_of(ctx, k)
  if type(k) == "table" then return ctx.targets[k] or k end
  return k
end

-- host -> pack: tables become read-only proxies (one per table, so identity
-- holds), functions become calls through the membrane, pack functions that
-- come back are the pack's own again.
function view(ctx, v)
  local tv = type(v)
  if tv == "table" then
    if ctx.targets[v] then return v end
    local p = ctx.proxies[v]
    if p then return p end
    local over = ctx.overrides[v]
    local t = v
    p = setmetatable({}, {
      __index = function(_, k)
        if over and over[k] ~= nil then return over[k] end
        return view(ctx, t[key_of(ctx, k)])
      end,
      __newindex = function(_, k) error(ro_error(ctx, k), 2) end,
      __len = function() return #t end,
      __pairs = function()
        local f, s, c = pairs(t)
        return function(_, k)
          local nk, nv = f(s, key_of(ctx, k))
          if nk == nil then return nil end
          if over and over[nk] ~= nil then nv = over[nk] else nv = view(ctx, nv) end
          return view(ctx, nk), nv
        end, nil, view(ctx, c)
      end,
      __call = function(_, ...) return call_host(ctx, t, ...) end,
      __tostring = function() return tostring(t) end,
      __metatable = false,
    })
    ctx.proxies[v], ctx.targets[p] = p, v
    return p
  elseif tv == "function" then
    local own = ctx.packfn_of[v]
    if own then return own end
    if ctx.hostfn_of[v] then return v end
    local w = ctx.hostfns[v]
    if not w then
      w = function(...) return call_host(ctx, v, ...) end
      ctx.hostfns[v], ctx.hostfn_of[w] = w, v
    end
    return w
  elseif tv == "thread" then
    return nil
  end
  return v
end

local function view_all(ctx, n, ...)
  if n == 0 then return end
  if n == 1 then return view(ctx, (...)) end
  local r = { ... }
  for i = 1, n do r[i] = view(ctx, r[i]) end
  return table.unpack(r, 1, n)
end

-- pack -> host: a copy made with raw access (a pack's metatables are not
-- the engine's business and cannot answer differently on the next read);
-- views become copies of what they show, pack functions become guarded
-- calls back into the sandbox.
function unwrap(ctx, v, seen)
  local tv = type(v)
  if tv == "function" then
    return ctx.hostfn_of[v] or guard(ctx, v)
  end
  if tv ~= "table" then return v end
  local target = ctx.targets[v]
  seen = seen or {}
  if target then return hostcopy(target, seen) end
  if seen[v] then return seen[v] end
  local c = {}
  seen[v] = c
  for k, x in next, v do c[unwrap(ctx, k, seen)] = unwrap(ctx, x, seen) end
  return c
end

local function deep_equal(a, b, depth)
  if a == b then return true end
  if type(a) ~= "table" or type(b) ~= "table" or (depth or 0) > 20 then return false end
  for k, v in next, a do if not deep_equal(v, b[k], (depth or 0) + 1) then return false end end
  for k in next, b do if a[k] == nil then return false end end
  return true
end

local function trusted_value(ctx, k, v)
  for _, t in ipairs(ctx.trusted_fields[k] or {}) do
    if deep_equal(t, v) then return true end
  end
  return false
end

local function routing_error(ctx, k, what)
  error(string.format("%s: an untrusted metric pack cannot set '%s' (%s); the trusted script may pass it in the args of metrics.load",
    ctx.label, k, what), 0)
end

-- Refuses request-routing fields, endpoint model URIs and file paths in a
-- value a pack hands to the engine, unless the trusted script gave them.
local function check_data(ctx, v, seen)
  if type(v) ~= "table" then return end
  seen = seen or {}
  if seen[v] then return end
  seen[v] = true
  for k, x in next, v do
    if type(k) == "string" then
      local lk = k:lower()
      if ROUTING[lk] and x ~= nil and not trusted_value(ctx, k, x) then
        routing_error(ctx, k, "request routing")
      elseif PATHS[lk] and type(x) == "string" and not ctx.trusted_strings[x] then
        routing_error(ctx, k, "a file path")
      elseif lk == "model" and type(x) == "string" and not ctx.trusted_strings[x] then
        local scheme = x:match("^%s*([%a][%w+.-]*):")
        if scheme and scheme:lower() ~= "openai" and scheme:lower() ~= "anthropic" then
          routing_error(ctx, k, "an endpoint URI")
        end
      end
    end
    check_data(ctx, x, seen)
  end
end

function call_host(ctx, f, ...)
  local n = select("#", ...)
  local args = { ... }
  for i = 1, n do
    args[i] = unwrap(ctx, args[i])
    check_data(ctx, args[i])
  end
  local r = table.pack(f(table.unpack(args, 1, n)))
  return view_all(ctx, r.n, table.unpack(r, 1, r.n))
end

-- ------------------------------------------------------------ limits

-- the C memory cap (engine/llimits.c, in every build: a missing module is
-- an error, never a silently uncapped pack)
local limits_c
local function mem()
  if limits_c == nil then limits_c = require "evalua.limits" end
  return limits_c
end

-- the running guard of each thread (a pack calling the engine calling
-- another pack stays inside the outer budget)
local active = weak()

local function instr_hook(st)
  local hook
  hook = function()
    st.used = st.used + st.step
    if st.used > st.limit then
      st.exceeded = true
      local info = debug.getinfo(2, "S")
      -- raised in pack code only, so engine code is never cut in half
      if info and info.source == st.source then error(st.err, 0) end
      if st.step ~= 1 then
        st.step = 1
        debug.sethook(hook, "", 1)
      end
    end
  end
  return hook
end

-- Runs fn(...) under the limits of ctx; returns its results or raises
-- `pack x.lua: exceeded 2e9 instructions` / `exceeded 256 MB`.
local function limited(ctx, fn, ...)
  local co = coroutine.running()
  if active[co] then return fn(...) end
  local lim = ctx.limits
  local st = { used = 0, step = INSTR_STEP, limit = lim.instructions, source = "@" .. ctx.label }
  st.err = setmetatable({ msg = string.format("pack %s: exceeded %s instructions", ctx.label,
    short_number(lim.instructions)) }, LIMIT_MT)
  local oldhook, oldmask, oldcount = debug.gethook()
  debug.sethook(instr_hook(st), "", INSTR_STEP)
  active[co] = st
  local m = mem()
  local oldlimit, refused
  if m and lim.memory then
    local want = m.used() + lim.memory
    oldlimit = m.limit()
    if oldlimit == 0 or want < oldlimit then m.limit(want) end
    refused = m.refused()
  end
  local r = table.pack(pcall(fn, ...))
  active[co] = nil
  if oldhook then debug.sethook(oldhook, oldmask, oldcount) else debug.sethook() end
  local hit = false
  if m and oldlimit then
    m.limit(oldlimit)
    hit = m.refused() > refused
  end
  if st.exceeded and not r[1] then error(st.err.msg, 0) end
  if hit and not r[1] then
    collectgarbage()
    error(string.format("pack %s: exceeded %s MB", ctx.label, short_number(lim.memory / (1024 * 1024))), 0)
  end
  if not r[1] then
    local e = r[2]
    if type(e) == "table" and getmetatable(e) == LIMIT_MT then e = e.msg end
    error(e, 0)
  end
  return table.unpack(r, 2, r.n)
end

local function run_pack(ctx, fn, ...)
  local n = select("#", ...)
  local args = { ... }
  for i = 1, n do args[i] = view(ctx, args[i]) end
  local r = table.pack(limited(ctx, fn, table.unpack(args, 1, n)))
  for i = 1, r.n do r[i] = unwrap(ctx, r[i]) end
  return table.unpack(r, 1, r.n)
end

-- The engine-side function for a pack function: arguments go in as views,
-- results come out as checked copies, the call runs under the limits.
function guard(ctx, fn)
  local g = ctx.guards[fn]
  if g then return g end
  g = function(...) return run_pack(ctx, fn, ...) end
  ctx.guards[fn], ctx.packfn_of[g] = g, fn
  fn_source[g] = fn
  return g
end

-- ------------------------------------------------------------ the sandbox

local function collect_trusted(ctx, v, seen)
  if type(v) == "string" then ctx.trusted_strings[v] = true return end
  if type(v) ~= "table" then return end
  seen = seen or {}
  if seen[v] then return end
  seen[v] = true
  for k, x in next, v do
    if type(k) == "string" then
      local list = ctx.trusted_fields[k] or {}
      list[#list + 1] = x
      ctx.trusted_fields[k] = list
    end
    collect_trusted(ctx, x, seen)
  end
end

local function new_ctx(label, opts)
  local lim = {}
  for k, v in pairs(M.limits) do lim[k] = v end
  if type(opts.limits) == "table" then
    for k, v in pairs(opts.limits) do
      if k ~= "instructions" and k ~= "memory" then
        error(string.format("metrics.load: unknown limit '%s' (known: instructions, memory)", tostring(k)), 0)
      end
      if v ~= false and (type(v) ~= "number" or v < 1) then
        error(string.format("metrics.load: limit '%s' must be a positive number or false", k), 0)
      end
      lim[k] = v or nil
    end
  end
  lim.instructions = lim.instructions or math.huge
  local ctx = { label = label, limits = lim,
    proxies = weak(), targets = weak(), hostfns = weak(), hostfn_of = weak(),
    guards = weak(), packfn_of = weak(), overrides = weak(), own_threads = weak(),
    trusted_fields = {}, trusted_strings = {} }
  collect_trusted(ctx, opts.args)
  return ctx
end

local function is_path(name)
  return name:find("/", 1, true) ~= nil or name:match("%.lua$") ~= nil
end

local function sandbox(ctx)
  local env = {}
  local label = ctx.label
  for _, k in ipairs(SAFE_GLOBALS) do env[k] = _G[k] end
  -- what a pack prints is a log line: it passes the redaction step
  env.print = function(...)
    local r = table.pack(...)
    for i = 1, r.n do r[i] = require("evalua.redact").text(tostring(r[i])) end
    print(table.unpack(r, 1, r.n))
  end
  for _, lib in ipairs({ "string", "table", "math", "utf8" }) do
    local c = {}
    for k, v in pairs(_G[lib]) do
      if not (DROPPED[lib] and DROPPED[lib][k]) then c[k] = v end
    end
    env[lib] = c
  end
  -- metatables: a pack sees only the ones it set on its own tables
  env.getmetatable = function(v)
    if type(v) ~= "table" then return nil end
    return getmetatable(v)
  end
  env.setmetatable = function(t, mt)
    if ctx.targets[t] then error(label .. ": an untrusted metric pack cannot set the metatable of a read-only view", 2) end
    return setmetatable(t, mt)
  end
  env.rawset = function(t, k, v)
    if ctx.targets[t] then error(ro_error(ctx, k), 2) end
    return rawset(t, k, v)
  end
  env.rawget = function(t, k)
    local target = ctx.targets[t]
    if target then return view(ctx, rawget(target, key_of(ctx, k))) end
    return rawget(t, k)
  end
  env.next = function(t, k)
    local target = ctx.targets[t]
    if not target then return next(t, k) end
    local nk, nv = next(target, key_of(ctx, k))
    if nk == nil then return nil end
    return view(ctx, nk), view(ctx, nv)
  end
  -- a pack cannot catch the limits
  local function caught(ok, ...)
    if not ok and is_limit((...)) then error((...), 0) end
    return ok, ...
  end
  env.pcall = function(f, ...) return caught(pcall(f, ...)) end
  env.xpcall = function(f, handler, ...)
    return caught(xpcall(f, function(e)
      if is_limit(e) then return e end
      return handler(e)
    end, ...))
  end
  -- coroutines: a pack's own; it cannot yield the engine's task
  local co = {}
  for k, v in pairs(coroutine) do co[k] = v end
  co.create = function(f)
    local c = coroutine.create(f)
    ctx.own_threads[c] = true
    -- a Lua hook is kept per thread: the new one gets the budget of this one
    local hook, mask, count = debug.gethook()
    if hook then debug.sethook(c, hook, mask, count) end
    return c
  end
  co.wrap = function(f)
    local c = co.create(f)
    return function(...)
      local r = table.pack(coroutine.resume(c, ...))
      if not r[1] then error(r[2], 0) end
      return table.unpack(r, 2, r.n)
    end
  end
  co.resume = function(c, ...)
    if not ctx.own_threads[c] then error(label .. ": an untrusted metric pack can resume only its own coroutines", 2) end
    return caught(coroutine.resume(c, ...))
  end
  co.close = function(c)
    if not ctx.own_threads[c] then error(label .. ": an untrusted metric pack can close only its own coroutines", 2) end
    return caught(coroutine.close(c))
  end
  co.yield = function(...)
    if not ctx.own_threads[coroutine.running()] then
      error(label .. ": an untrusted metric pack cannot yield outside its own coroutines", 2)
    end
    return coroutine.yield(...)
  end
  co.running = function()
    local c, main = coroutine.running()
    if ctx.own_threads[c] then return c, main end
    return nil, main
  end
  co.status = function(c)
    if not ctx.own_threads[c] then error(label .. ": not a coroutine of this pack", 2) end
    return coroutine.status(c)
  end
  env.coroutine = co

  local modules = {}
  local function module_view(name)
    if name == "cjson" then return view(ctx, require("cjson").new()) end
    local mod = require(name)
    if name == "evalua.metrics" then
      ctx.overrides[mod] = { load = function(pname, popts)
        if type(pname) ~= "string" then
          error(label .. ": metrics.load: expected a pack name or path, got " .. type(pname), 2)
        end
        if popts ~= nil and type(popts) ~= "table" then
          error(label .. ": metrics.load: opts must be a table", 2)
        end
        local o = unwrap(ctx, popts or {})
        if o.trusted then
          error(label .. ": an untrusted metric pack cannot load another pack as trusted", 2)
        end
        for k in pairs(o) do
          if k ~= "args" and k ~= "trusted" then
            error(string.format("%s: metrics.load: unknown option '%s' in an untrusted metric pack", label, tostring(k)), 2)
          end
        end
        check_data(ctx, o.args)
        if is_path(pname) and not ctx.trusted_strings[pname] then
          error(label .. ": an untrusted metric pack can load built-in packs by name, and paths only when the trusted script passed them in args", 2)
        end
        return view(ctx, M.load(pname, { args = o.args, limits = ctx.limits }))
      end }
    elseif name == "evalua.toxicity" and mod.roberta_open then
      ctx.overrides[mod] = { roberta_open = function(path, ...)
        if not ctx.trusted_strings[path] then
          error(label .. ": an untrusted metric pack can use a model directory only when the trusted script passed its path in args", 2)
        end
        return call_host(ctx, mod.roberta_open, path, ...)
      end }
    end
    return view(ctx, mod)
  end
  env.require = function(name)
    if not SAFE_MODULES[name] then
      error(string.format("%s: require '%s' is not allowed in an untrusted metric pack (load it with { trusted = true })",
        label, tostring(name)), 2)
    end
    modules[name] = modules[name] or module_view(name)
    return modules[name]
  end
  env._G = env
  return env
end

-- ------------------------------------------------------------ locating

-- Finds the source of a pack: an explicit path (a .lua file), or a built-in
-- by name (the source tree named by EVALUA_LUA_PATH, else the copy embedded
-- in the binary). Names never resolve against the working directory.
local function locate(name)
  local api = "metrics.load"
  if is_path(name) then
    if not name:match("%.lua$") then
      error(string.format("%s: '%s' is not a .lua file", api, name), 0)
    end
    local src = require("evalua.util").read_file(name)
    if not src then error(string.format("%s: cannot open '%s'", api, name), 0) end
    return src, name
  end
  if not name:match("^[%w_%-]+$") then
    error(string.format("%s: bad pack name '%s'", api, name), 0)
  end
  local rel = "metrics/" .. name .. ".lua"
  local dev = os.getenv("EVALUA_LUA_PATH")
  if dev and dev ~= "" then
    local p = dev .. "/../" .. rel
    local src = require("evalua.util").read_file(p)
    if src then return src, p end
  end
  local src = require("evalua.core").embedded(rel)
  if src then return src, rel end
  local known = {}
  for _, n in ipairs(require("evalua.core").embedded_names("metrics/")) do
    known[#known + 1] = n:match("^metrics/(.*)%.lua$")
  end
  error(string.format("%s: no metric pack '%s' (built in: %s)", api, name, table.concat(known, ", ")), 0)
end

-- ------------------------------------------------------------ results

local RESULT_FIELDS = { scores = true, justifications = true, aggregate_results = true, warnings = true }

-- An untrusted eval_fn's result is data of a known shape; the engine's own
-- checks (lengths, cell types) follow in evalua.metrics.compute.
local function checked_eval_fn(ctx, name, fn)
  return function(...)
    local v = fn(...)
    if type(v) == "table" then
      for k, x in pairs(v) do
        if not RESULT_FIELDS[k] then
          error(string.format("%s: metric '%s' returned an unknown field '%s' (known: aggregate_results, justifications, scores, warnings)",
            ctx.label, name, tostring(k)), 0)
        end
        if k == "warnings" then
          if type(x) ~= "table" then error(string.format("%s: metric '%s': warnings must be a list of strings", ctx.label, name), 0) end
          for _, w in pairs(x) do
            if type(w) ~= "string" then error(string.format("%s: metric '%s': warnings must be a list of strings", ctx.label, name), 0) end
          end
        end
      end
    elseif v ~= nil and type(v) ~= "number" then
      error(string.format("%s: metric '%s' returned a %s", ctx.label, name, type(v)), 0)
    end
    return v
  end
end

local function finish_metric(ctx, m)
  if ctx and type(m.eval_fn) == "function" and ctx.packfn_of[m.eval_fn] then
    local params = m.params
    m.eval_fn = checked_eval_fn(ctx, m.name, m.eval_fn)
    m.params = params
  end
  return m
end

local function to_metric(v, label, args, ctx)
  local metrics = require "evalua.metrics"
  if metrics.is_metric(v) then return finish_metric(ctx, v) end
  if type(v) == "function" then
    local ok, m = pcall(v, args or {})
    if not ok then error(string.format("metrics.load: %s: %s", label, tostring(m)), 0) end
    if not metrics.is_metric(m) then
      error(string.format("metrics.load: %s: the constructor returned a %s, not a metric", label, type(m)), 0)
    end
    if ctx then
      local cok, cerr = pcall(check_data, ctx, m)
      if not cok then error("metrics.load: " .. tostring(cerr), 0) end
    end
    return finish_metric(ctx, m)
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
    return finish_metric(ctx, m)
  end
  error(string.format("metrics.load: %s: expected a metric, a constructor or a metric spec, got %s",
    label, type(v)), 0)
end

--[[ load(name_or_path, opts) -> metric (or a list of metrics)
opts.trusted  run the file with the full standard library
opts.args     arguments for a pack that returns a constructor; the only
              source of request-routing fields and paths an untrusted pack
              may use
opts.limits   { instructions = N, memory = bytes } for this pack (false: none) ]]
function M.load(name, opts)
  opts = opts or {}
  if type(name) ~= "string" then
    error("metrics.load: expected a pack name or path, got " .. type(name), 2)
  end
  local src, label = locate(name)
  if opts.trusted then
    local chunk, err = load(src, "@" .. label, "t", setmetatable({}, { __index = _G }))
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
  local ctx = new_ctx(label, opts)
  local chunk, err = load(src, "@" .. label, "t", sandbox(ctx))
  if not chunk then error("metrics.load: " .. err, 0) end
  -- the memory cap counts from the heap at the call's start: without the
  -- engine's garbage in it, the cap at load time is the cap
  collectgarbage()
  local ok, v = pcall(guard(ctx, chunk))
  if not ok then error(string.format("metrics.load: %s: %s", label, tostring(v)), 0) end
  local cok, cerr = pcall(check_data, ctx, v)
  if not cok then error("metrics.load: " .. tostring(cerr), 0) end
  if v == nil then error(string.format("metrics.load: %s: the pack returned nothing", label), 0) end
  local metrics = require "evalua.metrics"
  if type(v) == "table" and not metrics.is_metric(v) and v.name == nil and #v > 0 then
    local out = {}
    for i, item in ipairs(v) do out[i] = to_metric(item, label .. ": item " .. i, opts.args, ctx) end
    return out
  end
  return to_metric(v, label, opts.args, ctx)
end

return M
