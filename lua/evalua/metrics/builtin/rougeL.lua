-- rougeL: per-row ROUGE F-measure of prediction against target, exactly as
-- Google's rouge_score computes it (MLflow's rougeL, v1; mean, variance, p90).
-- Options: { use_stemmer = true } (NLTK's Porter stemmer; off by default, as
-- in MLflow). A row whose prediction or target is not a string scores nil.
local common = require "evalua.metrics.builtin._text"

return function(opts)
  return common.rouge("rougeL", opts)
end
