-- evalua.metrics.compute: runs one metric over column lists and checks what
-- it returns. Shared by evaluate and by direct metric calls.
local M = {}

local function count(list)
  if type(list) ~= "table" then return 0 end
  return list.n or #list
end

-- Validates an eval_fn result and returns a normalised MetricValue, or nil
-- and a warning when the metric gave nothing usable (MLflow skips those).
function M.normalise(metric, value, n)
  if value == nil then
    return nil, string.format("metric '%s' returned nothing; skipped", metric.name)
  end
  if type(value) == "number" then
    return { aggregate_results = { [metric.name] = value } }
  end
  if type(value) ~= "table" then
    return nil, string.format("metric '%s' returned a %s, expected a table with scores; skipped",
      metric.name, type(value))
  end
  local mv = { scores = value.scores, justifications = value.justifications,
    aggregate_results = value.aggregate_results, warnings = value.warnings, info = value.info }
  for _, field in ipairs({ "scores", "justifications" }) do
    local col = mv[field]
    if col ~= nil then
      if type(col) ~= "table" then
        return nil, string.format("metric '%s': %s must be a list, got %s; skipped", metric.name, field, type(col))
      end
      col.n = col.n or #col
      if n and col.n ~= n then
        return nil, string.format("metric '%s': %s has %d values for %d rows; skipped", metric.name, field, col.n, n)
      end
      for i = 1, col.n do
        local v = col[i]
        local ok = v == nil or (field == "scores" and (type(v) == "number" or type(v) == "boolean" or type(v) == "string"))
          or (field == "justifications" and type(v) == "string")
        if not ok then
          return nil, string.format("metric '%s': %s[%d] is a %s; skipped", metric.name, field, i, type(v))
        end
      end
    end
  end
  if mv.aggregate_results ~= nil then
    if type(mv.aggregate_results) ~= "table" then
      return nil, string.format("metric '%s': aggregate_results must be a table; skipped", metric.name)
    end
    for k, v in pairs(mv.aggregate_results) do
      if type(k) ~= "string" or (v ~= nil and type(v) ~= "number") then
        return nil, string.format("metric '%s': aggregate_results['%s'] must be a number; skipped", metric.name, tostring(k))
      end
    end
  end
  return mv
end

-- The value of argument p at row i: columns are indexed, constants passed whole.
local function row_args(metric, args, i)
  local r = {}
  for _, p in ipairs(metric.params) do
    local v = args[p]
    if type(v) == "table" and v.n ~= nil then r[p] = v[i] else r[p] = v end
  end
  return r
end
M.row_args = row_args

--[[ Runs a metric on resolved arguments (param name -> column list or value)
over n rows. For row-by-row metrics (score_row), opts may carry:
  done      { [row] = { score=, justification=, failed= } } already computed
  rows      the rows this process may compute (a shard); others stay missing
  on_row    function(row, cell) called as each row finishes (persistence)
score_row may return a third value, the row's extra values (stored in the
cell, restored on resume, listed in mv.extras); metric.finish_rows(mv) may
then set mv.extra_columns = { { name, column list }, ... } for the table
and mv.aggregate_results.
Returns mv (normalised MetricValue, with `failures` for row metrics) or nil, warning. ]]
function M.run_metric(metric, args, n, opts)
  opts = opts or {}
  if metric.score_row then
    local sched = require "evalua.sched"
    local scores, justs, extras = { n = n }, { n = n }, { n = n }
    local failures = 0
    local todo, missing = {}, 0
    local allowed
    if opts.rows then
      allowed = {}
      for _, i in ipairs(opts.rows) do allowed[i] = true end
    end
    for i = 1, n do
      local cell = opts.done and opts.done[i]
      if type(cell) == "table" then
        scores[i], justs[i], extras[i] = cell.score, cell.justification, cell.extra
        if cell.failed then failures = failures + 1 end
      elseif allowed == nil or allowed[i] then
        todo[#todo + 1] = i
      else
        missing = missing + 1 -- another shard's row, not computed here
      end
    end
    local limit = metric.max_workers
    local results, errors = sched.map(#todo, function(k)
      local i = todo[k]
      -- extra: a row metric's other per-row values (see finish_rows)
      local score, just, extra = metric.score_row(row_args(metric, args, i), i)
      local cell
      if score == nil then
        cell = { justification = tostring(just or "failed: no score"), failed = true, extra = extra }
      else
        cell = { score = score, justification = just, extra = extra }
      end
      if opts.on_row then opts.on_row(i, cell) end
      return cell
    end, { limit = limit })
    for k, i in ipairs(todo) do
      local cell = results[k]
      if cell == nil then
        cell = { justification = "failed: " .. tostring(errors[k]), failed = true }
        if opts.on_row then opts.on_row(i, cell) end
      end
      scores[i], justs[i], extras[i] = cell.score, cell.justification, cell.extra
      if cell.failed then failures = failures + 1 end
    end
    local mv = { scores = scores, justifications = justs, failures = failures, missing = missing,
      extras = extras }
    if metric.finish_rows then metric.finish_rows(mv) end
    return mv
  end
  local call = {}
  for k, p in ipairs(metric.params) do call[k] = args[p] end
  local ok, value = xpcall(metric.eval_fn, debug.traceback, table.unpack(call, 1, #metric.params))
  if not ok then
    error(string.format("metric '%s' failed: %s", metric.name, tostring(value)), 0)
  end
  return M.normalise(metric, value, n)
end

M.count = count

return M
