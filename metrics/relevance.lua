-- relevance: a built-in LLM judge (1-5). How appropriate the output is for
-- both the input and the provided `context`.
local genai = require "evalua.metrics.genai"

local CONTEXT = "Orders over 40 euros ship free within the EU. Standard delivery takes 3 to 5 " ..
  "working days; express delivery (9 euros) arrives the next working day if ordered before 2 pm."

local DEFAULT_EXAMPLES = {
  genai.EvaluationExample{
    input = "How fast is express delivery?",
    output = "We ship to every country in the EU.",
    score = 2,
    justification = "The output is related to shipping and to the context but does not answer how " ..
      "fast express delivery is.",
    grading_context = { context = CONTEXT },
  },
  genai.EvaluationExample{
    input = "How fast is express delivery?",
    output = "Express delivery arrives the next working day.",
    score = 4,
    justification = "The answer is correct and drawn from the context, but it leaves out the 2 pm " ..
      "cut-off and the price.",
    grading_context = { context = CONTEXT },
  },
}

return function(opts)
  return genai.make_builtin({
    name = "relevance",
    definition = "Relevance measures how appropriate the output is to both the input and the " ..
      "provided context: it should answer the input and use the context where it applies.",
    grading_prompt = "Relevance, scored from 1 to 5:\n" ..
      "- Score 1: the output is irrelevant to the input or to the context.\n" ..
      "- Score 2: the output is related to the context but does not answer the input.\n" ..
      "- Score 3: the output mostly answers the input and is largely consistent with the context.\n" ..
      "- Score 4: the output answers the input using the context, but misses some relevant detail.\n" ..
      "- Score 5: the output answers the input comprehensively, making full use of the context.",
    examples = DEFAULT_EXAMPLES,
    grading_context_columns = { "context" },
    include_input = true,
  }, opts)
end
