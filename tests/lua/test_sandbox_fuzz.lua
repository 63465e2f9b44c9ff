-- Randomized test of the sandbox's read-only views (issue 12): random host
-- structures (nested and shared tables, cycles, metatables with __index,
-- __call and __tostring, host functions returning shared tables) are handed
-- to an untrusted pack through metrics.load's args; the pack runs random
-- reads, writes, rawset/rawget, pairs, next, ipairs, #, getmetatable,
-- setmetatable, table.insert/remove/sort and calls against its views. Every
-- read must agree with the host's own value, every change must be refused,
-- no metatable may show, and the host structure must be byte-for-byte the
-- same afterwards. EVALUA_FUZZ_SEED=n repeats a run; EVALUA_FUZZ_ROUNDS=n
-- runs longer.
local h = require "helper"
local metrics = require("evalua").metrics

local seed = tonumber(os.getenv("EVALUA_FUZZ_SEED") or "") or os.time()
local rounds = tonumber(os.getenv("EVALUA_FUZZ_ROUNDS") or "") or 40
print("seed " .. seed .. ", rounds " .. rounds)
math.randomseed(seed)
local R = math.random

local function rand_key()
  if R() < 0.5 then return R(1, 6) end
  return ({ "a", "b", "n", "name", "x", "eval_fn", "__index", "k" .. R(1, 9) })[R(1, 8)]
end

local function rand_scalar()
  local c = R(1, 5)
  if c == 1 then return R(-1000, 1000) end
  if c == 2 then return R() * 100 end
  if c == 3 then return "s" .. R(1, 1000) end
  if c == 4 then return R() < 0.5 end
  return string.rep("z", R(0, 20))
end

local HOST_MT = {
  __index = function(_, k) return "virtual:" .. tostring(k) end,
  __call = function(self, x) return { echoed = x, size = #self } end,
  __tostring = function() return "host object" end,
}

-- a random host structure; tables[] lists every table in it
local function build()
  local tables = {}
  local function node(depth)
    local t = {}
    tables[#tables + 1] = t
    for _ = 1, R(0, 6) do
      local k = rand_key()
      local c = R()
      if c < 0.3 and depth < 4 then t[k] = node(depth + 1)
      elseif c < 0.38 and #tables > 1 then t[k] = tables[R(1, #tables)] -- shared or cyclic
      elseif c < 0.42 then
        local shared = tables[R(1, #tables)]
        t[k] = function() return shared end
      else t[k] = rand_scalar() end
    end
    if R() < 0.15 then setmetatable(t, HOST_MT) end
    return t
  end
  return node(0), tables
end

-- a printable snapshot of a structure (identity of shared tables included)
local function snapshot(root)
  local ids, n, out = {}, 0, {}
  local function walk(t, path)
    if ids[t] then out[#out + 1] = path .. " -> #" .. ids[t] return end
    n = n + 1
    ids[t] = n
    out[#out + 1] = path .. " = #" .. n .. " mt=" .. tostring(getmetatable(t) == HOST_MT)
    local keys = {}
    for k in next, t do keys[#keys + 1] = k end
    table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
    for _, k in ipairs(keys) do
      local v = rawget(t, k)
      if type(v) == "table" then walk(v, path .. "." .. tostring(k))
      else out[#out + 1] = path .. "." .. tostring(k) .. " = " .. type(v) .. ":" ..
        (type(v) == "function" and "fn" or tostring(v)) end
    end
  end
  walk(root, "")
  return table.concat(out, "\n")
end

-- a random path of keys from the root through tables
local function rand_path(root)
  local path, t = {}, root
  for _ = 1, R(0, 4) do
    local keys = {}
    for k, v in next, t do if type(v) == "table" then keys[#keys + 1] = k end end
    if #keys == 0 then break end
    local k = keys[R(1, #keys)]
    path[#path + 1] = k
    t = rawget(t, k)
  end
  return path, t
end

local function scalar_text(v)
  if type(v) == "table" then return "table" end
  if type(v) == "function" then return "function" end
  if type(v) == "number" then return string.format("%.17g", v) end
  return type(v) .. ":" .. tostring(v)
end

local OPS = { "read", "write", "rawset", "rawget", "pairs", "next", "ipairs", "len", "getmt", "setmt",
  "insert", "remove", "sort", "same", "call", "callmeta", "tostring" }

-- what the host expects for one op, computed from the structure itself
local function expect(op, t, key)
  if op == "read" then return scalar_text(t[key]) end
  if op == "rawget" then return scalar_text(rawget(t, key)) end
  if op == "pairs" or op == "next" then
    local items = {}
    for k, v in pairs(t) do items[#items + 1] = tostring(k) .. "=" .. scalar_text(v) end
    table.sort(items)
    return table.concat(items, ",")
  end
  if op == "ipairs" then
    local items = {}
    for i, v in ipairs(t) do items[#items + 1] = i .. "=" .. scalar_text(v) end
    return table.concat(items, ",")
  end
  if op == "len" then return tostring(#t) end
  if op == "getmt" then return "hidden" end
  if op == "same" then return "true" end
  if op == "call" then
    local v = t[key]
    if type(v) ~= "function" then return "skip" end
    return "table refused"
  end
  if op == "callmeta" then
    if getmetatable(t) ~= HOST_MT then return "skip" end
    return "size=" .. #t .. " refused"
  end
  if op == "tostring" then
    if getmetatable(t) == HOST_MT then return "host object" end
    return "table"
  end
  return "refused"
end

local PACK = [[
local args = ...
return function(a)
  local root, ops = a.root, a.ops
  local out = {}
  local function scalar_text(v)
    if type(v) == "table" then return "table" end
    if type(v) == "function" then return "function" end
    if type(v) == "number" then return string.format("%.17g", v) end
    return type(v) .. ":" .. tostring(v)
  end
  local function refused(f) local ok = pcall(f) return ok and "CHANGED" or "refused" end
  for i, op in ipairs(ops) do
    local t = root
    for _, k in ipairs(op.path) do t = t[k] end
    local key, kind = op.key, op.op
    local r
    if kind == "read" then r = scalar_text(t[key])
    elseif kind == "rawget" then r = scalar_text(rawget(t, key))
    elseif kind == "write" then r = refused(function() t[key] = op.value end)
    elseif kind == "rawset" then r = refused(function() rawset(t, key, op.value) end)
    elseif kind == "setmt" then r = refused(function() setmetatable(t, {}) end)
    elseif kind == "insert" then r = refused(function() table.insert(t, op.value) end)
    elseif kind == "remove" then r = refused(function() assert(#t > 0) table.remove(t) end)
      if #t == 0 then r = "refused" end
    elseif kind == "sort" then
      -- a list already in order is not written to: only a change counts
      local before = {}
      for j = 1, #t do before[j] = t[j] end
      local ok = pcall(table.sort, t, function(x, y) return tostring(x) > tostring(y) end)
      r = "refused"
      for j = 1, #t do if ok and t[j] ~= before[j] then r = "CHANGED" end end
    elseif kind == "pairs" or kind == "next" then
      local items = {}
      if kind == "pairs" then
        for k, v in pairs(t) do items[#items + 1] = tostring(k) .. "=" .. scalar_text(v) end
      else
        local k, v = next(t)
        while k ~= nil do items[#items + 1] = tostring(k) .. "=" .. scalar_text(v) k, v = next(t, k) end
      end
      table.sort(items)
      r = table.concat(items, ",")
    elseif kind == "ipairs" then
      local items = {}
      for j, v in ipairs(t) do items[#items + 1] = j .. "=" .. scalar_text(v) end
      r = table.concat(items, ",")
    elseif kind == "len" then r = tostring(#t)
    elseif kind == "getmt" then
      local mt = getmetatable(t)
      r = (mt == nil or mt == false) and "hidden" or "SHOWN"
    elseif kind == "same" then r = tostring(t == (function() local u = root for _, k in ipairs(op.path) do u = u[k] end return u end)())
    elseif kind == "call" then
      local f = t[key]
      if type(f) ~= "function" then r = "skip"
      else
        local got = f()
        r = type(got) .. " " .. refused(function() got.pwned = true end)
        if getmetatable(got) then r = "SHOWN" end
      end
    elseif kind == "callmeta" then
      local ok, got = pcall(t, "x")
      if not ok then r = "skip"
      else r = "size=" .. tostring(got.size) .. " " .. refused(function() got.size = 0 end) end
    elseif kind == "tostring" then r = tostring(t):match("^table") and "table" or tostring(t)
    end
    out[i] = r
  end
  return require("evalua.metrics").make_metric{ name = "fuzz", eval_fn = function() end, metric_metadata = { out = out } }
end
]]

local d = h.tmpdir()
local pack = h.write(d .. "/fuzz.lua", PACK)

h.case("random operations on the read-only views", function()
  local total = 0
  for round = 1, rounds do
    local root = build()
    local before = snapshot(root)
    local ops, want = {}, {}
    for i = 1, 150 do
      local path, t = rand_path(root)
      local op = OPS[R(1, #OPS)]
      -- ipairs over a table whose __index never answers nil does not end
      if op == "ipairs" and getmetatable(t) == HOST_MT then op = "len" end
      local key = rand_key()
      if op == "call" then
        local fkeys = {}
        for k, v in next, t do if type(v) == "function" then fkeys[#fkeys + 1] = k end end
        if #fkeys > 0 then key = fkeys[R(1, #fkeys)] end
      end
      ops[i] = { op = op, path = path, key = key, value = rand_scalar() }
      want[i] = expect(op, t, key)
    end
    local m = metrics.load(pack, { args = { root = root, ops = ops } })
    local got = m.metric_metadata.out
    for i = 1, #ops do
      if want[i] ~= "skip" and got[i] ~= "skip" then
        if got[i] ~= want[i] then
          error(string.format("seed %d round %d op %d (%s %s at /%s): expected %q, got %q", seed, round, i,
            ops[i].op, tostring(ops[i].key), table.concat((function()
              local p = {} for j, k in ipairs(ops[i].path) do p[j] = tostring(k) end return p end)(), "/"),
            want[i], tostring(got[i])))
        end
        total = total + 1
      end
    end
    h.eq(snapshot(root), before, string.format("seed %d round %d: the host structure", seed, round))
  end
  assert(total > rounds * 50, "too few checked operations: " .. total)
end)

-- control: the same operations on the bare structure do change it (so the
-- snapshot comparison and the "refused" checks can fail)
h.case("control: without the views the operations change the host", function()
  local root = { a = { 1, 2, 3 }, b = setmetatable({}, HOST_MT) }
  local before = snapshot(root)
  local env = setmetatable({}, { __index = _G })
  local f = load([[local t = ... t.a[1] = 9 table.insert(t.a, 4) rawset(t, "x", 1) getmetatable(t.b).__index = nil]], "=c", "t", env)
  f(root)
  assert(snapshot(root) ~= before, "control: the snapshot did not see the change")
  HOST_MT.__index = function(_, k) return "virtual:" .. tostring(k) end
end)

h.done()
