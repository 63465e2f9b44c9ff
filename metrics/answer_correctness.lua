-- answer_correctness: a built-in LLM judge (1-5). Whether the output is
-- factually right when checked against the expected answer (`targets`).
local genai = require "evalua.metrics.genai"

local TARGET = "The Eiffel Tower was built for the 1889 World's Fair in Paris; Gustave Eiffel's " ..
  "company designed and built it, and it was the tallest structure in the world until 1930."

local DEFAULT_EXAMPLES = {
  genai.EvaluationExample{
    input = "Who built the Eiffel Tower, and for what occasion?",
    output = "The Eiffel Tower was built by the French army as a radio mast.",
    score = 2,
    justification = "The output names the wrong builder and the wrong purpose; only the fact that " ..
      "it is in France agrees with the targets.",
    grading_context = { targets = TARGET },
  },
  genai.EvaluationExample{
    input = "Who built the Eiffel Tower, and for what occasion?",
    output = "Gustave Eiffel's company built it for the 1889 World's Fair in Paris.",
    score = 4,
    justification = "The builder and the occasion are both correct; the output leaves out that it " ..
      "was the world's tallest structure until 1930.",
    grading_context = { targets = TARGET },
  },
}

return function(opts)
  return genai.make_builtin({
    name = "answer_correctness",
    definition = "Answer correctness measures whether the output answers the input correctly, " ..
      "judged against the expected answer given as targets: facts that agree with the targets " ..
      "count for the output, facts that contradict them count against it.",
    grading_prompt = "Answer correctness, scored from 1 to 5:\n" ..
      "- Score 1: the output is wrong, or contradicts the targets.\n" ..
      "- Score 2: the output gets some facts right but misses or gets wrong most of what matters.\n" ..
      "- Score 3: the output is right on a couple of aspects but has omissions or some errors.\n" ..
      "- Score 4: the output is mostly right and similar to the targets, with minor omissions.\n" ..
      "- Score 5: the output is correct and closely matches the targets.",
    examples = DEFAULT_EXAMPLES,
    grading_context_columns = { "targets" },
    include_input = true,
  }, opts)
end
