-- contrib/bench/batch/eval.lua: ROWS rows, a template model and one judge
-- (both gpt-4o-mini), for the batch-path benchmark (run.sh).
local evalua = require "evalua"
local n = tonumber(os.getenv("ROWS") or "100000")
local inputs = { n = n }
for i = 1, n do inputs[i] = "Translate into Spanish: sentence number " .. i .. " of the benchmark." end
local quality = evalua.metrics.genai.make_genai_metric{ name = "quality",
  definition = "How faithful the translation is.", grading_prompt = "Score 1-5: 1 wrong, 5 faithful.",
  model = "openai:/gpt-4o-mini", greater_is_better = true }
evalua.set_experiment("bench-batch")
local r = evalua.evaluate{ data = evalua.table.from({ { "user_input", inputs } }),
  model = evalua.openai.model{ model = "gpt-4o-mini", messages = { { role = "user", content = "{user_input}" } } },
  extra_metrics = { quality }, evaluator_config = { col_mapping = { inputs = "user_input" } } }
print(string.format("RUN %s rows %d failed %d quality/mean %.4f", r.run_id, n, #r.errors,
  r.metrics["quality/v1/mean"] or 0 / 0))
