-- flesch_kincaid_grade_level: per-row Flesch-Kincaid grade level of a prediction, exactly as
-- textstat 0.7.3/0.7.4 computes it (MLflow's flesch_kincaid_grade_level, v1, lower is
-- better; mean, variance, p90). Options: { rounding = false } gives textstat's
-- set_rounding(False) values. Non-string predictions score nil with a warning.
local common = require "evalua.metrics.builtin._text"

return function(opts)
  return common.readability("flesch_kincaid_grade_level", "flesch_kincaid_grade_level", require("evalua.text").flesch_kincaid, opts)
end
