-- Run by .ci/run with stock lua5.4: require "evalua" works outside the
-- evalua binary when the C modules are built as a loadable module
-- (cmake -DEVALUA_LUA_MODULES=ON).
local evalua = require "evalua"
assert(type(evalua.version) == "string")
local m = evalua.metrics.make_metric{ name = "len", eval_fn = function(predictions)
  local s = { n = predictions.n }
  for i = 1, predictions.n do s[i] = #predictions[i] end
  return { scores = s }
end }
local t = evalua.table.from{ outputs = { "ab", "abcd" } }
local r = evalua.evaluate{ data = t, predictions = "outputs", extra_metrics = { m } }
assert(r.metrics["len/mean"] == 3, tostring(r.metrics["len/mean"]))
assert(evalua.tokenize.count("hello world") == 2)
-- the packs' memory cap wraps the state's allocator: stock lua5.4 unloads
-- C modules at lua_close, so the cap must hand the allocator back first
-- (this process exiting with status 0 is the check)
local limits = require "evalua.limits"
assert(limits.used() > 0 and limits.limit() == 0)
print("stock lua5.4: 1 passed, 0 failed")
