-- precision_at_k: per row, the share of the first k retrieved documents that
-- are relevant (MLflow divides by the number retrieved, not by k), as MLflow's
-- precision_at_k: the metric is named precision_at_<k>, has no version, and
-- aggregates mean, variance, p90. Options: { k = 3 } (evaluate passes
-- evaluator_config.retriever_k). Rows are lists of document ids (strings or
-- numbers; a JSON array text is decoded); any other row scores nil with a
-- warning.
local common = require "evalua.metrics.builtin._text"

return function(opts)
  return common.retrieval("precision", common.precision, opts)
end
