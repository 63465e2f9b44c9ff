-- latency: the wall time of the model call of each row, in seconds, as
-- MLflow's latency() metric: a bare per-row column `latency` (placed before
-- every other metric's columns), aggregates latency/mean, latency/variance
-- and latency/p90, lower is better. Asking for it makes evaluate time each
-- row's call: an adapter model's rows are timed as they run concurrently; a
-- Lua function model is called once per row with a one-row table (as MLflow
-- calls a model row by row), the rows still concurrent. With no model
-- (a predictions column) every row takes 0.0 s, as in MLflow.
local metrics = require "evalua.metrics"
local common = require "evalua.metrics.builtin._text"

local function ctor(opts)
  common.check_opts("latency", opts, {})
  return metrics.make_metric {
    name = "latency",
    greater_is_better = false,
    kind = "latency",
    params = { "latency" },
    eval_fn = function(latency)
      local s = { n = latency.n or #latency }
      for i = 1, s.n do s[i] = latency[i] end
      return { scores = s }
    end,
  }
end

local M = setmetatable({}, { __call = function(_, opts) return ctor(opts) end })

-- True when the metric list asks for latency.
function M.wanted(list)
  for _, m in ipairs(list) do
    if m.kind == "latency" then return true end
  end
  return false
end

-- Calls model over the rows `todo` of inputs with each row timed: returns
-- what run_model returns (predictions, errors) and the seconds per row (a
-- list parallel to todo). run_model(model, inputs, n) is evaluate's.
function M.timed(run_model, model, inputs, todo, ...)
  local core = require "evalua.core"
  local n = #todo
  local seconds = { n = n }
  if type(model) == "function" then
    local tbl = require "evalua.table"
    local cols = inputs:columns()
    local preds, errs = { n = n }, {}
    local extra = table.pack(...)
    local results = require("evalua.sched").map(n, function(k)
      local one = tbl.from_rows({ inputs:row(k) }, { columns = cols })
      local t0 = core.clock()
      local ok, p, e = pcall(run_model, model, one, 1, table.unpack(extra, 1, extra.n))
      local dt = core.clock() - t0
      if not ok then return { err = p, s = dt } end
      return { p = p[1], e = e and e[1], s = dt }
    end, { progress = false })
    for k = 1, n do
      local r = results[k]
      if type(r) == "table" then
        preds[k], seconds[k] = r.p, r.s
        if r.err or r.e then errs[k] = tostring(r.err or r.e) end
      else
        errs[k] = "no result"
      end
    end
    return preds, errs, seconds
  end
  -- adapter models and URIs: models.lua times each row's request
  local models = require "evalua.models"
  local times = {}
  models.row_seconds = times
  local ok, p, e = pcall(run_model, model, inputs, n, ...)
  models.row_seconds = nil
  if not ok then error(p, 0) end
  for k = 1, n do seconds[k] = times[k] end
  return p, e, seconds
end

return M
