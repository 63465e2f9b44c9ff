-- evalua score: scores a ready CSV/JSONL/JSON file with no script (model =
-- none): prints the run metrics as JSON on stdout and writes the per-row
-- table to --out (.csv, .jsonl or .json).
local util = require "evalua.util"

local M = { summary = "score a file of ready outputs (no model): evalua score --data F --predictions COL" }

local USAGE = [[
usage: evalua score --data FILE --predictions COL [--targets COL] [--inputs COL]
                    [--model-type T] [--metrics a,b,...] [--out FILE] [--retriever-k K]
                    [--toxicity embedded|roberta|roberta:DIR_OR_MODEL_ID]
  --data         a CSV, JSONL or JSON file
  --predictions  the column holding the outputs to score
  --targets      the column holding the expected outputs
  --inputs       the column holding the inputs (mapped to 'inputs')
  --model-type   text | question-answering | text-summarization | retriever
  --metrics      metrics to compute besides the model type's defaults: built-in
                 names (token_count, toxicity, rouge1, precision_at_5, ...) or
                 metric packs (a name in metrics/ or a path to a .lua file)
  --out          write the per-row table (.csv, .jsonl or .json split orient)
  --retriever-k  k of the retriever metrics (default 3)
  --toxicity     the toxicity backend: embedded (default), roberta (MLflow's model,
                 pulled once with `evalua models pull
                 roberta-hate-speech-dynabench-r4-target`) or roberta:DIR_OR_ID
A column that is not in the file, or an unknown model type or metric, is an
error (exit 2).
examples:
  evalua score --data answers.csv --predictions answer --model-type text
  evalua score --data qa.jsonl --predictions answer --targets truth \
               --model-type question-answering --metrics rougeL --out scored.csv]]

-- JSON object of name -> number with sorted keys, one per line; numbers
-- exact (the shortest text that reads back), NaN and infinities as null.
function M.metrics_json(metrics)
  local json = require "evalua.json"
  local keys = {}
  for k in pairs(metrics) do keys[#keys + 1] = k end
  table.sort(keys)
  local lines = {}
  for _, k in ipairs(keys) do
    lines[#lines + 1] = "  " .. json.encode(k) .. ": " .. json.encode(metrics[k], { strict = true })
  end
  if #lines == 0 then return "{}" end
  return "{\n" .. table.concat(lines, ",\n") .. "\n}"
end

-- A metric from a --metrics name: precision_at_5 style, a built-in, or a pack.
local function metric_by_name(name)
  local metrics = require "evalua.metrics"
  local kind, k = name:match("^(%a+_at)_(%d+)$")
  if kind then
    local ctor, err = metrics.builtin(kind .. "_k")
    if not ctor then util.usage("score: " .. err) end
    return ctor({ k = tonumber(k) })
  end
  local ctor = metrics.builtin(name)
  if ctor then return ctor({}) end
  local ok, m = pcall(metrics.load, name)
  if not ok then util.usage("score: unknown metric '" .. name .. "': " .. tostring(type(m) == "table" and m.msg or m)) end
  return m
end

function M.main(args)
  if util.help(args, USAGE) then return 0 end
  local opts, pos = util.parse_args("score", args, {
    ["--data"] = "value", ["--predictions"] = "value", ["--targets"] = "value",
    ["--inputs"] = "value", ["--model-type"] = "value", ["--metrics"] = "value",
    ["--out"] = "value", ["--retriever-k"] = "value", ["--help"] = "flag", ["-h"] = "flag",
    ["--toxicity"] = "value",
  })
  if opts.toxicity then
    local b, p = opts.toxicity:match("^(%a+):(.+)$")
    b = b or opts.toxicity
    if b ~= "embedded" and b ~= "roberta" then
      util.usage("score: --toxicity must be embedded, roberta or roberta:DIR_OR_MODEL_ID")
    end
    require("evalua.hfmodels").toxicity_override = { backend = b, path = p }
  end
  if opts.help or opts.h then print(USAGE) return 0 end
  if #pos > 0 then util.usage("score: unexpected argument '" .. pos[1] .. "'") end
  if not opts.data then util.usage("score: --data is required") end
  if not opts.predictions then util.usage("score: --predictions is required") end
  local f = io.open(opts.data, "rb")
  if not f then util.usage("score: cannot open '" .. opts.data .. "'") end
  f:close()
  local defaults_by_type = require("evalua.evaluate").DEFAULT_METRICS
  if opts.model_type and not defaults_by_type[opts.model_type] then
    local known = {}
    for k in pairs(defaults_by_type) do known[#known + 1] = k end
    table.sort(known)
    util.usage(string.format("score: unknown --model-type '%s' (known: %s)", opts.model_type, table.concat(known, ", ")))
  end
  local extra, seen = {}, {}
  if opts.metrics then
    for name in opts.metrics:gmatch("[^,%s]+") do
      if not seen[name] then
        seen[name] = true
        local m = metric_by_name(name)
        if type(m) == "table" and not require("evalua.metrics").is_metric(m) then
          for _, x in ipairs(m) do extra[#extra + 1] = x end
        else
          extra[#extra + 1] = m
        end
      end
    end
  end
  if not opts.model_type and #extra == 0 then
    util.usage("score: give --model-type or --metrics")
  end
  local ec = { col_mapping = {} }
  if opts.inputs then ec.col_mapping.inputs = opts.inputs end
  if opts.retriever_k then
    ec.retriever_k = math.tointeger(tonumber(opts.retriever_k))
    if not ec.retriever_k then util.usage("score: --retriever-k needs an integer") end
  end
  -- built-in defaults already chosen by --model-type are not added twice
  if opts.model_type then
    local k = ec.retriever_k or 3
    local defaults = {}
    for _, d in ipairs(require("evalua.evaluate").DEFAULT_METRICS[opts.model_type] or {}) do
      defaults[(d:gsub("_at_k$", "_at_" .. k))] = true
    end
    local keep = {}
    for _, m in ipairs(extra) do
      if not defaults[m.name] then keep[#keep + 1] = m end
    end
    extra = keep
  end
  local ok_read, data = pcall(require("evalua.table").read, opts.data)
  if not ok_read then util.usage("score: " .. tostring(data):gsub("^.-%.lua:%d+: ", "")) end
  -- every column named on the command line must be in the file
  local have = {}
  for _, c in ipairs(data:columns()) do have[c] = true end
  for _, flag in ipairs { "predictions", "targets", "inputs" } do
    local col = opts[flag]
    if col and not have[col] then
      util.usage(string.format("score: --%s: no column '%s' in %s (columns: %s)", flag, col, opts.data,
        table.concat(data:columns(), ", ")))
    end
  end
  local results = require("evalua.evaluate").evaluate{
    data = data, predictions = opts.predictions, targets = opts.targets,
    model_type = opts.model_type, extra_metrics = extra, evaluator_config = ec,
  }
  print(M.metrics_json(results.metrics))
  if opts.out then
    local t = results.tables.eval_results_table
    if opts.out:match("%.jsonl$") then t:write_jsonl(opts.out)
    elseif opts.out:match("%.json$") then t:write_json(opts.out, { orient = "split" })
    else t:write_csv(opts.out) end
  end
  return 0
end

return M
