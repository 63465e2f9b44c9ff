-- judge_prototyping: can I trust this judge? Two judge prompts scored
-- against people's labels, their agreement, and which one agrees better.
local evalua = require "evalua"

local labels = evalua.table.read_csv("scripts/data/judge_labels.csv")
-- the two prompt variants (each file returns one judge metric)
local terse = dofile("scripts/judges/helpful_terse.lua")
local rubric = dofile("scripts/judges/helpful_rubric.lua")

local function agreement_of(judge)
  local r = evalua.evaluate{
    data = labels, predictions = "outputs", extra_metrics = { judge },
    evaluator_config = { col_mapping = { inputs = "inputs" }, human_scores = { helpful = "human_score" } },
    run_name = "judge-prototyping",
  }
  local scores = r.tables.eval_results_table:column("helpful/v1/score")
  print(string.format("%s: kappa %.3f, weighted kappa %.3f, spearman %.3f, exact %.2f, bias %+.2f (n = %d)",
    r.run_id and r.run_id:sub(1, 8) or "-", r.metrics["helpful/v1/agreement/kappa"],
    r.metrics["helpful/v1/agreement/weighted_kappa"], r.metrics["helpful/v1/agreement/spearman"],
    r.metrics["helpful/v1/agreement/exact"], r.metrics["helpful/v1/agreement/bias"],
    r.metrics["helpful/v1/agreement/n"]))
  return scores
end

print("variant A (one-line rubric)")
local a = agreement_of(terse)
print("variant B (anchored rubric, examples)")
local b = agreement_of(rubric)

-- the same rows for both: a paired bootstrap of the difference in weighted kappa
local human = labels:column("human_score")
local c = evalua.stats.compare_judges(a, b, human, { scale = { 1, 5 }, stat = "weighted_kappa", seed = 1 })
print(string.format("weighted kappa: A %.3f, B %.3f, B - A %+.3f, 95%% interval [%.3f, %.3f]",
  c.a, c.b, c.diff, c.lo or 0 / 0, c.hi or 0 / 0))
if c.verdict == "b" then print("B agrees better with people")
elseif c.verdict == "a" then print("A agrees better with people")
else print("no significant difference between the prompts on these rows") end
