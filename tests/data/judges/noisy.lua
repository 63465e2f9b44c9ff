-- A test judge that ignores quality: a score from the output's length.
local evalua = require "evalua"
return evalua.metrics.genai.make_genai_metric{ name = "helpful", definition = "Helpful.", grading_prompt = "1-5",
  score_range = { 1, 5 },
  model = function(prompt)
    local out = prompt:match("Model output:\n(.-)\n\n")
    return "score: " .. (1 + #out % 5) .. "\njustification: length"
  end }
