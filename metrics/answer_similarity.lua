-- answer_similarity: a built-in LLM judge (1-5). How close in meaning the
-- output is to the expected answer (the `targets`). The input is not shown.
local genai = require "evalua.metrics.genai"

local TARGET = "A sourdough starter is a fermented mix of flour and water that holds wild yeast " ..
  "and lactic acid bacteria; bakers feed it regularly and use it instead of commercial yeast " ..
  "to leaven bread and give it a tangy flavour."

local DEFAULT_EXAMPLES = {
  genai.EvaluationExample{
    input = "What is a sourdough starter?",
    output = "It is something used in baking.",
    score = 2,
    justification = "The output is vaguely related to the expected answer but leaves out what a " ..
      "starter is made of, the yeast and bacteria, and its role in leavening.",
    grading_context = { targets = TARGET },
  },
  genai.EvaluationExample{
    input = "What is a sourdough starter?",
    output = "A sourdough starter is flour and water left to ferment so that wild yeast grows in it; " ..
      "bakers keep feeding it and use it to make bread rise.",
    score = 4,
    justification = "The output matches the expected answer on the ingredients, fermentation, " ..
      "feeding and leavening, but omits the bacteria and the flavour.",
    grading_context = { targets = TARGET },
  },
}

return function(opts)
  return genai.make_builtin({
    name = "answer_similarity",
    definition = "Answer similarity measures how closely the output matches the meaning of the " ..
      "expected answer given as targets. Wording may differ; what counts is the meaning.",
    grading_prompt = "Answer similarity, scored from 1 to 5:\n" ..
      "- Score 1: the output has little or no semantic similarity to the targets.\n" ..
      "- Score 2: the output shows partial similarity on some aspects of the targets.\n" ..
      "- Score 3: the output is moderately similar to the targets.\n" ..
      "- Score 4: the output aligns with the targets in most aspects and is substantially similar.\n" ..
      "- Score 5: the output closely matches the targets in every significant aspect.",
    examples = DEFAULT_EXAMPLES,
    grading_context_columns = { "targets" },
    include_input = false,
  }, opts)
end
