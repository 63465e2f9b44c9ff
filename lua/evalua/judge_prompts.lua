-- evalua.judge_prompts: what each judge metric of a run was asked, stored
-- with the run as the artifact judge_prompts.json, so that a report and
-- `evalua runs show` can say what the scores answer. Per judge: the
-- metric, the factory it came from, the judge model and the request
-- parameters, the definition, rubric and examples, and the prompt template
-- rendered with {placeholders} where each row's values go (never a row's
-- text). Headers and proxy settings are left out (they may carry secrets).
--
--   describe(metrics) -> list            the records of the judge metrics
--   log(run, metrics)                    stores the artifact (when there are judges)
--   load(ref) -> list | nil              reads it back from the store
--   text(list) -> string                 the full text `runs show` prints
local M = {}

M.ARTIFACT = "judge_prompts.json"

local function copy_examples(list)
  if type(list) ~= "table" then return nil end
  local out = {}
  for i, ex in ipairs(list) do
    out[i] = { input = ex.input, output = ex.output, score = ex.score, justification = ex.justification,
      grading_context = ex.grading_context }
  end
  return out
end

-- The records of the judge metrics (those made by make_genai_metric,
-- make_genai_metric_from_prompt, make_pairwise_metric or the built-ins).
function M.describe(metric_list)
  local out = {}
  for _, m in ipairs(metric_list) do
    local g = m.genai_metric_args
    if type(g) == "table" then
      out[#out + 1] = {
        metric = m.key, name = m.name, factory = g.fn_name,
        model = type(g.model) == "string" and g.model or "a Lua function",
        parameters = g.parameters, include_input = g.include_input,
        grading_context_columns = g.grading_context_columns,
        definition = g.definition, grading_prompt = g.grading_prompt, judge_prompt = g.judge_prompt,
        examples = copy_examples(g.examples), aggregations = g.aggregations,
        greater_is_better = m.greater_is_better, score_range = m.score_range,
        template = m.metric_details,
      }
    end
  end
  return out
end

-- Stores the records of the run's judges; nothing when there are none.
function M.log(run, metric_list)
  local list = M.describe(metric_list)
  if #list == 0 or not run.log_artifact then return end
  run:log_artifact(M.ARTIFACT, require("evalua.json").encode(list), "application/json")
end

-- The stored records of a run, or nil when it has none.
function M.load(ref)
  local tracking = require "evalua.tracking"
  local bytes = tracking.artifact(ref, M.ARTIFACT)
  if not bytes then return nil end
  local ok, list = pcall(require("evalua.json").decode, bytes)
  if not ok or type(list) ~= "table" then return nil end
  return list
end

local function value_text(v)
  if type(v) == "table" then return require("evalua.json").encode(v) end
  return tostring(v)
end

-- The full text of the records, nothing shortened.
function M.text(list)
  local out = {}
  local function add(s) out[#out + 1] = s end
  for i, r in ipairs(list or {}) do
    if i > 1 then add("") end
    add(string.format("judge %s (%s)", tostring(r.metric), tostring(r.factory or "judge")))
    add("  model       " .. tostring(r.model))
    add("  parameters  " .. (r.parameters and value_text(r.parameters) or "(none sent)"))
    if r.include_input ~= nil then add("  input       " .. (r.include_input and "included" or "not included")) end
    if type(r.grading_context_columns) == "table" and #r.grading_context_columns > 0 then
      add("  context     " .. table.concat(r.grading_context_columns, ", "))
    end
    if r.definition then add("  definition  " .. r.definition) end
    if r.grading_prompt then add("  rubric      " .. r.grading_prompt) end
    for k, ex in ipairs(r.examples or {}) do
      add(string.format("  example %d   score %s", k, value_text(ex.score)))
      if ex.input ~= nil then add("    input          " .. value_text(ex.input)) end
      add("    output         " .. value_text(ex.output))
      add("    justification  " .. value_text(ex.justification))
    end
    if r.template then
      add("  prompt template (the row's values replace the {placeholders}):")
      for line in (r.template .. "\n"):gmatch("(.-)\n") do add("    | " .. line) end
    end
  end
  return table.concat(out, "\n")
end

return M
