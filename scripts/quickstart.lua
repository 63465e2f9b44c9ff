-- quickstart: evaluate ready translations with no model and no network.
-- Shows the default text metrics, a custom metric, the results table and a gauge chart.
local evalua = require "evalua"

local data = evalua.table.read_csv("scripts/data/translations.csv")

-- a custom heuristic metric: how many words the translation has per input word
local length_ratio = evalua.metrics.make_metric{
  name = "length_ratio", version = "v1", greater_is_better = false,
  eval_fn = function(predictions, inputs)
    local scores = { n = predictions.n }
    for i = 1, predictions.n do
      local _, out_words = predictions[i]:gsub("%S+", "")
      local _, in_words = inputs[i]:gsub("%S+", "")
      scores[i] = out_words / in_words
    end
    return { scores = scores }
  end,
}

local results = evalua.evaluate{
  data = data,
  predictions = "outputs",
  model_type = "text",
  extra_metrics = { length_ratio },
  evaluator_config = { col_mapping = { inputs = "llm_inputs" } },
}

print(results.tables.eval_results_table)
print()
local names = {}
for k in pairs(results.metrics) do names[#names + 1] = k end
table.sort(names)
for _, k in ipairs(names) do print(string.format("%-38s %.4f", k, results.metrics[k])) end
print(string.format("\nNon-toxicity: %.2f%%", (1 - results.metrics["toxicity/v1/mean"]) * 100))

os.execute("mkdir -p out")
results.tables.eval_results_table:write_csv("out/quickstart.csv")
local ok_plot = pcall(require, "evalua.plot")
if ok_plot then
  evalua.plot.gauges{ file = "out/quickstart-gauges.png",
    { value = results.metrics["flesch_kincaid_grade_level/v1/mean"], max = 12, title = "Reading grade (FK)" },
    { value = (1 - results.metrics["toxicity/v1/mean"]) * 100, max = 100, title = "Non-toxicity %" } }
  print("wrote out/quickstart.csv and out/quickstart-gauges.png")
else
  print("wrote out/quickstart.csv")
end
if results.run_id then print("run " .. results.run_id .. " stored; see it with: evalua runs show " .. results.run_id) end
