-- A test judge that knows the labels (reads them from the CSV): it agrees
-- with people except on every seventh row, where it is one point off.
local evalua = require "evalua"
local t = evalua.table.read_csv((os.getenv("EVALUA_SOURCE_DIR") or ".") .. "/scripts/data/judge_labels.csv")
local outs, hum = t:column("outputs"), t:column("human_score")
local score_of = {}
for i = 1, #t do score_of[outs[i]] = math.tointeger(tonumber(hum[i])) + ((i % 7 == 0 and hum[i] < 5) and 1 or 0) end
return evalua.metrics.genai.make_genai_metric{ name = "helpful", definition = "Helpful.", grading_prompt = "1-5",
  score_range = { 1, 5 },
  model = function(prompt)
    local out = prompt:match("Model output:\n(.-)\n\n")
    return "score: " .. score_of[out] .. "\njustification: known"
  end }
