-- MLflow 2.14 parity of the surfaces a user moving from mlflow.evaluate
-- checks first: the latency metric, exact_match's typed comparison, the
-- eval_results_table column names in each case, and every name in
-- evalua.metrics.BUILTIN callable as evalua.metrics.<name>(...).
local h = require "helper"
local evalua = require "evalua"
local metrics = evalua.metrics
local sched = require "evalua.sched"

require("evalua.config").store_path = h.tmpdir() .. "/parity.db"
require("evalua.config").quiet = true

local function columns(results)
  return table.concat(results.tables.eval_results_table:columns(), ",")
end

h.case("latency: a bare column before the other metrics, mean/variance/p90, seconds per row", function()
  local data = evalua.table.from({ q = { "a", "bb", "ccc" } }, { columns = { "q" } })
  local function model(inputs)
    return inputs:map(function(row)
      sched.sleep(0.04 * #row.q)
      return row.q:upper()
    end)
  end
  local r = evalua.evaluate{ model = model, data = data, model_type = "text",
    extra_metrics = { metrics.latency() } }
  h.eq(columns(r), "q,outputs,latency,token_count,toxicity/v1/score,"
    .. "flesch_kincaid_grade_level/v1/score,ari_grade_level/v1/score")
  local lat = r.tables.eval_results_table:column("latency")
  for i = 1, 3 do
    assert(lat[i] >= 0.04 * i - 0.005 and lat[i] < 0.04 * i + 2, "row " .. i .. ": " .. tostring(lat[i]))
  end
  assert(r.metrics["latency/mean"] > 0.07, tostring(r.metrics["latency/mean"]))
  assert(r.metrics["latency/variance"] > 0)
  assert(r.metrics["latency/p90"] >= r.metrics["latency/mean"])
  h.eq(r.metrics["latency"], nil, "no bare aggregate")
  h.eq(metrics.latency().greater_is_better, false)
  -- no model: 0.0 s per row, as MLflow
  local s = evalua.evaluate{ data = evalua.table.from{ p = { "x", "y" } }, predictions = "p",
    extra_metrics = { metrics.latency() } }
  h.eq(columns(s), "outputs,latency")
  h.eq(s.tables.eval_results_table:column("latency")[2], 0.0)
  h.eq(s.metrics["latency/mean"], 0.0)
end)

h.case("latency with an adapter model: each row's request timed", function()
  local testserver = require "testserver"
  local ts = testserver.start{ latency_ms = 60 }
  local data = evalua.table.from{ q = { "one", "two" } }
  local model = evalua.openai.model{ model = "gpt-4o-mini", base_url = ts.url .. "/v1", api_key = "sk-x",
    messages = { { role = "user", content = "{q}" } } }
  require("evalua.config").cache = false
  local r = evalua.evaluate{ model = model, data = data, extra_metrics = { metrics.latency() } }
  require("evalua.config").cache = nil
  local lat = r.tables.eval_results_table:column("latency")
  for i = 1, 2 do assert(lat[i] >= 0.055 and lat[i] < 5, "row " .. i .. ": " .. tostring(lat[i])) end
  ts:stop()
end)

h.case("exact_match compares typed values as MLflow (numpy ==) does", function()
  local cases = {
    -- targets, predictions, expected share
    { { 1, 2, 3 }, { 1.0, 2, 4 }, 2 / 3 },          -- 1 == 1.0
    { { 1, true, "a" }, { "1", 1, "a" }, 2 / 3 },   -- "1" ~= 1, true == 1
    { { false, 0 }, { 0, false }, 1 },              -- false == 0
    { { "A", "b " }, { "a", "b" }, 0 },             -- case and whitespace count
    { { 0 / 0, "x" }, { 0 / 0, "x" }, 1 / 2 },      -- NaN equals nothing
  }
  for k, c in ipairs(cases) do
    local r = metrics.exact_match() { predictions = c[2], targets = c[1] }
    h.near(r.aggregate_results.exact_match, c[3], 1e-12, "case " .. k)
  end
  -- from a CSV, columns are typed as a whole, as pandas does: "1" and "1.0"
  -- are numbers (equal) in a numeric column and strings (not equal) in a mixed one
  local d = h.tmpdir()
  h.write(d .. "/num.csv", "t,p\n1,1.0\n3,3\n2,2.5\n")
  h.write(d .. "/mixed.csv", "t,p\n1,1.0\nx,x\n")
  local function em(file)
    return evalua.evaluate{ data = evalua.table.read(file), predictions = "p", targets = "t",
      extra_metrics = { metrics.exact_match() } }.metrics["exact_match/v1"]
  end
  h.near(em(d .. "/num.csv"), 2 / 3, 1e-12, "numeric columns")
  h.near(em(d .. "/mixed.csv"), 1 / 2, 1e-12, "string columns")
end)

h.case("eval_results_table column names, as MLflow 2.14 names them", function()
  local tm = metrics.make_metric{ name = "len", eval_fn = function(predictions)
    local s = { n = predictions.n }
    for i = 1, predictions.n do s[i] = #tostring(predictions[i]) end
    return { scores = s }
  end }
  local data = evalua.table.from({ question = { "q1", "q2" }, answer = { "a1", "a2" }, truth = { "a1", "x" } },
    { columns = { "question", "answer", "truth" } })
  local function model(inputs) return inputs:map(function(row) return row.question .. "!" end) end
  local cases = {
    -- static, no targets: the predictions column becomes `outputs`
    { { data = data, predictions = "answer" }, "question,truth,outputs,len/score" },
    -- static, with targets: the targets column, then the predictions column under its own name
    { { data = data, predictions = "answer", targets = "truth" }, "question,truth,answer,len/score" },
    -- a model, no targets: every column is a feature, the model's answers are `outputs`
    { { data = data, model = model }, "question,answer,truth,outputs,len/score" },
    -- a model with targets and no predictions name: `outputs`
    { { data = data, model = model, targets = "truth" }, "question,answer,truth,outputs,len/score" },
    -- a model with targets and a predictions name: that name
    { { data = data, model = model, targets = "truth", predictions = "pred" }, "question,answer,truth,pred,len/score" },
  }
  for k, c in ipairs(cases) do
    c[1].extra_metrics = { tm }
    h.eq(columns(evalua.evaluate(c[1])), c[2], "case " .. k)
  end
end)

h.case("every evalua.metrics.BUILTIN name is callable and computes", function()
  local text = { predictions = { "The cat sat.", "A dog ran far away." }, targets = { "The cat sat.", "A dog." } }
  local lists = { predictions = { { "a", "b" }, { "c" } }, targets = { { "a" }, { "d" } } }
  for _, name in ipairs(metrics.BUILTIN) do
    local ctor = metrics[name]
    assert(ctor, "evalua.metrics." .. name .. " is nil")
    local m = name:match("_at_k$") and ctor(2) or ctor()
    assert(metrics.is_metric(m), name .. " did not return a metric")
    local args = name:match("_at_k$") and lists or text
    if name == "latency" then args = { latency = { 0.25, 0.5 } } end
    local r = m(args)
    assert(type(r) == "table" and (r.scores or r.aggregate_results), name .. " computed nothing")
  end
  -- the retriever factories take k positionally, as MLflow's do, and as a table
  h.eq(metrics.precision_at_k(5).name, "precision_at_5")
  h.eq(metrics.ndcg_at_k{ k = 4 }.name, "ndcg_at_4")
end)

h.case("col_mapping naming no column is an error", function()
  local data = evalua.table.from({ q = { "a" }, p = { "x" } }, { columns = { "q", "p" } })
  local judge_like = metrics.make_metric{ name = "uses_inputs", eval_fn = function(predictions, inputs)
    return { scores = { n = predictions.n, 1 } } end }
  h.raises("evaluate: col_mapping: inputs = 'nope' names no column (columns: q, p)", evalua.evaluate,
    { data = data, predictions = "p", extra_metrics = { metrics.token_count() },
      evaluator_config = { col_mapping = { inputs = "nope" } } })
  -- a column, another metric's result, or an evaluator_config key are fine
  local r = evalua.evaluate{ data = data, predictions = "p", extra_metrics = { judge_like },
    evaluator_config = { col_mapping = { inputs = "q" } } }
  h.eq(r.tables.eval_results_table:column("uses_inputs/score")[1], 1)
  evalua.evaluate{ data = data, predictions = "p", extra_metrics = { metrics.token_count() },
    evaluator_config = { col_mapping = { context = "k" }, k = "a constant" } }
end)

h.done()
