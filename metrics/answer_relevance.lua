-- answer_relevance: a built-in LLM judge (1-5). Whether the output addresses
-- the input, completely and without padding. No context column.
local genai = require "evalua.metrics.genai"

local DEFAULT_EXAMPLES = {
  genai.EvaluationExample{
    input = "How do I reset my router to factory settings?",
    output = "Routers are devices that forward traffic between networks, and most homes have one.",
    score = 2,
    justification = "The output is about routers but never says how to reset one, which is what was asked.",
  },
  genai.EvaluationExample{
    input = "How do I reset my router to factory settings?",
    output = "Hold the recessed reset button on the back for about ten seconds, until the lights " ..
      "flash, then wait for the router to restart.",
    score = 5,
    justification = "The output answers the question directly and completely, with nothing off topic.",
  },
}

return function(opts)
  return genai.make_builtin({
    name = "answer_relevance",
    definition = "Answer relevance measures how well the output addresses the input: whether it " ..
      "answers what was asked, covers every part of it, and stays on topic.",
    grading_prompt = "Answer relevance, scored from 1 to 5:\n" ..
      "- Score 1: the output says nothing about the input, or is irrelevant to it.\n" ..
      "- Score 5: the output addresses every aspect of the input and every part of it is relevant.\n" ..
      "Use the scores in between for outputs that are incomplete or padded with redundant or " ..
      "off-topic material: the more that is missing or superfluous, the lower the score.",
    examples = DEFAULT_EXAMPLES,
    include_input = true,
  }, opts)
end
