-- translation: the seed walkthrough. Judge an English->Spanish translator on idioms with
-- the default text metrics plus the custom cultural_sensitivity judge, then draw the gauges.
-- Needs OPENAI_API_KEY (and OPENAI_BASE_URL for any OpenAI-compatible server).
local evalua = require "evalua"

local judge_model = arg[1] or "openai:/gpt-4"
local cultural_sensitivity = evalua.metrics.load("cultural_sensitivity", { args = { model = judge_model } })

local translator = evalua.openai.model{
  model = "gpt-3.5-turbo",
  messages = {
    { role = "system", content = "Translate the following sentences into Spanish" },
    { role = "user", content = "{user_input}" },
  },
}

evalua.set_experiment("translation")
local results = evalua.evaluate{
  model = translator,
  data = evalua.table.read_csv("scripts/data/idioms.csv"),
  model_type = "text",
  evaluators = "default",
  extra_metrics = { cultural_sensitivity },
  evaluator_config = { col_mapping = { inputs = "llm_inputs" } },
}

print(results.tables.eval_results_table)
local cs = results.metrics["cultural_sensitivity/v1/mean"]
local non_toxicity = (1 - results.metrics["toxicity/v1/mean"]) * 100
print(string.format("Cultural Sensitivity Score: %s", tostring(cs)))
print(string.format("Non-Toxicity Score: %.2f%%", non_toxicity))

os.execute("mkdir -p out")
results.tables.eval_results_table:write_csv("out/translation.csv")
evalua.plot.gauges{ file = "out/gauges.png",
  { value = cs == cs and cs or 0, max = 5, title = "Cultural Sensitivity Score" },
  { value = non_toxicity, max = 100, title = "Non Toxicity Score" } }
print("run " .. tostring(results.run_id) .. "; wrote out/translation.csv and out/gauges.png")
