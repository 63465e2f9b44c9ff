-- evalua.toxicity and the toxicity metric: the embedded model from Lua,
-- column lists, the MetricValue (scores, ratio, warnings, info), options.
local h = require "helper"
local tox = require "evalua.toxicity"
local metrics = require "evalua.metrics"

h.case("score: probabilities, ranking, determinism", function()
  local bad = tox.score("Shut up, you fucking idiot.")
  local good = tox.score("The capital of France is Paris.")
  assert(bad >= 0.5 and bad <= 1, bad)
  assert(good >= 0 and good < 0.5, good)
  h.eq(tox.score("Shut up, you fucking idiot."), bad, "same text, same score")
  h.eq(tox.score(""), 0.0, "empty")
  h.raises("string expected, got no value", tox.score)
end)

h.case("score_list: one call per column, holes for non-strings", function()
  local col = { "you are a stupid bitch", 42, nil, "have a nice day", true, n = 6 }
  local s = tox.score_list(col)
  h.eq(s.n, 6, "n")
  h.eq(s[1], tox.score("you are a stupid bitch"), "row 1")
  h.eq(s[2], nil, "number")
  h.eq(s[3], nil, "hole")
  h.eq(s[4], tox.score("have a nice day"), "row 4")
  h.eq(s[5], nil, "boolean")
  h.eq(s[6], nil, "past the end")
  h.eq(tox.score_list({}).n, 0, "empty column")
end)

h.case("info: backend, hash, provenance", function()
  local i = tox.info()
  h.eq(i.backend, "embedded", "backend")
  assert(i.weights_sha256:match("^%x+$") and #i.weights_sha256 == 64, i.weights_sha256)
  local core = require "evalua.core"
  h.eq(i.weights_sha256, core.sha256(core.embedded("engine/data/toxicity.bin")), "hash of the embedded file")
  assert(i.metadata.training_data:find("Davidson", 1, true), i.metadata.training_data)
  assert(i.metadata.davidson_test_roc_auc > 0.95, i.metadata.davidson_test_roc_auc)
  assert(type(i.metadata.stormfront_roc_auc) == "number")
  h.eq(i.metadata.seed, 20240601, "seed")
  h.eq(i.training_data, i.metadata.training_data, "training_data")
  h.eq(i.quality.davidson_test_roc_auc, i.metadata.davidson_test_roc_auc, "quality")
  h.eq(i.quality.seed, nil, "quality holds only measured numbers")
  assert(i.quality.stormfront_roc_auc > 0.5)
end)

h.case("normalize shows what the model sees", function()
  h.eq(tox.normalize("RT @x: Sooooo GOOD!!! http://t.co/y &amp; #yes"), "soo good . yes", "tweet")
  h.eq(tox.normalize('He said "they are rats", I disagree.'), 'he said " they are rats " . i disagree', "marks")
end)

h.case("metric: names, aggregates, ratio, info", function()
  local m = metrics.toxicity()
  h.eq(m.name, "toxicity", "name")
  h.eq(m.version, "v1", "version")
  h.eq(m.greater_is_better, false, "greater_is_better")
  h.eq(m.key, "toxicity/v1", "key")
  h.eq(m.score_column, "toxicity/v1/score", "column")
  local preds = { "Go kill yourself, you retarded loser.", "Thanks for the help!",
    "fuck off and die you ugly cunt", "The meeting is at noon.", n = 4 }
  local mv = m.eval_fn(preds)
  h.eq(mv.scores.n, 4, "n")
  h.eq(mv.aggregate_results.ratio, 0.5, "ratio")
  h.eq(mv.warnings, nil, "no warnings")
  h.eq(mv.info.backend, "embedded", "info.backend")
  h.eq(mv.info.weights_sha256, tox.info().weights_sha256, "info.hash")
  local flat = metrics.flat_names(m, { ratio = 0.5, mean = 0.4 })
  h.eq(flat["toxicity/v1/ratio"], 0.5, "toxicity/v1/ratio")
  h.eq(flat["toxicity/v1/mean"], 0.4, "toxicity/v1/mean")
end)

h.case("metric: non-string cells give empty scores and a warning", function()
  local mv = metrics.toxicity().eval_fn({ "hello there", 7, nil, n = 3 })
  assert(mv.scores[1] ~= nil)
  h.eq(mv.scores[2], nil, "number")
  h.eq(mv.scores[3], nil, "nil")
  h.eq(mv.aggregate_results.ratio, 0, "ratio over the scored rows")
  assert(mv.warnings and mv.warnings[1]:find("2 of 3 predictions are not strings", 1, true), mv.warnings and mv.warnings[1])
end)

h.case("metric: direct call through compute", function()
  local m = metrics.toxicity()
  local r = m({ predictions = { "you stupid bitch", "lovely weather", n = 2 } })
  assert(type(r) == "table")
end)

h.case("metric: option errors", function()
  h.raises("toxicity: unknown option 'modle'", metrics.toxicity, { modle = "x" })
  h.raises("toxicity: unknown model 'bert'", metrics.toxicity, { model = "bert" })
  h.raises("toxicity: model 'roberta' needs MLflow's model: run `evalua models pull roberta-hate-speech-dynabench-r4-target` once",
    metrics.toxicity, { model = "roberta" })
  h.raises("toxicity: backend and model disagree", metrics.toxicity, { model = "roberta", backend = "embedded" })
  h.raises("toxicity: someone/missing: neither a model directory nor a pulled model", metrics.toxicity,
    { backend = "roberta", path = "someone/missing" })
  h.raises("toxicity: batch_size must be a positive integer", metrics.toxicity, { batch_size = 0 })
end)

h.case("roberta backend: the metric matches the numpy reference", function()
  local d = h.tmpdir()
  local py = io.open("/usr/bin/python3") and "/usr/bin/python3" or "python3"
  local code, _, err = h.sh(py .. " " .. h.quote(h.source_dir .. "/tests/roberta_ref.py") .. " " .. h.quote(d))
  h.eq(code, 0, "tests/roberta_ref.py (needs python3-numpy, python3-regex): " .. err)
  local cjson = require "cjson"
  local exp = cjson.decode(h.read(d .. "/expected.json")).f32
  local m = metrics.toxicity { model = "roberta", path = d .. "/f32", batch_size = 4 }
  h.eq(m.long_name, "toxicity/roberta", "long_name")
  local col = { n = #exp + 1 }
  for i, c in ipairs(exp) do col[i] = c.text end
  col[#exp + 1] = 12
  local mv = m.eval_fn(col)
  local hits = 0
  for i, c in ipairs(exp) do
    h.near(mv.scores[i], c.prob, 1e-5, "row " .. i)
    if c.prob >= 0.5 then hits = hits + 1 end
  end
  h.eq(mv.scores[#exp + 1], nil, "non-string")
  h.near(mv.aggregate_results.ratio, hits / #exp, 1e-12, "ratio")
  assert(mv.warnings and mv.warnings[1]:find("1 of " .. col.n, 1, true))
  h.eq(mv.info.backend, "roberta", "backend")
  local core = require "evalua.core"
  h.eq(mv.info.weights_sha256, core.sha256(h.read(d .. "/f32/model.safetensors")), "weights hash")
  -- the C handle directly: tokenizer ids as the reference
  local tox_m = assert(tox.roberta_open(d .. "/f32"))
  local ids = tox_m:tokenize(exp[3].text)
  h.eq(#ids, #exp[3].ids, "id count")
  for i, v in ipairs(exp[3].ids) do h.eq(ids[i], v, "id " .. i) end
  h.eq(tox_m:info().hate_label_name, "hate", "label")
  tox_m:close()
  h.raises("model is closed", tox_m.tokenize, tox_m, "x")
  -- EVALUA_TOXICITY_MODEL selects the backend
  local c2, out = h.evalua({ "-e", "print(require('evalua.metrics').toxicity().long_name)" },
    { EVALUA_TOXICITY_MODEL = d .. "/f32" })
  h.eq(c2, 0, "exit")
  h.eq(out, "toxicity/roberta\n", "env selects roberta")
  h.raises("toxicity: roberta: /nonexistent/dir: not a model directory", metrics.toxicity,
    { model = "roberta", path = "/nonexistent/dir" })
end)

h.case("the documented quality numbers are reproduced from the committed weights", function()
  local data = h.source_dir .. "/../shared/data/toxicity"
  local trainer = h.build_dir .. "/evalua-train-toxicity"
  if not io.open(data .. "/davidson/labeled_data.csv") then
    print("SKIP quality check: " .. data .. " is missing (CI has it)")
    return
  end
  local code, out, err = h.sh(h.quote(trainer) .. " eval --model " ..
    h.quote(h.source_dir .. "/engine/data/toxicity.bin") .. " --davidson " ..
    h.quote(data .. "/davidson/labeled_data.csv") .. " --stormfront " ..
    h.quote(data .. "/stormfront/stormfront.csv") .. " --implicit-hate " ..
    h.quote(data .. "/implicit_hate/implicit_hate_v1_stg1_posts.tsv") .. " --dynahate " ..
    h.quote(data .. "/dynahate_eval/dev.csv") .. " --dynahate " ..
    h.quote(data .. "/dynahate_eval/test.csv") .. " --functional " ..
    h.quote(h.source_dir .. "/tests/data/toxicity/functional.tsv"))
  h.eq(code, 0, "evalua-train-toxicity eval: " .. err)
  local q = tox.info().quality
  local auc, f1, ece = out:match("davidson_test: n=%d+ toxic=%d+ roc_auc=([%d.]+) f1@0.5=([%d.]+) ece10=([%d.]+)")
  h.eq(tonumber(auc), q.davidson_test_roc_auc, "davidson auc")
  h.eq(tonumber(f1), q.davidson_test_f1, "davidson f1")
  h.eq(tonumber(ece), q.davidson_test_ece, "davidson ece")
  local function auc_of(set) return tonumber(out:match("\n" .. set .. ": n=%d+ toxic=%d+ roc_auc=([%d.]+)")) end
  h.eq(auc_of("stormfront"), q.stormfront_roc_auc, "stormfront auc")
  h.eq(auc_of("implicit_hate_test"), q.implicit_hate_test_roc_auc, "implicit hate auc")
  h.eq(auc_of("dynahate"), q.dynahate_roc_auc, "dynahate auc")
  h.eq(auc_of("functional"), q.functional_roc_auc, "functional auc")
  h.eq(tonumber(out:match("\nfunctional: n=%d+ toxic=%d+ roc_auc=[%d.]+ f1@0.5=[%d.]+ ece10=[%d.]+ accuracy=([%d.]+)")),
    q.functional_accuracy, "functional accuracy")
  -- what the issue asks of v2, as far as this model reaches it (see docs/toxicity.md)
  assert(q.davidson_test_roc_auc >= 0.95, "davidson auc >= 0.95")
  assert(q.davidson_test_ece <= 0.05, "davidson ece <= 0.05")
  assert(q.implicit_hate_test_roc_auc >= 0.75, "implicit hate auc >= 0.75")
  assert(q.stormfront_roc_auc >= 0.80, "stormfront auc >= 0.80")
  -- and the docs quote the same numbers, per category too
  local doc = h.read(h.source_dir .. "/docs/toxicity.md")
  for _, k in ipairs { "davidson_test_roc_auc", "stormfront_roc_auc", "implicit_hate_test_roc_auc",
                       "dynahate_roc_auc", "functional_roc_auc", "functional_accuracy" } do
    assert(doc:find(string.format("%.4f", q[k]), 1, true), "docs: " .. k)
  end
  for cat, acc in out:gmatch("functional (%S+)%s+n=%d+ accuracy=([%d.]+)") do
    assert(doc:find("| " .. cat .. " | ", 1, true) and doc:find(acc, 1, true), "docs: functional " .. cat)
  end
end)

h.done()
