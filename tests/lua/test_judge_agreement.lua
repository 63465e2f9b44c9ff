-- evaluator_config.human_scores in evaluate: <metric>/agreement/<stat>
-- metrics equal to evalua.stats.agreement on the same columns, the human
-- column hidden from the model, checks before anything is sent, the stored
-- agreement.json artifact and the agreement section of `runs show`.
local h = require "helper"
local evalua = require "evalua"
local genai = evalua.metrics.genai

local db = h.tmpdir() .. "/evalua.db"
require("evalua.config").store_path = db

-- a judge that reads "q=N" from the output it grades
local judged = 0
local function judge(prompt)
  judged = judged + 1
  local q = prompt:match("Model output:\n[^\n]*q=(%d)")
  return "score: " .. q .. "\njustification: it says q=" .. q
end

local helpful = genai.make_genai_metric{ name = "helpful", definition = "Helpfulness.",
  grading_prompt = "1-5", model = judge, score_range = { 1, 5 } }

local Q = { 5, 4, 4, 2, 1, 3, 5, 2, 3, 1, 4, 4 }
local H = { 5, 4, 3, 2, 2, 3, 4, 1, 3, 1, 5, 4 }
local function data()
  local q, out, hum = {}, {}, {}
  for i = 1, #Q do
    q[i] = "question " .. i
    out[i] = "answer " .. i .. " q=" .. Q[i]
    hum[i] = H[i]
  end
  return evalua.table.from({ question = q, answer = out, rating = hum },
    { columns = { "question", "answer", "rating" } })
end

h.case("agreement metrics equal stats.agreement on the same columns", function()
  judged = 0
  local r = evalua.evaluate{ data = data(), predictions = "answer", extra_metrics = { helpful },
    evaluator_config = { col_mapping = { inputs = "question" }, human_scores = { helpful = "rating" } } }
  h.eq(judged, #Q, "one judge request per row")
  local a = evalua.stats.agreement(Q, H, { scale = { 1, 5 }, bootstrap = 0 })
  h.eq(r.metrics["helpful/v1/agreement/n"], #Q, "n")
  for _, s in ipairs({ "exact", "within_one", "kappa", "weighted_kappa", "spearman", "kendall", "pearson", "bias" }) do
    h.near(r.metrics["helpful/v1/agreement/" .. s], a[s], 1e-12, s)
  end
  -- the human column is in the results table, next to the judge's score
  local t = r.tables.eval_results_table
  local cols = table.concat(t:columns(), ",")
  assert(cols:find("rating", 1, true), cols)
  -- the artifact: intervals, confusion, worst disagreements
  local tracking = require "evalua.tracking"
  local blob = assert(tracking.artifact(r.run_id, "agreement.json"))
  local rep = require("cjson").decode(blob)
  h.eq(rep[1].metric, "helpful/v1", "metric")
  h.eq(rep[1].human, "rating", "column")
  assert(rep[1].ci.kappa[1] <= a.kappa and a.kappa <= rep[1].ci.kappa[2], "interval covers kappa")
  h.eq(#rep[1].confusion.labels, 5, "labels")
  local w = rep[1].worst[1]
  -- the largest gap is 1 here; ties broken by row order: row 3 (4 vs 3)
  h.eq(w.row, 3, "worst row")
  h.eq(w.judge, 4, "judge score")
  h.eq(w.human, 3, "human score")
  h.eq(w.input, "question 3", "input")
  h.eq(w.output, "answer 3 q=4", "output")
  h.eq(w.justification, "it says q=4", "justification")
  -- runs show has the agreement section
  local code, out = h.evalua({ "--store", db, "runs", "show", r.run_id })
  h.eq(code, 0, "runs show exit")
  assert(out:find("agreement\n", 1, true), out)
  assert(out:find("helpful/v1 vs human column 'rating'", 1, true), out)
  assert(out:find("weighted_kappa", 1, true), out)
  assert(out:find("row 3: judge 4, human 3", 1, true), out)
  -- the report: statistics, the confusion heat map, the worst rows (escaped)
  local html = h.tmpdir() .. "/r.html"
  code, out = h.evalua({ "--store", db, "report", r.run_id, "-o", html })
  h.eq(code, 0, out)
  local page = h.read(html)
  assert(page:find("<h2>Agreement with people</h2>", 1, true), "agreement section")
  assert(page:find('<table class="heat">', 1, true), "heat map")
  assert(page:find("<td>3</td><td>4</td><td>3</td><td>question 3</td><td>answer 3 q=4</td>", 1, true), page:match("Worst disagreements.-</table>") or "no worst table")
end)

h.case("the model never sees the human labels", function()
  local seen_cols
  local model = function(inputs)
    seen_cols = inputs:columns()
    return inputs:map(function() return "answer q=3" end)
  end
  local r = evalua.evaluate{ model = model, data = data(), extra_metrics = { helpful },
    evaluator_config = { col_mapping = { inputs = "question" }, human_scores = { helpful = "rating" } } }
  for _, c in ipairs(seen_cols) do assert(c ~= "rating", "the model got the human column") end
  -- a constant judge: correlations NaN, with a warning in the results
  local m = r.metrics["helpful/v1/agreement/pearson"]
  assert(m ~= m, "pearson of a constant judge is NaN")
  local joined = table.concat(r.warnings, "\n")
  assert(joined:find("judge's scores are all equal", 1, true), joined)
end)

h.case("bad human_scores fail before any request", function()
  judged = 0
  h.raises("human_scores names metric 'nope'", evalua.evaluate, { data = data(), predictions = "answer",
    extra_metrics = { helpful }, evaluator_config = { human_scores = { nope = "rating" } } })
  h.raises("column 'missing' (for 'helpful') not found", evalua.evaluate, { data = data(), predictions = "answer",
    extra_metrics = { helpful }, evaluator_config = { human_scores = { helpful = "missing" } } })
  h.eq(judged, 0, "nothing judged")
end)

h.done()
