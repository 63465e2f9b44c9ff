-- Attack 6 of issue 12: packs that never stop or eat the machine. The
-- instruction budget and the memory cap stop them with errors naming the
-- pack, a pack cannot catch them, and the host is healthy afterwards (the
-- same evaluation gives the same results, the cap is lifted). Controls: the
-- same payloads bounded and with the limit switched off do complete, and a
-- trusted copy of the endless loop really is endless (killed by timeout).
-- Run under ASan by `make asan` too.
local h = require "helper"
local evalua = require "evalua"
local metrics = evalua.metrics
local limits = require "evalua.limits"

local d = h.tmpdir()

local function pack(name, src)
  return h.write(d .. "/" .. name .. ".lua", src)
end

local function baseline_eval()
  local data = evalua.table.from_rows({
    { inputs = "q1", predictions = "A calm and kind answer." },
    { inputs = "q2", predictions = "You are a stupid idiot." },
  }, { columns = { "inputs", "predictions" } })
  local r = evalua.evaluate{ data = data, predictions = "predictions", model_type = "text" }
  local out = {}
  for k, v in pairs(r.metrics) do out[k] = string.format("%.12g", v) end
  return out
end

local before = baseline_eval()

local function healthy(what)
  h.eq(limits.limit(), 0, what .. ": the memory cap is lifted")
  h.same(baseline_eval(), before, what .. ": results after the attack")
  h.eq(debug.gethook(), nil, what .. ": no hook left behind")
end

local SMALL = { instructions = 1e6, memory = 32 * 1024 * 1024 }

local LOOPS = {
  plain = "while true do end",
  caught = "while true do pcall(function() while true do end end) end",
  handler = "while true do xpcall(function() while true do end end, function() while true do end end) end",
  coroutine = "while true do local c = coroutine.create(function() while true do end end) coroutine.resume(c) end",
  ["error object"] = "while true do pcall(error, setmetatable({}, { __tostring = function() while true do end end })) end",
  recursion = "local function f() return f() end f()",
}

for name, body in pairs(LOOPS) do
  h.case("6: endless loop at load (" .. name .. ")", function()
    local p = pack("loop", body)
    local t0 = os.clock()
    h.raises("metrics.load: " .. p .. ": pack " .. p .. ": exceeded 1e6 instructions", metrics.load, p, { limits = SMALL })
    assert(os.clock() - t0 < 5, "took too long")
    healthy(name)
  end)
end

h.case("6: the default budget stops a loop too", function()
  local p = pack("loop", "while true do end")
  local old = metrics.pack_limits()
  metrics.pack_limits{ instructions = 3e6 }
  local ok, err = pcall(metrics.load, p)
  metrics.pack_limits(old)
  assert(not ok and err:find("exceeded 3e6 instructions", 1, true), tostring(err))
  h.eq(metrics.pack_limits().instructions, 2e9, "default restored")
  healthy("default")
end)

h.case("6: endless loop in eval_fn during evaluate", function()
  local p = pack("evalloop", [[return { name = "spin", eval_fn = function(predictions)
    while true do end end }]])
  local m = metrics.load(p, { limits = SMALL })
  local data = evalua.table.from_rows({ { predictions = "x" } }, { columns = { "predictions" } })
  local ok, err = pcall(evalua.evaluate, { data = data, predictions = "predictions", model_type = "text",
    extra_metrics = { m } })
  assert(not ok and tostring(err):find("pack " .. p .. ": exceeded 1e6 instructions", 1, true), tostring(err))
  healthy("eval_fn loop")
end)

local BOMBS = {
  strings = "local t = {} while true do t[#t + 1] = string.rep('x', 1000000) .. #t end",
  tables = "local t = {} local i = 0 while true do i = i + 1 t[i] = { i, i, i, i } end",
  ["one huge string"] = "local s = string.rep('x', 2000000000) return s",
  concat = "local s = 'x' while true do s = s .. s end",
  caught = "local keep = {} while true do pcall(function() local t = {} keep[#keep + 1] = t while true do t[#t + 1] = {} end end) end",
  ["table.concat"] = "local t = {} for i = 1, 100 do t[i] = string.rep('y', 1000000) end local big = {} for i = 1, 1000 do big[i] = table.concat(t) end",
}

for name, body in pairs(BOMBS) do
  h.case("6: memory bomb at load (" .. name .. ")", function()
    local p = pack("bomb", body)
    collectgarbage()
    local used0 = limits.used()
    h.raises("metrics.load: " .. p .. ": pack " .. p .. ": exceeded 32 MB", metrics.load, p,
      { limits = { instructions = 1e9, memory = 32 * 1024 * 1024 } })
    collectgarbage()
    assert(limits.used() < used0 + 4 * 1024 * 1024, "memory not given back: " .. limits.used() - used0)
    healthy(name)
  end)
end

h.case("6: memory bomb in eval_fn during evaluate", function()
  local p = pack("evalbomb", [[return { name = "hog", eval_fn = function(predictions)
    local t = {} while true do t[#t + 1] = string.rep("z", 100000) .. #t end end }]])
  local m = metrics.load(p, { limits = SMALL })
  local data = evalua.table.from_rows({ { predictions = "x" } }, { columns = { "predictions" } })
  local ok, err = pcall(evalua.evaluate, { data = data, predictions = "predictions", model_type = "text",
    extra_metrics = { m } })
  assert(not ok and tostring(err):find("pack " .. p .. ": exceeded 32 MB", 1, true), tostring(err))
  healthy("eval_fn bomb")
end)

h.case("6: bad limits are refused", function()
  h.raises("unknown limit 'cpu'", metrics.load, pack("ok", "return { name = 'x', eval_fn = function() end }"),
    { limits = { cpu = 1 } })
  h.raises("limit 'memory' must be a positive number or false", metrics.load, d .. "/ok.lua", { limits = { memory = -1 } })
  h.raises("pack_limits: unknown limit 'cpu'", metrics.pack_limits, { cpu = 1 })
end)

-- controls: the checks are what stops these payloads
h.case("6 control: bounded work passes, and fails only under the limit", function()
  local p = pack("bounded", "local n = 0 for i = 1, 2000000 do n = n + i end " ..
    "local t = {} for i = 1, 40 do t[i] = string.rep('x', 1000000) .. i end " ..
    "return { name = 'b' .. n, eval_fn = function() end }")
  h.eq(metrics.load(p, { limits = { instructions = false, memory = false } }).name, "b2000001000000")
  h.raises("exceeded 1e6 instructions", metrics.load, p, { limits = SMALL })
  -- garbage left by the cases before does not widen the cap at load time
  local junk = {}
  for i = 1, 50 do junk[i] = string.rep("j", 1000000) .. i end
  junk = nil
  h.raises("exceeded 32 MB", metrics.load, p, { limits = { instructions = 1e9, memory = 32 * 1024 * 1024 } })
  healthy("control")
end)

h.case("6 control: the same loop, trusted, does not stop by itself", function()
  local p = pack("loop", "while true do end")
  local code = h.sh("timeout 2 " .. h.quote(h.bin) .. " -e " ..
    h.quote(string.format("require('evalua').metrics.load(%q, { trusted = true })", p)))
  h.eq(code, 124, "exit code of the timed-out trusted loop")
end)

h.done()
