-- evaluate without a network: static data, col_mapping binding (MLflow's
-- rules), error strings, table column order, model functions with failing
-- rows, and judge metrics driven by a Lua judge (exact request counts,
-- failures left out of aggregates and counted).
local h = require "helper"
local evalua = require "evalua"
local metrics = evalua.metrics
local genai = metrics.genai

-- keep the run store of these tests out of the tree
require("evalua.config").store_path = h.tmpdir() .. "/evalua.db"

local function len_metric(name, param)
  param = param or "predictions"
  return metrics.make_metric{ name = name, version = "v1", params = { param },
    eval_fn = function(col)
      local s = { n = col.n }
      for i = 1, col.n do s[i] = col[i] and #col[i] or nil end
      return { scores = s }
    end }
end

local function data()
  return evalua.table.from({
    question = { "a", "bb", "ccc" },
    answer = { "x", "yyyy", "zz" },
    truth = { "x", "yyy", "zz" },
  }, { columns = { "question", "answer", "truth" } })
end

h.case("static eval: metrics, names, values", function()
  local r = evalua.evaluate{ data = data(), predictions = "answer", extra_metrics = { len_metric("len") } }
  h.near(r.metrics["len/v1/mean"], 7 / 3)
  h.near(r.metrics["len/v1/variance"], ((1 - 7/3)^2 + (4 - 7/3)^2 + (2 - 7/3)^2) / 3)
  h.near(r.metrics["len/v1/p90"], 3.6)
  local t = r.tables.eval_results_table
  h.same(t:columns(), { "question", "truth", "outputs", "len/v1/score" })
  h.same({ t:column("outputs")[1], t:column("outputs")[2] }, { "x", "yyyy" })
end)

h.case("targets: column order features, targets, predictions", function()
  local r = evalua.evaluate{ data = data(), predictions = "answer", targets = "truth",
    extra_metrics = { len_metric("len") } }
  h.same(r.tables.eval_results_table:columns(), { "question", "truth", "answer", "len/v1/score" })
end)

h.case("col_mapping binds parameters to columns", function()
  local m = len_metric("qlen", "inputs")
  local r = evalua.evaluate{ data = data(), predictions = "answer", extra_metrics = { m },
    evaluator_config = { col_mapping = { inputs = "question" } } }
  h.near(r.metrics["qlen/v1/mean"], 2)
  -- evaluator_config values and constants bind too
  local seen
  local c = metrics.make_metric{ name = "cfg", eval_fn = function(predictions, threshold, k)
    seen = { threshold, k }
    return { scores = { 1, 1, 1, n = 3 } }
  end }
  evalua.evaluate{ data = data(), predictions = "answer", extra_metrics = { c },
    evaluator_config = { threshold = 0.5, col_mapping = { k = 7 } } }
  h.same(seen, { 0.5, 7 })
end)

h.case("missing columns: one clear error", function()
  local m = len_metric("ctx", "context")
  h.raises("evaluate: metric 'ctx' needs 'context'; columns: question, answer, truth; map one with evaluator_config = { col_mapping = { context = '<column>' } }",
    evalua.evaluate, { data = data(), predictions = "answer", extra_metrics = { m } })
  local t = metrics.make_metric{ name = "t", eval_fn = function(predictions, targets) return {} end }
  h.raises("evaluate: metric 't' needs targets (pass targets = '<column>')",
    evalua.evaluate, { data = data(), predictions = "answer", extra_metrics = { t } })
  h.raises("evaluate: predictions column 'nope' not found; columns: question, answer, truth",
    evalua.evaluate, { data = data(), predictions = "nope", extra_metrics = { len_metric("l") } })
  h.raises("evaluate: targets column 'nope' not found",
    evalua.evaluate, { data = data(), predictions = "answer", targets = "nope", extra_metrics = { len_metric("l") } })
  h.raises("evaluate: no metrics to compute: give model_type or extra_metrics",
    evalua.evaluate, { data = data(), predictions = "answer" })
  h.raises("evaluate: unknown model_type 'chat'",
    evalua.evaluate, { data = data(), predictions = "answer", model_type = "chat" })
  h.raises("evaluate: model is nil, so predictions must name the column holding the outputs",
    evalua.evaluate, { data = data(), extra_metrics = { len_metric("l") } })
  h.raises("evaluate: unknown option 'metrics'", evalua.evaluate, { data = data(), metrics = {} })
  h.raises("evaluate: extra_metrics[1] is a string, not a metric",
    evalua.evaluate, { data = data(), predictions = "answer", extra_metrics = { "toxicity" } })
end)

h.case("a metric may use another metric's result", function()
  local double = metrics.make_metric{ name = "double", eval_fn = function(predictions, len)
    local s = { n = predictions.n }
    for i = 1, predictions.n do s[i] = len.scores[i] * 2 end
    return { scores = s }
  end }
  local r = evalua.evaluate{ data = data(), predictions = "answer", extra_metrics = { double, len_metric("len") } }
  h.near(r.metrics["double/mean"], 14 / 3)
end)

h.case("model function: predictions and per-row errors", function()
  local calls = 0
  local function model(inputs)
    calls = calls + 1
    h.same(inputs:columns(), { "question", "answer", "truth" })
    return inputs:map(function(row)
      if row.question == "bb" then error("upstream timeout", 0) end
      return row.question:upper()
    end)
  end
  local r = evalua.evaluate{ model = model, data = data(), extra_metrics = { len_metric("len") } }
  h.eq(calls, 1, "model calls")
  local t = r.tables.eval_results_table
  h.same(t:columns(), { "question", "answer", "truth", "outputs", "error", "len/v1/score" })
  h.eq(t:column("outputs")[1], "A")
  h.eq(t:column("outputs")[2], nil)
  assert(t:column("error")[2]:find("upstream timeout", 1, true))
  h.near(r.metrics["len/v1/mean"], 2)   -- rows 1 and 3 only
  h.eq(#r.errors, 1)
end)

h.case("model returning the wrong number of rows", function()
  h.raises("evaluate: the model returned 2 predictions for 3 rows", evalua.evaluate,
    { model = function() return { "a", "b" } end, data = data(), extra_metrics = { len_metric("len") } })
end)

-- a Lua judge: answers from the prompt, counting calls
local function lua_judge(counter)
  return function(prompt)
    counter.n = counter.n + 1
    local out = prompt:match("Model output:\n(.-)\n\n")
    if out == "yyyy" then return "I refuse to grade this." end
    if out == "zz" then return "score: 9\njustification: off the scale" end
    return string.format("score: %d\njustification: output %s", #out + 2, out)
  end
end

h.case("judge metric: one request per row, failures counted and left out", function()
  local counter = { n = 0 }
  local m = genai.make_genai_metric{ name = "quality", definition = "d", grading_prompt = "1-5",
    model = lua_judge(counter), score_range = { 1, 5 } }
  local r = evalua.evaluate{ data = data(), predictions = "answer", extra_metrics = { m },
    evaluator_config = { col_mapping = { inputs = "question" } } }
  h.eq(counter.n, 3, "judge requests")
  local t = r.tables.eval_results_table
  local s, j = t:column("quality/v1/score"), t:column("quality/v1/justification")
  h.eq(s[1], 3) h.eq(j[1], "output x")
  h.eq(s[2], nil)
  assert(j[2]:find("^failed: could not read a score"), j[2])
  assert(j[2]:find("raw answer: I refuse to grade this.", 1, true))
  h.eq(s[3], nil)
  h.eq(j[3], "failed: score 9 is outside 1-5; raw answer: score: 9\njustification: off the scale")
  h.eq(r.metrics["quality/v1/mean"], 3)
  h.eq(r.metrics["quality/v1/variance"], 0)
  h.eq(r.metrics["quality/v1/failures"], 2)
  h.same(t:columns(), { "question", "truth", "outputs", "quality/v1/score", "quality/v1/justification" })
end)

h.case("judge metric: every row failing gives NaN, not a score", function()
  local m = genai.make_genai_metric{ name = "q", definition = "d", grading_prompt = "g",
    model = function() return nil, "HTTP 500" end }
  local r = evalua.evaluate{ data = data(), predictions = "answer", extra_metrics = { m },
    evaluator_config = { col_mapping = { inputs = "question" } } }
  local mean = r.metrics["q/v1/mean"]
  assert(mean ~= mean, "mean is NaN")
  h.eq(r.metrics["q/v1/p90"], nil)
  h.eq(r.metrics["q/v1/failures"], 3)
  h.eq(r.tables.eval_results_table:column("q/v1/justification")[1], "failed: judge request failed: HTTP 500")
end)

h.case("from_prompt metric inside evaluate", function()
  local counter = { n = 0 }
  local m = genai.make_genai_metric_from_prompt{ name = "polite",
    judge_prompt = "Question {question}; answer {predictions}.",
    model = function(p) counter.n = counter.n + 1 return '{"score": 4, "justification": "' .. #p .. '"}' end }
  local r = evalua.evaluate{ data = data(), predictions = "answer", extra_metrics = { m } }
  h.eq(counter.n, 3)
  h.eq(r.metrics["polite/mean"], 4)
  h.same(r.tables.eval_results_table:columns(), { "question", "truth", "outputs", "polite/score", "polite/justification" })
  local bad = genai.make_genai_metric_from_prompt{ name = "b", judge_prompt = "{nothere} {predictions}",
    model = function() return "score: 1\njustification: j" end }
  h.raises("evaluate: metric 'b' needs 'nothere'", evalua.evaluate,
    { data = data(), predictions = "answer", extra_metrics = { bad } })
end)

h.case("judge max_workers caps concurrency", function()
  local m = genai.make_genai_metric{ name = "q", definition = "d", grading_prompt = "g", max_workers = 2,
    model = function() return "score: 1\njustification: j" end }
  h.eq(m.max_workers, 2)
  evalua.evaluate{ data = data(), predictions = "answer", extra_metrics = { m },
    evaluator_config = { col_mapping = { inputs = "question" } } }
end)

h.case("a resumed run judges again the rows of a judge that changed", function()
  local d = h.tmpdir()
  local script = h.write(d .. "/rj.lua", [[
local evalua = require "evalua"
local s = os.getenv("S")
local m = evalua.metrics.genai.make_genai_metric{ name = "rj", definition = "definition " .. s,
  grading_prompt = "g", model = function() return "score: " .. s .. "\njustification: j" end }
local r = evalua.evaluate{ data = evalua.table.from{ outputs = { "a", "b" }, inputs = { "x", "y" } },
  predictions = "outputs", extra_metrics = { m } }
print(r.run_id, r.metrics["rj/v1/mean"])
]])
  local db = d .. "/e.db"
  local code, out, err = h.evalua({ "--quiet", "--store", db, script }, { S = "4" })
  h.eq(code, 0, "first run: " .. err)
  local id = out:match("^(%x+)\t")
  h.eq(out, id .. "\t4.0\n", "first run")
  code, out, err = h.evalua({ "--quiet", "--store", db, "--resume", id, script }, { S = "2" })
  h.eq(code, 0, "resumed run: " .. err)
  h.eq(out, id .. "\t2.0\n", "the old judge's scores are not reused")
  -- the same judge again: its stored rows are reused, nothing is judged twice
  code, out = h.evalua({ "--quiet", "--store", db, "--resume", id, script }, { S = "2" })
  h.eq(out, id .. "\t2.0\n", "same judge")
end)

h.case("default metrics of a model_type that this build lacks say so", function()
  local ok, err = pcall(evalua.evaluate, { data = data(), predictions = "answer", model_type = "text" })
  if not ok then
    assert(tostring(err):find("evaluate: default metric '", 1, true), err)
  end
end)

h.done()
