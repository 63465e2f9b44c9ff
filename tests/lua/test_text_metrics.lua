-- test_text_metrics: evalua.text's Lua API and the built-in text metrics
-- (readability, ROUGE, exact match, retrieval) as evaluate runs them.
local h = require "helper"
local text = require "evalua.text"
local metrics = require "evalua.metrics"
local cjson = require "cjson"

local src = h.source_dir
-- keep the run store of these tests out of the tree
require("evalua.config").store_path = h.tmpdir() .. "/evalua.db"
local function lines(path)
  local out = {}
  for l in io.lines(src .. "/" .. path) do out[#out + 1] = l end
  return out
end

h.case("flesch_kincaid and ari reproduce the seed's table", function()
  local col = { "¡Estoy feliz por la noticia!", "Revela el secreto.", "Morder la bala.",
    "Más vale tarde que nunca.", n = 4 }
  local fk, skipped = text.flesch_kincaid(col)
  h.same(skipped, {})
  h.eq(fk.n, 4, "n")
  for i, want in ipairs({ 5.2, 9.2, -2.7, 0.5 }) do h.near(fk[i], want, 1e-12, "fk " .. i) end
  local ari = text.ari(col)
  for i, want in ipairs({ 3.7, 5.2, 0.5, 0.9 }) do h.near(ari[i], want, 1e-12, "ari " .. i) end
end)

h.case("column functions: nil holes and non-strings score nil and are listed", function()
  local fk, skipped = text.flesch_kincaid({ "One two three.", nil, 42, "", true, n = 6 })
  h.eq(fk.n, 6, "n")
  h.near(fk[1], -2.7, 1e-12, "row 1")
  h.eq(fk[2], nil, "hole")
  h.eq(fk[3], nil, "number")
  h.near(fk[4], -15.7, 1e-12, "empty text")
  h.eq(fk[6], nil, "past the values")
  h.same(skipped, { 2, 3, 5, 6 })
  local ari = text.ari({ "", "!!!", n = 2 })
  h.eq(ari[1], 0.0, "ari of no words")
  h.eq(ari[2], 0.0, "ari of punctuation only")
  -- without field n the length is #t
  h.eq(text.ari({ "a b c." }).n, 1, "#t")
end)

h.case("textstat 0.7.3 vectors, rounded and unrounded", function()
  local rows = lines("tests/data/text/textstat.jsonl")
  local col, want = { n = #rows }, {}
  for i, l in ipairs(rows) do
    want[i] = cjson.decode(l)
    col[i] = want[i].text
  end
  local fk, ari = text.flesch_kincaid(col), text.ari(col)
  local fkr, arir = text.flesch_kincaid(col, { rounding = false }), text.ari(col, { rounding = false })
  for i = 1, #rows do
    h.eq(fk[i], want[i].fk, "fk row " .. i)
    h.eq(ari[i], want[i].ari, "ari row " .. i)
    h.near(fkr[i], want[i].fk_raw, 1e-9, "fk_raw row " .. i)
    h.near(arir[i], want[i].ari_raw, 1e-9, "ari_raw row " .. i)
    local c = text.counts(want[i].text)
    h.eq(c.syllables, want[i].syllables, "syllables row " .. i)
    h.eq(c.sentences, want[i].sentences, "sentences row " .. i)
  end
end)

h.case("hyphenate and counts", function()
  local s, pos = text.hyphenate("supercalifragilistic")
  h.eq(s, "su-per-cal-ifrag-ilis-tic")
  h.same(pos, { 2, 5, 8, 13, 17 })
  h.eq((text.hyphenate("secreto", "·")), "se·cre·to")
  h.eq((text.hyphenate("résumé")), "ré-sumé")
  h.eq((text.hyphenate("İstanbul")), "İst-anb-ul")
  h.eq((text.hyphenate("")), "")
  -- more than 64 points takes the heap path
  local long = string.rep("hyphenation", 30)
  local hy, lp = text.hyphenate(long)
  h.eq(#lp > 64, true, "points in a long word: " .. #lp)
  h.eq(select(2, hy:gsub("-", "")), #lp, "one hyphen per point")
  h.eq((hy:gsub("-", "")), long, "the word is kept")
  h.same(text.counts("Don't stop-me now."), { chars = 16, words = 3, sentences = 1, syllables = 3 })
  h.near(text.legacy_round(-2.62, 1), -2.7, 1e-12)
  h.eq(type(text.unicode_version), "string")
end)

h.case("rouge: columns, rouge_score, tokens, porter", function()
  local preds = { "Estoy muy feliz por la noticia.", "testing one", 5, n = 3 }
  local tgts = { "¡Estoy feliz por la noticia!", "testing one two", "x", n = 3 }
  local r1, skipped = text.rouge(preds, tgts, "rouge1")
  h.near(r1[1], 0.909091, 1e-6)
  h.near(r1[2], 0.8, 1e-12)
  h.eq(r1[3], nil)
  h.same(skipped, { 3 })
  local p = text.rouge(preds, tgts, "rouge2", { measure = "precision" })
  h.near(p[2], 1, 1e-12)
  local s = text.rouge_score("w1 w2 w3 w4 w5", "w1 w2 w6 w7 w8\nw1 w3 w8 w9 w5", "rougeLsum")
  h.near(s.precision, 0.4, 1e-12)
  h.near(s.recall, 0.8, 1e-12)
  h.same(text.rouge_tokens("Running FASTER, I'm told", true), { "run", "faster", "i", "m", "told" })
  h.eq(text.porter("generalization"), "gener")
  h.eq(text.porter("skies"), "sky")
  h.raises("text.rouge: invalid rouge type 'rougeX'", text.rouge, preds, tgts, "rougeX")
  h.raises("text.rouge: predictions has 3 rows, targets has 1", text.rouge, preds, { "a" }, "rouge1")
  h.raises("text.rouge_score: invalid rouge type 'rouge0'", text.rouge_score, "a", "b", "rouge0")
  h.raises("text.porter: word must be lower-case ASCII", text.porter, "Running")
  h.raises("flesch_kincaid' (table expected, got string)", text.flesch_kincaid, "text")
  h.raises("bad argument #2 to 'evalua.text.ari' (table expected, got boolean)", text.ari, { "a" }, true)
  h.raises("bad argument #4 to 'evalua.text.rouge' (table expected, got string)", text.rouge, preds, tgts, "rouge1", "x")
end)

h.case("rouge: a pair past the LCS cap is nil with a reason, the others score", function()
  local long = string.rep("w ", 17000)
  local sc, skipped, errors = text.rouge({ long, "a b", n = 2 }, { long, "a b", n = 2 }, "rougeL")
  h.eq(sc[1], nil)
  h.eq(sc[2], 1.0)
  h.same(skipped, {})
  h.same(errors, { [1] = "rougeL: texts too long (17000 x 17000 tokens)" })
  local _, _, none = text.rouge({ "a", n = 1 }, { "a", n = 1 }, "rougeL")
  h.eq(none, nil)
  local mv = metrics.rougeL(){ predictions = { long, "a b", n = 2 }, targets = { long, "a b", n = 2 } }
  h.eq(mv.scores[2], 1.0)
  h.eq(mv.warnings[1], "row 1 could not be scored: rougeL: texts too long (17000 x 17000 tokens); scored nil")
end)

h.case("invalid UTF-8 is read safely", function()
  local bad = { "\xff\xfe abc", "abc\xe2\x84", "\xc0\xaf\xed\xa0\x80 x", n = 3 }
  local fk, skipped = text.flesch_kincaid(bad)
  h.same(skipped, {})
  for i = 1, 3 do h.eq(type(fk[i]), "number", "row " .. i) end
  local r = text.rouge(bad, { "abc", "abc", "x", n = 3 }, "rougeLsum")
  h.near(r[1], 1, 1e-12)
  h.near(r[3], 1, 1e-12)
  h.eq((text.hyphenate("hy\xffphenation")):gsub("-", ""), "hy\xffphenation")
end)

h.case("metric objects: MLflow names, versions and aggregates", function()
  local expect = {
    { metrics.flesch_kincaid_grade_level(), "flesch_kincaid_grade_level/v1", false },
    { metrics.ari_grade_level(), "ari_grade_level/v1", false },
    { metrics.rouge1(), "rouge1/v1", true }, { metrics.rouge2(), "rouge2/v1", true },
    { metrics.rougeL(), "rougeL/v1", true }, { metrics.rougeLsum(), "rougeLsum/v1", true },
    { metrics.precision_at_k(), "precision_at_3", true },
    { metrics.recall_at_k{ k = 5 }, "recall_at_5", true },
    { metrics.ndcg_at_k{ k = 1 }, "ndcg_at_1", true },
  }
  for _, e in ipairs(expect) do
    local m = e[1]
    h.eq(m.key, e[2], "key")
    h.eq(m.score_column, e[2] .. "/score", "score column")
    h.eq(m.greater_is_better, e[3], e[2] .. " greater_is_better")
    h.same(m.aggregations, { "mean", "variance", "p90" })
  end
  h.eq(metrics.ari_grade_level().long_name, "automated_readability_index_grade_level")
  local em = metrics.exact_match()
  h.eq(em.key, "exact_match/v1")
  h.same(em.aggregations, {})
  h.raises("rouge1: unknown option 'stemmer' (known: use_stemmer)", metrics.rouge1, { stemmer = true })
  h.raises("precision_at_k: k must be a positive integer, got 0", metrics.precision_at_k, { k = 0 })
  h.raises("ndcg_at_k: k must be a positive integer, got 2.5", metrics.ndcg_at_k, { k = 2.5 })
  h.raises("flesch_kincaid_grade_level: option 'rounding' must be a boolean",
    metrics.flesch_kincaid_grade_level, { rounding = "no" })
end)

h.case("readability and rouge metrics report non-string rows as warnings", function()
  local fk = metrics.flesch_kincaid_grade_level()
  local r = fk{ predictions = { "¡Estoy feliz por la noticia!", 7, "Revela el secreto.", n = 3 } }
  h.near(r.scores[1], 5.2, 1e-12)
  h.eq(r.scores[2], nil)
  h.eq(r.warnings[1], "1 of 3 rows have a prediction that is not a string (row 2); scored nil")
  local raw = metrics.ari_grade_level{ rounding = false }{ predictions = { "Revela el secreto.", n = 1 } }
  h.near(raw.scores[1], 5.19, 1e-9)
  local rl = metrics.rougeL{ use_stemmer = true }
  local r2 = rl{ predictions = { "the cats are running", false, n = 2 }, targets = { "a cat runs", "x", n = 2 } }
  -- stemmed: the cat are run / a cat run: LCS "cat run"
  h.near(r2.scores[1], 2 * (2 / 4) * (2 / 3) / (2 / 4 + 2 / 3), 1e-12)
  h.eq(r2.scores[2], nil)
  h.eq(r2.warnings[1], "1 of 2 rows have a prediction or target that is not a string (row 2); scored nil")
  -- without stemming "cats"/"cat" differ
  local r3 = metrics.rougeL(){ predictions = { "the cats are running", n = 1 }, targets = { "a cat runs", n = 1 } }
  h.eq(r3.scores[1], 0.0)
end)

h.case("exact_match: one aggregate, case and whitespace sensitive", function()
  local em = metrics.exact_match()
  local r = em{ predictions = { "Paris", "paris", "Rome ", "Oslo", n = 4 }, targets = { "Paris", "Paris", "Rome", "Oslo", n = 4 } }
  h.eq(r.scores, nil)
  h.eq(r.aggregate_results.exact_match, 0.5)
end)

h.case("retrieval metrics match MLflow's definitions (sklearn ndcg)", function()
  local f = assert(io.open(src .. "/tests/data/text/retrieval.json"))
  local rows = cjson.decode(f:read("a"))
  f:close()
  local byk = {}
  for _, r in ipairs(rows) do
    byk[r.k] = byk[r.k] or {}
    table.insert(byk[r.k], r)
  end
  local checked = 0
  for k, rs in pairs(byk) do
    local preds, tgts = { n = #rs }, { n = #rs }
    for i, r in ipairs(rs) do preds[i], tgts[i] = r.pred, r.tgt end
    for _, kind in ipairs({ "precision", "recall", "ndcg" }) do
      local m = metrics[kind .. "_at_k"]{ k = k }
      local mv = m{ predictions = preds, targets = tgts }
      h.eq(mv.warnings, nil, "warnings")
      for i, r in ipairs(rs) do
        h.near(mv.scores[i], r[kind], 1e-6, string.format("%s_at_%d row %s/%s", kind, k,
          cjson.encode(r.pred), cjson.encode(r.tgt)))
        checked = checked + 1
      end
    end
  end
  h.eq(checked > 1000, true, "vectors checked")
end)

h.case("retrieval edge cases and invalid rows", function()
  local p = metrics.precision_at_k{ k = 3 }
  local mv = p{ predictions = { {}, { "a", "a", "b" }, '["a","b"]', "a", { "a", {} }, n = 5 },
    targets = { {}, { "a" }, { "b" }, { "a" }, { "a" }, n = 5 } }
  h.eq(mv.scores[1], 0, "nothing retrieved")
  h.near(mv.scores[2], 2 / 3, 1e-12, "duplicates count")
  h.near(mv.scores[3], 0.5, 1e-12, "JSON list text")
  h.eq(mv.scores[4], nil, "plain string")
  h.eq(mv.scores[5], nil, "nested table")
  h.eq(mv.warnings[1], "2 of 5 rows are not lists of document ids (rows 4, 5; row 4: prediction is a string, not a list); scored nil")
  local r = metrics.recall_at_k{ k = 2 }{ predictions = { {}, { "x" }, { "a", "b", "c" }, n = 3 },
    targets = { {}, {}, { "c" }, n = 3 } }
  h.same({ r.scores[1], r.scores[2], r.scores[3] }, { 1, 0, 0.0 })
  local n = metrics.ndcg_at_k{ k = 3 }{ predictions = { {}, {}, { "a" }, n = 3 }, targets = { {}, { "a" }, {}, n = 3 } }
  h.same({ n.scores[1], n.scores[2], n.scores[3] }, { 1, 0, 0 })
  -- long lists (set paths): 71 targets with one repeat, 4 of 5 retrieved ranked
  local tgt = {}
  for i = 1, 70 do tgt[i] = "d" .. i end
  tgt[71] = "d1"
  local pred = { "d5", "x", "d5", "d70", "d2" }
  local args = { predictions = { pred, n = 1 }, targets = { tgt, n = 1 } }
  h.near(metrics.precision_at_k{ k = 4 }(args).scores[1], 3 / 4, 1e-12, "long precision")
  h.near(metrics.recall_at_k{ k = 4 }(args).scores[1], 2 / 70, 1e-12, "long recall")
  local l2 = function(x) return math.log(x) / math.log(2) end
  local dcg = 1 + 1 / l2(4) + 1 / l2(5)
  local idcg = 1 + 1 / l2(3) + 1 / l2(4) + 1 / l2(5)
  h.near(metrics.ndcg_at_k{ k = 4 }(args).scores[1], dcg / idcg, 1e-12, "long ndcg")
end)

h.case("evaluate logs MLflow's names for the text metrics", function()
  local evalua = require "evalua"
  local t = evalua.table.from{
    output = { "The cat sat on the mat.", "A dog.", "Hello there world, how are you?" },
    ref = { "The cat sat on a mat.", "A dog.", "Hi world" } }
  local res = evalua.evaluate{ data = t, predictions = "output", targets = "ref",
    extra_metrics = { metrics.rouge1(), metrics.rougeLsum(), metrics.exact_match(),
      metrics.flesch_kincaid_grade_level(), metrics.ari_grade_level() } }
  local want_rouge1 = text.rouge(t:column("output"), t:column("ref"), "rouge1")
  local mean = (want_rouge1[1] + want_rouge1[2] + want_rouge1[3]) / 3
  h.near(res.metrics["rouge1/v1/mean"], mean, 1e-12, "rouge1 mean")
  h.near(res.metrics["exact_match/v1"], 1 / 3, 1e-12, "exact_match")
  h.eq(type(res.metrics["flesch_kincaid_grade_level/v1/p90"]), "number")
  h.eq(type(res.metrics["ari_grade_level/v1/variance"]), "number")
  local cols = {}
  for _, c in ipairs(res.tables.eval_results_table:columns()) do cols[c] = true end
  for _, c in ipairs({ "rouge1/v1/score", "rougeLsum/v1/score", "flesch_kincaid_grade_level/v1/score",
    "ari_grade_level/v1/score" }) do
    h.eq(cols[c], true, "column " .. c)
  end
  h.eq(cols["exact_match/v1/score"], nil, "exact_match has no per-row column")
end)

h.case("evaluate without targets skips rouge and exact_match with a warning", function()
  local evalua = require "evalua"
  local t = evalua.table.from{ output = { "The cat sat on the mat today.", "A dog." } }
  local res = evalua.evaluate{ data = t, predictions = "output",
    extra_metrics = { metrics.rouge1(), metrics.exact_match(), metrics.ari_grade_level() } }
  h.eq(res.metrics["rouge1/v1/mean"], nil, "no rouge1")
  h.eq(res.metrics["exact_match/v1"], nil, "no exact_match")
  h.eq(type(res.metrics["ari_grade_level/v1/mean"]), "number", "ari still runs")
  local text = table.concat(res.warnings, " | ")
  h.eq(text:find("rouge1", 1, true) ~= nil, true, "a rouge1 warning in: " .. text)
  h.eq(text:find("exact_match", 1, true) ~= nil, true, "an exact_match warning in: " .. text)
end)

h.case("evaluate: a non-string row scores nil and warns, the rest still count", function()
  local evalua = require "evalua"
  local d = h.tmpdir()
  h.write(d .. "/data.jsonl", '{"out": "Revela el secreto.", "ref": "Revela el secreto."}\n' ..
    '{"out": 5, "ref": "x"}\n{"out": "Más vale tarde que nunca.", "ref": "Mas vale"}\n')
  local res = evalua.evaluate{ data = evalua.table.read_jsonl(d .. "/data.jsonl"),
    predictions = "out", targets = "ref",
    extra_metrics = { metrics.rouge1(), metrics.flesch_kincaid_grade_level() } }
  h.near(res.metrics["flesch_kincaid_grade_level/v1/mean"], (9.2 + 0.5) / 2, 1e-12, "fk mean of 2 rows")
  local found = {}
  for _, w in ipairs(res.warnings) do found[w] = true end
  h.eq(found["rouge1: 1 of 3 rows have a prediction or target that is not a string (row 2); scored nil"], true,
    "rouge1 warning in " .. table.concat(res.warnings, " | "))
  h.eq(found["flesch_kincaid_grade_level: 1 of 3 rows have a prediction that is not a string (row 2); scored nil"],
    true, "fk warning")
end)

h.case("evalua score writes the readability and rouge columns", function()
  local d = h.tmpdir()
  h.write(d .. "/in.jsonl", '{"text": "¡Estoy feliz por la noticia!", "ref": "Estoy muy feliz por la noticia."}\n' ..
    '{"text": "Revela el secreto.", "ref": "Revela el secreto."}\n')
  local code, out, err = h.evalua({ "--store", d .. "/s.db", "score", "--data", d .. "/in.jsonl",
    "--predictions", "text", "--targets", "ref",
    "--metrics", "flesch_kincaid_grade_level,ari_grade_level,rouge1,exact_match", "--out", d .. "/out.jsonl" })
  h.eq(code, 0, "exit code (stderr: " .. err .. ")")
  local m = cjson.decode(out)
  h.near(m["flesch_kincaid_grade_level/v1/mean"], (5.2 + 9.2) / 2, 1e-12, "fk mean")
  h.near(m["exact_match/v1"], 0.5, 1e-12, "exact_match")
  local rows = {}
  for l in io.lines(d .. "/out.jsonl") do rows[#rows + 1] = cjson.decode(l) end
  h.eq(#rows, 2, "rows")
  h.eq(rows[1]["flesch_kincaid_grade_level/v1/score"], 5.2)
  h.eq(rows[1]["ari_grade_level/v1/score"], 3.7)
  h.eq(rows[2]["rouge1/v1/score"], 1.0)
end)

h.done()
