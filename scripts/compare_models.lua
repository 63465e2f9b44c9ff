-- compare_models: the seed's final challenge. Run the same translation eval with two judge
-- models (gpt-4 and gpt-4o-mini) and put the runs side by side, as a table and a chart.
local evalua = require "evalua"

local judges = { arg[1] or "openai:/gpt-4", arg[2] or "openai:/gpt-4o-mini" }

local translator = evalua.openai.model{
  model = "gpt-3.5-turbo",
  messages = {
    { role = "system", content = "Translate the following sentences into Spanish" },
    { role = "user", content = "{user_input}" },
  },
}
local data = evalua.table.read_csv("scripts/data/idioms.csv")

evalua.set_experiment("compare_models")
local runs = {}
for i, judge in ipairs(judges) do
  local run <close> = evalua.start_run{ run_name = "judge-" .. judge:gsub("^%w+:/", "") }
  local results = evalua.evaluate{
    model = translator, data = data, model_type = "text",
    extra_metrics = { evalua.metrics.load("cultural_sensitivity", { args = { model = judge } }) },
    evaluator_config = { col_mapping = { inputs = "llm_inputs" } },
  }
  runs[i] = { judge = judge, id = results.run_id, metrics = results.metrics,
    scores = results.tables.eval_results_table:column("cultural_sensitivity/v1/score") }
end

-- side by side: every metric both runs have, and the difference
local names = {}
for k in pairs(runs[1].metrics) do
  if runs[2].metrics[k] ~= nil then names[#names + 1] = k end
end
table.sort(names)
print(string.format("%-40s %14s %14s %10s", "metric", runs[1].judge, runs[2].judge, "diff"))
for _, k in ipairs(names) do
  local a, b = runs[1].metrics[k], runs[2].metrics[k]
  print(string.format("%-40s %14.4f %14.4f %+10.4f", k, a, b, b - a))
end
local flips = 0
for i = 1, #data do
  if runs[1].scores[i] ~= runs[2].scores[i] then flips = flips + 1 end
end
print(string.format("rows whose cultural_sensitivity score differs between the judges: %d of %d", flips, #data))

os.execute("mkdir -p out")
local shown = { "cultural_sensitivity/v1/mean", "toxicity/v1/mean", "flesch_kincaid_grade_level/v1/mean" }
local values = {}
for i, r in ipairs(runs) do
  values[i] = {}
  for j, k in ipairs(shown) do
    local v = r.metrics[k]
    values[i][j] = v == v and v or 0
  end
end
evalua.plot.compare{ file = "out/compare.png", runs = { runs[1].judge, runs[2].judge },
  metrics = shown, values = values }
print(string.format("wrote out/compare.png; for intervals run: evalua runs compare %s %s",
  tostring(runs[1].id), tostring(runs[2].id)))
