-- `evalua judge --labels`: agreement per judge script, the paired comparison
-- of two prompt variants (a verdict either way, or not significant), usage
-- errors; evalua.stats.compare_judges; and the walkthrough
-- scripts/judge_prototyping.lua offline against the test server (a re-run
-- is answered by the cache).
local h = require "helper"
local evalua = require "evalua"

local src = h.source_dir
local LABELS = src .. "/scripts/data/judge_labels.csv"
local INFORMED = src .. "/tests/data/judges/informed.lua"
local NOISY = src .. "/tests/data/judges/noisy.lua"

local function judge(args)
  local d = h.tmpdir()
  local all = { "--store", d .. "/e.db", "--cache", d .. "/c.db", "--quiet", "judge" }
  for _, a in ipairs(args) do all[#all + 1] = a end
  return h.evalua(all, { EVALUA_SOURCE_DIR = src })
end

h.case("compare_judges: paired bootstrap on the same rows", function()
  local hum = { 1, 2, 3, 4, 5, 1, 2, 3, 4, 5, 1, 2, 3, 4, 5 }
  local good = { 1, 2, 3, 4, 5, 1, 2, 3, 4, 4, 1, 2, 3, 4, 5 }
  local bad = { 3, 1, 5, 2, 1, 4, 5, 1, 3, 2, 2, 4, 1, 5, 3 }
  local c = evalua.stats.compare_judges(bad, good, hum, { scale = { 1, 5 }, bootstrap = 500 })
  h.eq(c.verdict, "b", "the good judge is B")
  h.near(c.a, evalua.stats.agreement(bad, hum, { scale = { 1, 5 }, bootstrap = 0 }).weighted_kappa, 1e-12)
  h.near(c.b, evalua.stats.agreement(good, hum, { scale = { 1, 5 }, bootstrap = 0 }).weighted_kappa, 1e-12)
  assert(c.lo > 0 and c.lo <= c.diff and c.diff <= c.hi)
  h.eq(evalua.stats.compare_judges(good, bad, hum, { scale = { 1, 5 }, bootstrap = 500 }).verdict, "a")
  local same = evalua.stats.compare_judges(good, good, hum, { bootstrap = 200 })
  h.eq(same.verdict, "none") h.eq(same.diff, 0)
  -- rows missing for either judge are left out for both
  local holes = evalua.stats.compare_judges({ n = 4, 1, nil, 3, 4 }, { 1, 2, 3, 4 }, { 1, 2, 3, 4 }, { stat = "exact" })
  h.eq(holes.n, 3)
  h.raises("stat must be one of", evalua.stats.compare_judges, good, good, hum, { stat = "bias" })
end)

h.case("one script: agreement with intervals and the confusion matrix", function()
  local code, out, err = judge({ "--labels", LABELS, "--human", "human_score", INFORMED })
  h.eq(code, 0, err)
  assert(out:find("helpful/v1 vs 'human_score': n = 30, 95% intervals from 2000 resamples", 1, true), out)
  assert(out:find("weighted_kappa", 1, true) and out:find("confusion (rows: human, columns: judge)", 1, true), out)
end)

h.case("two scripts: which prompt agrees better, either way round", function()
  local code, out, err = judge({ "--labels", LABELS, "--human", "human_score", NOISY, INFORMED })
  h.eq(code, 0, err)
  assert(out:find("comparison: weighted_kappa on the same 30 rows, paired bootstrap (2000 resamples)", 1, true), out)
  assert(out:find("verdict: B (" .. INFORMED .. ") agrees better with people", 1, true), out)
  code, out = judge({ "--labels", LABELS, "--human", "human_score", "--stat", "spearman", INFORMED, NOISY })
  h.eq(code, 0)
  assert(out:find("verdict: A (" .. INFORMED .. ") agrees better with people", 1, true), out)
  code, out = judge({ "--labels", LABELS, "--human", "human_score", INFORMED, INFORMED })
  assert(out:find("verdict: the difference is not significant", 1, true), out)
end)

h.case("usage errors exit 2", function()
  local code, _, err = judge({ "--labels", LABELS, INFORMED })
  h.eq(code, 2) assert(err:find("--human COL is required", 1, true), err)
  code, _, err = judge({ "--labels", LABELS, "--human", "nope", INFORMED })
  h.eq(code, 2) assert(err:find("--human column 'nope' not in", 1, true), err)
  code, _, err = judge({ "--labels", LABELS, "--human", "human_score", "--stat", "bias", INFORMED })
  h.eq(code, 2) assert(err:find("unknown --stat 'bias'", 1, true), err)
  code, _, err = judge({ "--labels", LABELS, "--human", "human_score", src .. "/scripts/static.lua" })
  h.eq(code, 2, err)
  code = judge({ "--labels", "--help" })
  h.eq(code, 0)
end)

h.case("the walkthrough: scripts/judge_prototyping.lua against the test server, then cached", function()
  local ts = require("testserver").start{}
  local d = h.tmpdir()
  os.execute("ln -s " .. h.quote(src .. "/scripts") .. " " .. h.quote(d .. "/scripts"))
  local function run()
    return h.sh("cd " .. h.quote(d) .. " && OPENAI_BASE_URL=" .. h.quote(ts.url .. "/v1") ..
      " OPENAI_API_KEY=sk-test " .. h.quote(h.bin) .. " --store e.db --cache c.db --quiet scripts/judge_prototyping.lua")
  end
  local code, out, err = run()
  h.eq(code, 0, err .. out)
  assert(out:find("variant A %(one%-line rubric%)\n%x+: kappa %-?[%d.]+, weighted kappa"), out)
  assert(out:find("variant B (anchored rubric, examples)", 1, true), out)
  assert(out:find("weighted kappa: A [%d.-]+, B [%d.-]+, B %- A [+-][%d.]+, 95%% interval"), out)
  h.eq(ts:stats().requests, 60, "30 rows x 2 prompts")
  -- the prototyping loop: an unchanged prompt costs nothing the second time
  code, out = run()
  h.eq(code, 0)
  h.eq(ts:stats().requests, 60, "all cached")
  -- and the CLI on the same labels and judges answers from the same cache
  local c2, o2, e2 = h.sh("cd " .. h.quote(d) .. " && OPENAI_BASE_URL=" .. h.quote(ts.url .. "/v1") ..
    " OPENAI_API_KEY=sk-test " .. h.quote(h.bin) .. " --store e.db --cache c.db --quiet judge --labels scripts/data/judge_labels.csv" ..
    " --human human_score scripts/judges/helpful_terse.lua scripts/judges/helpful_rubric.lua")
  h.eq(c2, 0, e2)
  assert(o2:find("verdict:", 1, true), o2)
  h.eq(ts:stats().requests, 60, "the CLI re-used the cached answers")
  ts:stop()
end)

h.done()
