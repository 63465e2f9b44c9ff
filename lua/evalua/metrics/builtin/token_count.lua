-- token_count: per-row number of tokens of a prediction, as MLflow's
-- token_count (tiktoken cl100k_base, per-row column "token_count", no
-- aggregate). Options: { encoding = "o200k_base" } for the gpt-4o family.
-- Differences from MLflow: text of a special token ("<|endoftext|>") is
-- counted as ordinary text where tiktoken would raise, and a non-string
-- prediction scores nil for its row with a warning (evaluate prefixes the
-- metric name) instead of skipping the metric. See docs/tokenize.md.
local metrics = require "evalua.metrics"
local tokenize = require "evalua.tokenize"

local KNOWN = { encoding = true }

local function rows_text(rows)
  local shown = {}
  for i = 1, math.min(#rows, 5) do shown[i] = tostring(rows[i]) end
  return table.concat(shown, ", ") .. (#rows > 5 and ", ..." or "")
end

return function(opts)
  opts = opts or {}
  if type(opts) ~= "table" then
    error("token_count: expected a table of options, got " .. type(opts), 2)
  end
  for k in pairs(opts) do
    if not KNOWN[k] then
      error("token_count: unknown option '" .. tostring(k) .. "' (known: encoding)", 2)
    end
  end
  local encoding = opts.encoding or "cl100k_base"
  local known = false
  for _, e in ipairs(tokenize.encodings) do known = known or e == encoding end
  if not known then
    error(string.format("token_count: unknown encoding '%s' (known: %s)", tostring(encoding),
      table.concat(tokenize.encodings, ", ")), 2)
  end
  return metrics.make_metric {
    name = "token_count",
    greater_is_better = true,
    aggregations = {},
    metric_details = "tiktoken " .. encoding .. " token count",
    eval_fn = function(predictions)
      local n = predictions.n or #predictions
      local scores = tokenize.count_list(predictions, encoding)
      local skipped = {}
      for i = 1, n do
        if predictions[i] ~= nil and type(predictions[i]) ~= "string" then skipped[#skipped + 1] = i end
      end
      local warnings
      if #skipped > 0 then
        warnings = { string.format("%d of %d rows have a prediction that is not a string (row%s %s); scored nil",
          #skipped, n, #skipped > 1 and "s" or "", rows_text(skipped)) }
      end
      return { scores = scores, warnings = warnings }
    end,
  }
end
