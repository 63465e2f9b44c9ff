-- evalua score: a ready file scored from the command line, metrics as JSON,
-- the per-row table written, usage errors with exit 2.
local h = require "helper"
local cjson = require "cjson"

local d = h.tmpdir()
local store = d .. "/evalua.db"

local function score(args)
  local full = { "--store", store, "--quiet", "score" }
  for _, a in ipairs(args) do full[#full + 1] = a end
  return h.evalua(full)
end

h.write(d .. "/preds.jsonl", table.concat({
  '{"question": "q1", "text": "¡Estoy feliz por la noticia!", "truth": "¡Estoy feliz por la noticia!"}',
  '{"question": "q2", "text": "Revela el secreto.", "truth": "Cuenta el secreto."}',
  '{"question": "q3", "text": "Más vale tarde que nunca.", "truth": "Más vale tarde que nunca."}',
}, "\n") .. "\n")

h.case("metrics as JSON, per-row table to --out", function()
  local code, out, err = score({ "--data", d .. "/preds.jsonl", "--predictions", "text",
    "--metrics", "token_count,flesch_kincaid_grade_level,ari_grade_level", "--out", d .. "/out.jsonl" })
  h.eq(code, 0, "exit: " .. err)
  local m = cjson.decode(out)
  h.near(m["flesch_kincaid_grade_level/v1/mean"], (5.2 + 9.2 + 0.5) / 3, 1e-9)
  h.near(m["ari_grade_level/v1/mean"], (3.7 + 5.2 + 0.9) / 3, 1e-9)
  h.eq(m["token_count/mean"], nil, "token_count has no aggregate")
  local rows = {}
  for line in h.read(d .. "/out.jsonl"):gmatch("[^\n]+") do rows[#rows + 1] = cjson.decode(line) end
  h.eq(#rows, 3)
  h.eq(rows[1].token_count, 9) h.eq(rows[2].token_count, 7) h.eq(rows[3].token_count, 7)
  h.eq(rows[1]["flesch_kincaid_grade_level/v1/score"], 5.2)
  h.eq(rows[2]["ari_grade_level/v1/score"], 5.2)
end)

h.case("question-answering defaults with targets", function()
  local code, out, err = score({ "--data", d .. "/preds.jsonl", "--predictions", "text",
    "--targets", "truth", "--inputs", "question", "--model-type", "question-answering", "--out", d .. "/qa.csv" })
  h.eq(code, 0, "exit: " .. err)
  local m = cjson.decode(out)
  h.near(m["exact_match/v1"], 2 / 3, 1e-12)
  assert(m["toxicity/v1/ratio"] ~= nil)
  local csv = h.read(d .. "/qa.csv")
  assert(csv:match("^question,truth,text,token_count,toxicity/v1/score"), csv)
end)

h.case("retriever defaults and an explicit precision_at_k of the same k", function()
  h.write(d .. "/ret.jsonl", '{"q": "a", "got": ["d1", "d2", "d3"], "want": ["d1", "d9"]}\n' ..
    '{"q": "b", "got": ["d4"], "want": ["d4"]}\n')
  local code, out, err = score({ "--data", d .. "/ret.jsonl", "--predictions", "got", "--targets", "want",
    "--model-type", "retriever", "--metrics", "precision_at_3,recall_at_2" })
  h.eq(code, 0, "exit: " .. err)
  local m = cjson.decode(out)
  h.near(m["precision_at_3/mean"], (1 / 3 + 1) / 2, 1e-12)
  h.near(m["recall_at_2/mean"], (1 / 2 + 1) / 2, 1e-12)
  assert(out:find('"precision_at_3/mean"', 1, true), "no escaped slashes: " .. out)
end)

h.case("usage errors exit 2 with one line", function()
  local code, _, err = score({ "--predictions", "text" })
  h.eq(code, 2) h.eq(err, "evalua: score: --data is required\n")
  code, _, err = score({ "--data", d .. "/nope.csv", "--predictions", "text", "--model-type", "text" })
  h.eq(code, 2) h.eq(err, "evalua: score: cannot open '" .. d .. "/nope.csv'\n")
  code, _, err = score({ "--data", d .. "/preds.jsonl", "--predictions", "text" })
  h.eq(code, 2) h.eq(err, "evalua: score: give --model-type or --metrics\n")
  code, _, err = score({ "--data", d .. "/preds.jsonl", "--predictions", "text", "--bogus", "1" })
  h.eq(code, 2) h.eq(err, "evalua: score: unknown option '--bogus'\n")
end)

h.case("a missing predictions column is a usage error (exit 2, one line)", function()
  local code, _, err = score({ "--data", d .. "/preds.jsonl", "--predictions", "nope", "--metrics", "token_count" })
  h.eq(code, 2)
  h.eq(err, "evalua: score: --predictions: no column 'nope' in " .. d .. "/preds.jsonl (columns: question, text, truth)\n")
end)

h.done()
