-- A judge prompt, variant A: a one-line rubric. `evalua judge --labels` runs
-- the judge this file returns (see docs/judges.md, "Can I trust this judge?").
local genai = require("evalua").metrics.genai

return genai.make_genai_metric{
  name = "helpful",
  definition = "How helpful the answer is to the person who asked.",
  grading_prompt = "Score 1-5, 5 is most helpful.",
  model = "openai:/gpt-4o-mini",
  parameters = { temperature = 0, max_tokens = 200 },
  score_range = { 1, 5 },
}
