-- The metric definition API: aggregation maths against hand-computed values,
-- make_metric validation (exact error strings), result naming, metric packs.
local h = require "helper"
local metrics = require "evalua.metrics"

local function col(t) t.n = t.n or #t return t end

h.case("mean, population variance, linear p90", function()
  local a = metrics.aggregate(col{ 1, 2, 3, 4 }, { "mean", "variance", "p90" })
  h.near(a.mean, 2.5)
  h.near(a.variance, 1.25)            -- ((1.5^2)*2 + (0.5^2)*2) / 4
  h.near(a.p90, 3.7)                  -- h = 0.9*3 = 2.7 -> 3 + 0.7*(4-3)
  local b = metrics.aggregate(col{ 5, 1, 4, 4, 2 }, { "mean", "variance", "p90", "min", "max", "median" })
  h.near(b.mean, 3.2)
  h.near(b.variance, 2.16)            -- (3.24+4.84+0.64+0.64+1.44)/5
  h.near(b.p90, 4.6)                  -- sorted 1 2 4 4 5, h = 3.6 -> 4 + 0.6*1
  h.eq(b.min, 1) h.eq(b.max, 5) h.near(b.median, 4)
end)

h.case("nil scores are dropped", function()
  local a = metrics.aggregate({ 4, nil, 2, n = 3 }, { "mean", "variance", "p90" })
  h.near(a.mean, 3)
  h.near(a.variance, 1)
  h.near(a.p90, 3.8)
end)

h.case("empty: NaN mean/variance/min/max, no p90", function()
  local a = metrics.aggregate({ n = 2 }, { "mean", "variance", "p90", "min", "max", "median" })
  assert(a.mean ~= a.mean and a.variance ~= a.variance and a.min ~= a.min and a.max ~= a.max)
  assert(a.median ~= a.median)
  h.eq(a.p90, nil, "p90")
end)

h.case("single value and other percentiles", function()
  local a = metrics.aggregate(col{ 7 }, { "p90", "p50", "variance" })
  h.eq(a.p90, 7) h.eq(a.p50, 7) h.eq(a.variance, 0)
  local b = metrics.aggregate(col{ 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 }, { "p25", "p99.5" })
  h.near(b.p25, 3.25) h.near(b["p99.5"], 9.955)
end)

h.case("make_metric validation", function()
  h.raises("make_metric: field 'name' must be a string, got nil", metrics.make_metric, { eval_fn = print })
  h.raises("make_metric: metric 'x' needs an eval_fn function", metrics.make_metric, { name = "x" })
  h.raises("make_metric: unknown field 'agregations'", metrics.make_metric,
    { name = "x", eval_fn = print, agregations = {} })
  h.raises("make_metric: unknown aggregation 'avg'", metrics.make_metric,
    { name = "x", eval_fn = print, aggregations = { "avg" } })
  h.raises("make_metric: field 'greater_is_better' must be a boolean, got string", metrics.make_metric,
    { name = "x", eval_fn = print, greater_is_better = "yes" })
end)

h.case("names and parameters", function()
  local m = metrics.make_metric{ name = "len", version = "v1",
    eval_fn = function(predictions, targets, context) return {} end }
  h.same(m.params, { "predictions", "targets", "context" })
  h.eq(m.key, "len/v1") h.eq(m.score_column, "len/v1/score")
  h.eq(m.justification_column, "len/v1/justification")
  local flat = metrics.flat_names(m, { mean = 1, p90 = 2, len = 3 })
  h.same(flat, { ["len/v1/mean"] = 1, ["len/v1/p90"] = 2, ["len/v1"] = 3 })
  local nv = metrics.make_metric{ name = "precision_at_3", eval_fn = function(predictions) end }
  h.same(metrics.flat_names(nv, { mean = 0.5 }), { ["precision_at_3/mean"] = 0.5 })
  h.eq(nv.score_column, "precision_at_3/score")
  local tc = metrics.make_metric{ name = "token_count", eval_fn = function(predictions) end, aggregations = {} }
  h.eq(tc.score_column, "token_count")
  assert(tostring(m):find("EvaluationMetric(name=len", 1, true))
end)

h.case("direct call runs eval_fn on column lists", function()
  local m = metrics.make_metric{ name = "len", eval_fn = function(predictions)
    local s = { n = predictions.n }
    for i = 1, predictions.n do s[i] = #predictions[i] end
    return { scores = s }
  end }
  local mv = m{ predictions = { "ab", "abcd", n = 2 } }
  h.eq(mv.scores[1], 2) h.eq(mv.scores[2], 4)
  local one = m{ predictions = "abc" }
  h.eq(one.scores[1], 3)
  -- plain lists are columns too, and every column must have the same length
  local plain = m{ predictions = { "a", "abc" } }
  h.eq(plain.scores.n, 2) h.eq(plain.scores[2], 3)
  local two = metrics.make_metric{ name = "two", eval_fn = function(predictions, inputs)
    return { scores = { #inputs[1], #inputs[2], n = 2 } } end }
  h.eq(two{ predictions = { "a", "b" }, inputs = { "xy", "xyz" } }.scores[2], 3)
  h.raises("two: column 'predictions' has 3 values, column 'inputs' has 2", two,
    { predictions = { "a", "b", "c" }, inputs = { "x", "y" } })
end)

h.case("metric packs: sandbox, validation, named errors", function()
  local d = h.tmpdir()
  h.write(d .. "/ok.lua", [[
local metrics = require "evalua.metrics"
return metrics.make_metric{ name = "shout", eval_fn = function(predictions)
  local s = { n = predictions.n }
  for i = 1, predictions.n do s[i] = select(2, predictions[i]:gsub("!", "")) end
  return { scores = s }
end }]])
  local m = metrics.load(d .. "/ok.lua")
  h.eq(m.name, "shout")
  h.write(d .. "/spec.lua", [[return { name = "plain", eval_fn = function(predictions) return { scores = { n = 0 } } end }]])
  h.eq(metrics.load(d .. "/spec.lua").name, "plain")
  h.write(d .. "/io.lua", [[return io.open("/etc/passwd")]])
  h.raises("attempt to index a nil value (global 'io')", metrics.load, d .. "/io.lua")
  h.write(d .. "/os.lua", [[local os = require "os" return {}]])
  h.raises("require 'os' is not allowed in an untrusted metric pack", metrics.load, d .. "/os.lua")
  h.write(d .. "/trusted.lua", [[return { name = "t" .. os.time() // os.time(), eval_fn = function(predictions) end }]])
  h.eq(metrics.load(d .. "/trusted.lua", { trusted = true }).name, "t1")
  h.write(d .. "/bad.lua", [[return { name = "bad", eval_fn = "nope" }]])
  h.raises("metrics.load: " .. d .. "/bad.lua: make_metric: field 'eval_fn' must be a function, got string",
    metrics.load, d .. "/bad.lua")
  h.write(d .. "/genai_bad.lua", [[return { name = "g", definition = "d" }]])
  h.raises("metrics.load: " .. d .. "/genai_bad.lua: make_genai_metric: field 'grading_prompt' must be a string, got nil",
    metrics.load, d .. "/genai_bad.lua")
  h.raises("metrics.load: cannot open '/nonexistent/x.lua'", metrics.load, "/nonexistent/x.lua")
  -- no way out of the sandbox through evalua's own modules or the string metatable
  h.write(d .. "/util.lua", [[return require("evalua.util").write_file("/tmp/x", "y")]])
  h.raises("require 'evalua.util' is not allowed", metrics.load, d .. "/util.lua")
  h.write(d .. "/evalua.lua", [[return require("evalua")]])
  h.raises("require 'evalua' is not allowed", metrics.load, d .. "/evalua.lua")
  h.write(d .. "/inner.lua", [[return { name = "inner", eval_fn = function(predictions) return os.time() end }]])
  h.write(d .. "/outer.lua", string.format([[return require("evalua.metrics").load(%q, { trusted = true })]], d .. "/inner.lua"))
  h.raises("an untrusted metric pack cannot load another pack as trusted", metrics.load, d .. "/outer.lua")
  h.write(d .. "/patch.lua", [[require("evalua.metrics").make_metric = nil return {}]])
  h.raises("an untrusted metric pack cannot change the field 'make_metric'", metrics.load, d .. "/patch.lua")
  h.write(d .. "/strmeta.lua", [[local mt = getmetatable("") return { name = "s" .. tostring(mt), eval_fn = function(predictions) end }]])
  h.eq(metrics.load(d .. "/strmeta.lua").name, "snil")
  h.eq(("ab"):rep(2), "abab")
  h.raises("metrics.load: no metric pack 'nope' (built in: ", metrics.load, "nope")
end)

h.case("built-in packs load", function()
  for _, name in ipairs({ "faithfulness", "answer_similarity", "answer_correctness", "answer_relevance",
      "relevance", "cultural_sensitivity" }) do
    local m = metrics.load(name)
    h.eq(m.name, name)
    h.eq(m.key, name .. "/v1")
  end
  h.eq(metrics.genai.faithfulness{ model = "openai:/gpt-4o-mini" }.name, "faithfulness")
  h.raises("faithfulness: unknown metric_version 'v2'", metrics.genai.faithfulness, { metric_version = "v2" })
  -- the columns each built-in judge reads, as MLflow's
  local want = {
    faithfulness = { "predictions", "context" }, answer_similarity = { "predictions", "targets" },
    answer_correctness = { "predictions", "inputs", "targets" }, answer_relevance = { "predictions", "inputs" },
    relevance = { "predictions", "inputs", "context" },
  }
  for name, params in pairs(want) do
    local m = metrics.genai[name]{ model = "openai:/gpt-4o-mini", parameters = { temperature = 0.5 } }
    h.same(m.params, params, name .. " params")
    h.same(m.score_range, { 1, 5 }, name .. " range")
    h.eq(#m.genai_metric_args.examples, 2, name .. " examples")
    h.same(m.genai_metric_args.parameters, { temperature = 0.5 }, name .. " parameters")
    h.eq(m.genai_metric_args.model, "openai:/gpt-4o-mini", name .. " model")
  end
end)

h.done()
