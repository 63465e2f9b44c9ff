-- faithfulness: a built-in LLM judge (1-5). How much of what the output
-- claims can be derived from the provided context. Uses the `context`
-- column; the input is not shown to the judge.
local genai = require "evalua.metrics.genai"

local CONTEXT = "The Riverside Library lends up to 12 items per card for 21 days. Items can be " ..
  "renewed twice online unless another reader has reserved them. Overdue adult items cost " ..
  "25 cents per day, capped at 5 dollars per item."

local DEFAULT_EXAMPLES = {
  genai.EvaluationExample{
    input = "How long can I keep a book from the Riverside Library?",
    output = "You can keep a book for 21 days, and you can renew it as many times as you like.",
    score = 2,
    justification = "The loan period of 21 days is supported by the context, but the claim of " ..
      "unlimited renewals contradicts it: the context allows two online renewals.",
    grading_context = { context = CONTEXT },
  },
  genai.EvaluationExample{
    input = "How much is the fine for an overdue adult book?",
    output = "An overdue adult item costs 25 cents per day, up to 5 dollars per item.",
    score = 5,
    justification = "Every claim in the output (the daily rate and the cap) is stated in the context.",
    grading_context = { context = CONTEXT },
  },
}

return function(opts)
  return genai.make_builtin({
    name = "faithfulness",
    definition = "Faithfulness measures how far the claims made in the output can be inferred " ..
      "from the provided context. Judge only the output against the context: do not use the " ..
      "input, and do not penalise the output for leaving parts of the context unused.",
    grading_prompt = "Faithfulness, scored from 1 to 5:\n" ..
      "- Score 1: none of the output's claims can be inferred from the context.\n" ..
      "- Score 2: a few claims can be inferred, but most are unsupported, or a key claim contradicts the context.\n" ..
      "- Score 3: about half or more of the claims can be inferred from the context.\n" ..
      "- Score 4: most claims are supported by the context, with minor unsupported details.\n" ..
      "- Score 5: every claim in the output is directly supported by the context.",
    examples = DEFAULT_EXAMPLES,
    grading_context_columns = { "context" },
    include_input = false,
  }, opts)
end
