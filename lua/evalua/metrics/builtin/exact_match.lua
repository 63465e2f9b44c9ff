-- exact_match: the share of rows whose prediction equals the target exactly
-- (case- and whitespace-sensitive), as MLflow's exact_match (v1): one
-- aggregate, logged as exact_match/v1, and no per-row scores. Skipped when
-- there are no targets. Values compare by type as MLflow's (numpy's) ==
-- does: 1 equals 1.0 and true equals 1, the string "1" does not equal the
-- number 1, NaN equals nothing, a missing value matches nothing.
local metrics = require "evalua.metrics"
local common = require "evalua.metrics.builtin._text"

return function(opts)
  common.check_opts("exact_match", opts, {})
  return metrics.make_metric {
    name = "exact_match",
    version = "v1",
    greater_is_better = true,
    aggregations = {},
    optional = { targets = true },
    eval_fn = function(predictions, targets)
      local n = common.count(predictions)
      if targets == nil or common.count(targets) == 0 then return nil end
      if common.count(targets) ~= n then
        error(string.format("exact_match: %d predictions but %d targets", n, common.count(targets)), 0)
      end
      local hits = 0
      for i = 1, n do
        if common.same_value(predictions[i], targets[i]) then hits = hits + 1 end
      end
      return { aggregate_results = { exact_match = n > 0 and hits / n or 0 / 0 } }
    end,
  }
end
