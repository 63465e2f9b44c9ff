-- Juries, self-consistency samples and logprob-weighted scores: each juror's
-- request body is byte-identical to its solo request (the test server's
-- request keys), jury scores are the mean/median/majority of the solo
-- scores, a failing juror is left out and counted, K samples by seeds or
-- by OpenAI's n, and G-Eval weighting with its fallback to parsed scores.
local h = require "helper"
local evalua = require "evalua"
local genai = evalua.metrics.genai
local jury = require "evalua.metrics.jury"
local models = require "evalua.models"
local config = require "evalua.config"

config.store_path = h.tmpdir() .. "/evalua.db"
config.quiet = true

h.case("weighted_score: sum p(k) k over integer tokens in range, renormalized", function()
  local lp = math.log
  local content = {
    { token = "score: ", logprob = -0.01, top_logprobs = {} },
    { token = "4", logprob = lp(0.5), top_logprobs = {
      { token = "4", logprob = lp(0.5) }, { token = "5", logprob = lp(0.3) },
      { token = "3", logprob = lp(0.1) }, { token = "high", logprob = lp(0.05) },
      { token = "9", logprob = lp(0.05) } } },
    { token = "\njustification: fine", logprob = -0.1, top_logprobs = {} },
  }
  -- (0.5*4 + 0.3*5 + 0.1*3) / 0.9 with the range 1-5 ("9" and "high" left out)
  h.near(jury.weighted_score(content, { 1, 5 }), 3.8 / 0.9, 1e-12, "in range")
  -- without a range "9" counts: (3.8 + 0.45) / 0.95
  h.near(jury.weighted_score(content, nil), 4.25 / 0.95, 1e-12, "no range")
  local s, why = jury.weighted_score({ { token = "4", top_logprobs = { { token = "4", logprob = 0 } } } }, nil)
  h.eq(s, nil) assert(why:find("no score token", 1, true), why)
  s, why = jury.weighted_score(nil)
  h.eq(s, nil) assert(why:find("no token logprobs", 1, true))
end)

h.case("combine: mean, median, majority", function()
  h.near(jury.combine.mean({ 1, 2, 5 }), 8 / 3, 1e-12)
  h.eq(jury.combine.median({ 1, 2, 5 }), 2)
  h.eq(jury.combine.median({ 1, 2, 4, 5 }), 3)
  h.eq(jury.combine.majority({ 4, 4, 1 }), 4)
  h.eq(jury.combine.majority({ 1, 3, 5 }), 3, "no majority: the median")
end)

h.case("field checks", function()
  local base = { name = "q", definition = "d", grading_prompt = "g" }
  local function with(extra)
    local t = {}
    for k, v in pairs(base) do t[k] = v end
    for k, v in pairs(extra) do t[k] = v end
    return t
  end
  h.raises("'jury' needs a list of judges", genai.make_genai_metric, with{ jury = "mean" })
  h.raises("'jury' must be 'mean', 'median' or 'majority'", genai.make_genai_metric,
    with{ model = { "openai:/a", "openai:/b" }, jury = "vote" })
  h.raises("samples = 3 needs parameters.temperature > 0", genai.make_genai_metric, with{ samples = 3 })
  h.raises("samples = 3 needs parameters.temperature > 0", genai.make_genai_metric,
    with{ samples = 3, parameters = { temperature = 0 } })
  h.raises("'scoring' must be 'parsed' or 'logprobs'", genai.make_genai_metric, with{ scoring = "probs" })
  h.raises("malformed model URI 'nope'", genai.make_genai_metric, with{ model = { "openai:/a", "nope" } })
end)

local ts = require("testserver").start{}
for _, name in ipairs({ "j1", "j2", "j3" }) do
  models.register_endpoint(name, { base_url = ts.url .. "/v1", model = "judge-" .. name })
end

local N = 8
local function data()
  local q, a = {}, {}
  for i = 1, N do q[i] = "question " .. i a[i] = "answer number " .. i end
  return evalua.table.from({ inputs = q, outputs = a }, { columns = { "inputs", "outputs" } })
end

local function metric(model, extra)
  local t = { name = "quality", definition = "Quality.", grading_prompt = "Score 1-5.", model = model,
    score_range = { 1, 5 }, parameters = { temperature = 0, max_tokens = 50 } }
  for k, v in pairs(extra or {}) do t[k] = v end
  return genai.make_genai_metric(t)
end

local function run(m)
  return evalua.evaluate{ data = data(), predictions = "outputs", extra_metrics = { m } }
end

local function keys()
  local s = ts:stats{ keys = true }
  local set = {}
  for k in pairs(s.keys or {}) do set[k] = true end
  return set, s.requests
end

h.case("a jury: bodies byte-identical to solo, scores combined", function()
  config.cache = false
  local solo, solo_keys = {}, {}
  for j, name in ipairs({ "j1", "j2", "j3" }) do
    ts:reset()
    local r = run(metric("endpoints:/" .. name))
    solo[j] = r.tables.eval_results_table:column("quality/v1/score")
    solo_keys[j] = keys()
  end
  for _, how in ipairs({ "mean", "median", "majority" }) do
    ts:reset()
    local r = run(metric({ "endpoints:/j1", "endpoints:/j2", "endpoints:/j3" }, { jury = how }))
    local ks, requests = keys()
    h.eq(requests, 3 * N, "one request per judge and row")
    -- every jury request is some judge's solo request, byte for byte, and all are there
    local union = {}
    for j = 1, 3 do for k in pairs(solo_keys[j]) do union[k] = true end end
    h.same(ks, union, how .. " request keys")
    local t = r.tables.eval_results_table
    local sc, dis, list = t:column("quality/v1/score"), t:column("quality/v1/disagreement"), t:column("quality/v1/scores")
    for i = 1, N do
      local xs = { solo[1][i], solo[2][i], solo[3][i] }
      h.near(sc[i], jury.combine[how](xs), 1e-12, how .. " row " .. i)
      h.eq(dis[i], math.max(xs[1], xs[2], xs[3]) - math.min(xs[1], xs[2], xs[3]), "disagreement row " .. i)
      h.eq(list[i], string.format("[%d, %d, %d]", xs[1], xs[2], xs[3]), "scores row " .. i)
    end
    h.eq(r.metrics["quality/v1/judge_failures"], 0, "judge failures")
  end
  config.cache = nil
end)

h.case("a failing juror is left out of the row and counted", function()
  local broken = function() return nil, "juror down" end
  local r = run(metric({ "endpoints:/j1", broken }, { jury = "mean" }))
  local solo = run(metric("endpoints:/j1")).tables.eval_results_table:column("quality/v1/score")
  local t = r.tables.eval_results_table
  for i = 1, N do
    h.eq(t:column("quality/v1/score")[i], solo[i], "row " .. i)
    h.eq(t:column("quality/v1/scores")[i], string.format("[%d, null]", solo[i]))
  end
  h.eq(r.metrics["quality/v1/judge_failures"], N, "counted")
  h.eq(r.metrics["quality/v1/failures"], 0, "no row failed")
  -- every juror failing fails the row
  local r2 = run(metric({ broken, broken }))
  h.eq(r2.metrics["quality/v1/failures"], N, "rows failed")
  assert(r2.tables.eval_results_table:column("quality/v1/justification")[1]:find("judge 1: failed: judge request failed: juror down", 1, true))
end)

h.case("samples by seeds: K requests with distinct seeds, mean and range", function()
  config.cache = false
  ts:reset()
  local m = metric("endpoints:/j1", { samples = 4, parameters = { temperature = 0.7, max_tokens = 50 } })
  local r = run(m)
  local _, requests = keys()
  h.eq(requests, 4 * N, "K requests per row")
  local t = r.tables.eval_results_table
  local varied = 0
  for i = 1, N do
    local xs = {}
    for v in t:column("quality/v1/scores")[i]:gmatch("%d+") do xs[#xs + 1] = tonumber(v) end
    h.eq(#xs, 4, "four samples")
    local s = 0
    for _, x in ipairs(xs) do s = s + x end
    h.near(t:column("quality/v1/score")[i], s / 4, 1e-12, "mean")
    h.eq(t:column("quality/v1/disagreement")[i], math.max(table.unpack(xs)) - math.min(table.unpack(xs)))
    if t:column("quality/v1/disagreement")[i] > 0 then varied = varied + 1 end
  end
  assert(varied > 0, "seeded samples differ somewhere")
  config.cache = nil
end)

h.case("logprobs: G-Eval weighted scores; parsed when there are none", function()
  config.cache = false
  local r = run(metric("endpoints:/j2", { scoring = "logprobs" }))
  local t = r.tables.eval_results_table
  local prompts = {}
  genai.prompt_sink = function(_, i, p) prompts[i] = p end
  run(metric("endpoints:/j2"))
  genai.prompt_sink = nil
  for i = 1, N do
    h.eq(t:column("quality/v1/scoring")[i], "logprobs", "row " .. i)
    -- the same request by hand: its answer's logprobs give the same score
    local text, _, detail = evalua.sched.run(models.chat, "endpoints:/j2", { { role = "user", content = prompts[i] } },
      { temperature = 0, max_tokens = 50, logprobs = true, top_logprobs = 20 })
    assert(text, detail)
    local want = jury.weighted_score(detail.raw.choices[1].logprobs.content, { 1, 5 })
    h.near(t:column("quality/v1/score")[i], want, 1e-12, "weighted row " .. i)
    local parsed = tonumber(text:match("score: (%d)"))
    assert(math.abs(want - parsed) < 1.5 and want ~= parsed, "weighted near the parsed score, not equal")
  end
  -- a judge without logprobs (a Lua function): parsed, and the row says so
  local f = metric(function() return "score: 3\njustification: ok" end, { scoring = "logprobs" })
  local r2 = run(f)
  h.eq(r2.tables.eval_results_table:column("quality/v1/scoring")[1], "parsed")
  h.eq(r2.tables.eval_results_table:column("quality/v1/score")[1], 3)
  config.cache = nil
end)

h.case("samples through OpenAI's n: one request per row, K choices", function()
  local code = [[
    local evalua = require "evalua"
    require("evalua.config").store_path = os.getenv("DB")
    local m = evalua.metrics.genai.make_genai_metric{ name = "quality", definition = "Quality.",
      grading_prompt = "Score 1-5.", model = "openai:/gpt-judge", samples = 3, score_range = { 1, 5 },
      parameters = { temperature = 0.9, max_tokens = 50 }, scoring = "logprobs" }
    local r = evalua.evaluate{ data = evalua.table.from({ inputs = { "a", "b" }, outputs = { "x", "y" } }),
      predictions = "outputs", extra_metrics = { m } }
    local t = r.tables.eval_results_table
    for i = 1, 2 do
      print(t:column("quality/v1/scores")[i], t:column("quality/v1/score")[i], t:column("quality/v1/scoring")[i])
    end
  ]]
  ts:reset()
  local rc, out, err = h.evalua({ "--quiet", "--no-cache", "-e", code }, { OPENAI_BASE_URL = ts.url .. "/v1",
    OPENAI_API_KEY = "sk-test", DB = h.tmpdir() .. "/e.db" })
  h.eq(rc, 0, err)
  h.eq(ts:stats().requests, 2, "one request per row")
  local lines = 0
  for l in out:gmatch("[^\n]+") do
    lines = lines + 1
    local list, score, how = l:match("^(%[.-%])\t(%S+)\t(%S+)$")
    assert(list, l)
    local xs = {}
    for v in list:gmatch("[%d%.]+") do xs[#xs + 1] = tonumber(v) end
    h.eq(#xs, 3, "three choices")
    h.near(tonumber(score), (xs[1] + xs[2] + xs[3]) / 3, 1e-3, "mean of the choices")
    h.eq(how, "logprobs")
  end
  h.eq(lines, 2)
end)

h.case("a juror's unparseable answer is not cached: asked again on the next run, not replayed", function()
  local gs <close> = require("testserver").start{ judge_garbage = 1 }
  for _, name in ipairs({ "g1", "g2" }) do
    models.register_endpoint(name, { base_url = gs.url .. "/v1", model = "judge-" .. name })
  end
  config.cache = nil
  config.cache_path = h.tmpdir() .. "/jury-cache.db"
  local m = metric({ "endpoints:/g1", "endpoints:/g2" }, { jury = "mean" })
  -- every judge prompt is answered with garbage on its first receipt
  local r = run(m)
  h.eq(gs:stats().requests, 2 * N, "first run: one request per juror and row")
  h.eq(r.metrics["quality/v1/failures"], N, "every row failed (both jurors)")
  -- the second run asks every failed juror again (a replayed garbage answer
  -- would send nothing) and now gets real scores
  r = run(m)
  h.eq(gs:stats().requests, 4 * N, "second run: the failed answers were asked again")
  h.eq(r.metrics["quality/v1/failures"] or 0, 0, "second run scores every row")
  h.eq(r.metrics["quality/v1/judge_failures"], 0, "no juror failed")
  -- the good answers are cached: a third run sends nothing
  run(m)
  h.eq(gs:stats().requests, 4 * N, "third run: served from the cache")
  config.cache_path = nil
end)

h.done()
