-- bench.lua N B: evalua.stats.agreement on N rows of 1-5 scores with B
-- bootstrap resamples; prints seconds and resamples/s (one line).
local evalua = require "evalua"
local core = require "evalua.core"
local n, B = tonumber(arg[1]), tonumber(arg[2])
local draw = require("evalua.agreement").rng(7)
local j, h = { n = n }, { n = n }
for i = 1, n do
  h[i] = draw(5)
  j[i] = math.max(1, math.min(5, h[i] + draw(3) - 2))
end
local t0 = core.clock()
local a = evalua.stats.agreement(j, h, { scale = { 1, 5 }, bootstrap = B, seed = 1 })
local dt = core.clock() - t0
print(string.format("%.3f s  %.0f resamples/s  (kappa %.4f, ci %.4f..%.4f)", dt, B / dt, a.kappa, a.ci.kappa[1], a.ci.kappa[2]))
