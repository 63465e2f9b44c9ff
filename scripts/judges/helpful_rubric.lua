-- A judge prompt, variant B: an anchored rubric and two graded examples.
-- Compare it with variant A: evalua judge --labels ... helpful_terse.lua helpful_rubric.lua
local genai = require("evalua").metrics.genai

return genai.make_genai_metric{
  name = "helpful",
  definition = "How helpful the answer is to the person who asked: correct, complete enough to act on, and to the point.",
  grading_prompt = [[Score 1-5:
- 5: correct and complete; the person can act on it at once
- 4: correct, with a small gap or an unneeded detour
- 3: partly right, or right but too vague to act on
- 2: mostly unhelpful: vague, or a hint in the wrong direction
- 1: wrong, harmful or off-topic]],
  examples = {
    genai.EvaluationExample{ input = "What is the capital of France?", output = "Lyon.", score = 1,
      justification = "Wrong: the capital is Paris." },
    genai.EvaluationExample{ input = "What is the capital of France?", output = "Paris.", score = 5,
      justification = "Correct and sufficient." },
  },
  model = "openai:/gpt-4o-mini",
  parameters = { temperature = 0, max_tokens = 200 },
  score_range = { 1, 5 },
}
