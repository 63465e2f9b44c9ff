-- evalua side of the text benchmark: each metric over the whole column, as
-- evaluate calls it (one C call per column for readability and ROUGE).
-- Prints one line per metric: name, texts/s, sum of scores (a checksum that
-- run.sh compares with the Python reference).
local metrics = require "evalua.metrics"
local core = require "evalua.core"
local cjson = require "cjson"
local dir = arg[1]

local function read(path, json)
  local col, n = {}, 0
  for l in io.lines(path) do
    n = n + 1
    if json then col[n] = cjson.decode(l)
    else col[n] = l:gsub("\\(.)", { n = "\n", ["\\"] = "\\" }) end
  end
  col.n = n
  return col
end

local preds, targets = read(dir .. "/preds.txt"), read(dir .. "/targets.txt")
local retrieved, relevant = read(dir .. "/retrieved.jsonl", true), read(dir .. "/relevant.jsonl", true)

local function run(label, m, args)
  collectgarbage()
  local t0 = core.clock()
  local mv = m(args)
  local dt = core.clock() - t0
  local sum = 0
  if mv.scores then
    for i = 1, mv.scores.n do sum = sum + (mv.scores[i] or 0) end
  else
    sum = mv.aggregate_results[m.name]
  end
  print(string.format("%s %.0f %.10g", label, args.predictions.n / dt, sum))
end

local text_args = { predictions = preds }
local pair_args = { predictions = preds, targets = targets }
run("flesch_kincaid_grade_level", metrics.flesch_kincaid_grade_level(), text_args)
run("ari_grade_level", metrics.ari_grade_level(), text_args)
run("rouge1", metrics.rouge1(), pair_args)
run("rouge2", metrics.rouge2(), pair_args)
run("rougeL", metrics.rougeL(), pair_args)
run("rougeLsum", metrics.rougeLsum(), pair_args)
run("rougeL+stemmer", metrics.rougeL{ use_stemmer = true }, pair_args)
run("exact_match", metrics.exact_match(), pair_args)
local ret_args = { predictions = retrieved, targets = relevant }
run("precision_at_3", metrics.precision_at_k{ k = 3 }, ret_args)
run("recall_at_3", metrics.recall_at_k{ k = 3 }, ret_args)
run("ndcg_at_3", metrics.ndcg_at_k{ k = 3 }, ret_args)
