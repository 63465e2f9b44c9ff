-- static: score a support bot's ready answers against expected ones (model = nil).
-- Shows question-answering defaults (exact_match), ROUGE as an extra, and the results table.
local evalua = require "evalua"

local data = evalua.table.read_csv(arg[1] or "scripts/data/policy_qa.csv")

local results = evalua.evaluate{
  data = data,
  predictions = "answer",
  targets = "expected",
  model_type = "question-answering",
  extra_metrics = { evalua.metrics.rougeL() },
  evaluator_config = { col_mapping = { inputs = "question" } },
}

print(results.tables.eval_results_table:select{ "question", "answer", "token_count",
  "rougeL/v1/score" })
print(string.format("exact match: %.2f   rougeL mean: %.3f   toxicity ratio: %.2f",
  results.metrics["exact_match/v1"], results.metrics["rougeL/v1/mean"],
  results.metrics["toxicity/v1/ratio"]))
