-- evalua.evaluate: mlflow.evaluate in Lua, as short phases over the run
-- ledger (evalua.ledger):
--   bind     every option, column, metric parameter, the model's template
--            and the gates are checked before anything is sent (exit 2)
--   stream   one task per row: predict, then all of the row's judges at
--            once; every request shares the --concurrency pool; no barrier
--   score    whole-column metrics (and metrics reading other metrics)
--   assemble aggregates and the results table, from the ledger
--   log      params, metrics, table; failed rows against --max-failures
local metrics = require "evalua.metrics"
local compute = require "evalua.metrics.compute"
local config = require "evalua.config"
local ledger = require "evalua.ledger"
local util = require "evalua.util"

local M = {}

local API = "evaluate"
local describe_model, describe_judges, judge_hash

local DEFAULTS = {
  text = { "token_count", "toxicity", "flesch_kincaid_grade_level", "ari_grade_level" },
  ["question-answering"] = { "token_count", "toxicity", "flesch_kincaid_grade_level",
    "ari_grade_level", "exact_match" },
  ["text-summarization"] = { "token_count", "toxicity", "flesch_kincaid_grade_level",
    "ari_grade_level", "rouge1", "rouge2", "rougeL", "rougeLsum" },
  retriever = { "precision_at_k", "recall_at_k", "ndcg_at_k" },
}
M.DEFAULT_METRICS = DEFAULTS

-- A binding or usage error, found before anything is sent: exit status 2.
local usage_mt = { __tostring = function(e) return e.msg end }
local function fail(fmt, ...)
  error(setmetatable({ msg = API .. ": " .. string.format(fmt, ...), code = 2 }, usage_mt), 0)
end

-- An error of the run itself (the model misbehaved): exit status 1.
local function run_error(fmt, ...)
  error(API .. ": " .. string.format(fmt, ...), 0)
end

local function warn(results, msg)
  results.warnings[#results.warnings + 1] = msg
end

local function tbl() return require "evalua.table" end

local function is_table_handle(v)
  return type(v) == "userdata" and type(v.columns) == "function" or
    (type(v) == "table" and type(v.columns) == "function" and type(v.column) == "function")
end

-- data may be an evalua table, a path, or a Lua table of columns
local function load_data(data)
  if is_table_handle(data) then return data end
  if type(data) == "string" then return tbl().read(data) end
  if type(data) == "table" then return tbl().from(data) end
  fail("data must be an evalua table, a file path or a table of columns, got %s", type(data))
end

-- The default metric objects for a model_type; evaluator_config.retriever_k sets k.
local function default_metrics(model_type, evaluator_config)
  if model_type == nil then return {} end
  local names = DEFAULTS[model_type]
  if not names then
    local known = {}
    for k in pairs(DEFAULTS) do known[#known + 1] = k end
    table.sort(known)
    fail("unknown model_type '%s' (known: %s)", tostring(model_type), table.concat(known, ", "))
  end
  local out = {}
  for _, name in ipairs(names) do
    local ctor, err = metrics.builtin(name)
    if not ctor then
      fail("default metric '%s' of model_type '%s' is not available: %s", name, model_type, err)
    end
    local opts = {}
    if model_type == "retriever" then
      local k = evaluator_config.retriever_k or 3
      if math.type(k) ~= "integer" or k < 1 then
        fail("evaluator_config.retriever_k must be a positive integer, got %s", tostring(k))
      end
      opts = { k = k }
    end
    out[#out + 1] = ctor(opts)
  end
  return out
end

local function list_columns(t)
  return table.concat(t:columns(), ", ")
end

local function has_column(t, name)
  for _, c in ipairs(t:columns()) do if c == name then return true end end
  return false
end

-- Column list of a table column (a copy with field n).
local function column(t, name)
  local c = t:column(name)
  c.n = c.n or #t
  return c
end

-- Normalises what a model returned into a column list of n predictions.
local function predictions_from(out, n, predictions_name)
  if is_table_handle(out) then
    local cols = out:columns()
    local name = (predictions_name and has_column(out, predictions_name)) and predictions_name
      or (#cols == 1 and cols[1]) or nil
    if not name then
      run_error("the model returned a table with columns %s; name the prediction column with predictions = '...'",
        list_columns(out))
    end
    out = column(out, name)
  elseif type(out) == "string" and n == 1 then
    out = { out, n = 1 }
  end
  if type(out) ~= "table" then
    run_error("the model must return a list of %d predictions, got %s", n, type(out))
  end
  local m = out.n or #out
  if m ~= n then
    run_error("the model returned %d predictions for %d rows", m, n)
  end
  out.n = n
  return out
end

-- Calls the model over the inputs table: returns predictions, errors.
local function run_model(model, inputs, n, predictions_name, inference_params)
  local errs = {}
  local out, e2
  if type(model) == "function" then
    out, e2 = model(inputs)
  elseif type(model) == "string" then
    local resolved = require("evalua.models").resolve(model)
    out, e2 = resolved:predict(inputs, inference_params)
  elseif type(model) == "table" and type(model.predict) == "function" then
    out, e2 = model:predict(inputs)
  else
    run_error("model must be nil, a function, a model URI or a model object, got %s", type(model))
  end
  if type(e2) == "table" then errs = e2 end
  return predictions_from(out, n, predictions_name), errs
end

M._run_model = run_model -- for evalua.compare

local function missing_message(list, ctx)
  local parts = {}
  for _, item in ipairs(list) do
    local m, miss = item.metric, item.missing
    local needs = {}
    for _, x in ipairs(miss) do
      if x.targets then needs[#needs + 1] = "targets (pass targets = '<column>')"
      else needs[#needs + 1] = "'" .. x.column .. "'" end
    end
    parts[#parts + 1] = string.format("metric '%s' needs %s", m.name, table.concat(needs, ", "))
  end
  local hint = ""
  for _, item in ipairs(list) do
    for _, x in ipairs(item.missing) do
      if not x.targets then
        hint = string.format("; map one with evaluator_config = { col_mapping = { %s = '<column>' } }", x.param)
        break
      end
    end
    if hint ~= "" then break end
  end
  return string.format("%s; columns: %s%s", table.concat(parts, "; "), list_columns(ctx.data), hint)
end

-- What the model is, for the run's params (and so for matching a resumed
-- run): a URI, an adapter's model and a hash of its messages and
-- parameters, or a hash of a Lua function's code.
describe_model = function(model)
  local core = require "evalua.core"
  local tm = type(model)
  if tm == "nil" then return nil end
  if tm == "string" then return model end
  if tm == "function" then
    local ok, code = pcall(string.dump, model, true)
    return "function:" .. (ok and core.sha256(code):sub(1, 16) or "native")
  end
  if tm == "table" then
    local ok, j = pcall(function()
      return require("evalua.json").encode({ model.messages or {}, model.parameters or {} })
    end)
    return tostring(model.uri or model.model or "model") .. (ok and (":" .. core.sha256(j):sub(1, 16)) or "")
  end
  return tm
end

-- A short hash of what judges a row-by-row metric: its model and prompt.
judge_hash = function(m)
  local g = m.genai_metric_args or {}
  local model = type(g.model) == "string" and g.model or "function"
  local params = ""
  pcall(function() params = require("evalua.json").encode(g.parameters or {}) end)
  return require("evalua.core").sha256(model .. "\0" .. params .. "\0" .. (m.metric_details or "")):sub(1, 16)
end

-- Judge models and prompt templates of the metrics, as one string.
describe_judges = function(metric_list)
  local core = require "evalua.core"
  local parts = {}
  for _, m in ipairs(metric_list) do
    local g = m.genai_metric_args
    if g then
      local model = type(g.model) == "string" and g.model or "function"
      parts[#parts + 1] = m.key .. "=" .. model .. ":" .. core.sha256(m.metric_details or ""):sub(1, 12)
    end
  end
  if #parts == 0 then return nil end
  return table.concat(parts, ",")
end

local function check_options(opts)
  local allowed = {
    model = true, data = true, model_type = true, targets = true, predictions = true,
    evaluators = true, extra_metrics = true, evaluator_config = true, feature_names = true,
    inference_params = true, run_name = true, dataset_name = true, batch = true,
  }
  for k in pairs(opts) do
    if not allowed[k] then fail("unknown option '%s'", tostring(k)) end
  end
  if opts.evaluators ~= nil and opts.evaluators ~= "default" and
      not (type(opts.evaluators) == "table" and #opts.evaluators == 1 and opts.evaluators[1] == "default") then
    fail("unknown evaluators %s (only 'default' exists)", tostring(opts.evaluators))
  end
end


local function data_hash(t)
  local ok, h = pcall(function()
    if t.hash then return t:hash() end
    local parts = { table.concat(t:columns(), "\31") }
    local cjson = require "cjson"
    for _, c in ipairs(t:columns()) do
      local col = t:column(c)
      for i = 1, #t do
        local v = col[i]
        parts[#parts + 1] = type(v) == "table" and cjson.encode(v) or tostring(v)
      end
    end
    return require("evalua.core").sha256(table.concat(parts, "\30"))
  end)
  return ok and h or nil
end

-- ------------------------------------------------------------------ bind

-- What one metric parameter binds to: { kind = "const" | "predictions" |
-- "targets" | "column" | "output" | "config" | "metric" | "metrics" |
-- "absent", ... } ("output": a per-row value the run measures, latency).
-- MLflow's order: a non-string mapping is a constant; then predictions,
-- targets, "metrics", a data column, an evaluator_config key, another
-- metric's result. Returns the binding or nil, missing-entry.
local function bind_param(m, p, plan)
  local col = plan.col_mapping[p]
  if col == nil then col = p end
  if type(col) ~= "string" then return { kind = "const", value = col } end
  if col == "predictions" or col == plan.predictions_name then return { kind = "predictions" } end
  if col == "targets" or (plan.targets_name and col == plan.targets_name) then
    if plan.targets_name then return { kind = "targets" } end
    if m.optional[p] then return { kind = "absent" } end
    return nil, { param = p, targets = true }
  end
  if col == "metrics" then return { kind = "metrics" } end
  if has_column(plan.data, col) then return { kind = "column", name = col } end
  if plan.outputs[col] then return { kind = "output", name = col } end
  if plan.evaluator_config[col] ~= nil then return { kind = "config", value = plan.evaluator_config[col] } end
  if plan.by_name[col] then return { kind = "metric", name = col } end
  if m.optional[p] then return { kind = "absent" } end
  return nil, { param = p, column = col }
end

-- Binds every parameter of every metric; orders the metrics: `stream`
-- (row-by-row metrics that need only the row: judged as soon as the row's
-- prediction exists) and `after` (whole-column metrics and metrics that
-- read other metrics' results, in dependency order). Raises one error
-- listing every parameter that binds to nothing.
local function bind_metrics(plan)
  local missing = {}
  plan.bindings, plan.stream, plan.after = {}, {}, {}
  local deps = {}
  for _, m in ipairs(plan.all) do
    local b, miss, d = {}, {}, {}
    for _, p in ipairs(m.params) do
      local binding, why = bind_param(m, p, plan)
      if binding then
        b[p] = binding
        if binding.kind == "metric" then d[#d + 1] = binding.name end
        if binding.kind == "metrics" then d.all = true end
      else
        miss[#miss + 1] = why
      end
    end
    if #miss > 0 then missing[#missing + 1] = { metric = m, missing = miss } end
    plan.bindings[m] = b
    deps[m] = d
  end
  if #missing > 0 then fail("%s", missing_message(missing, plan)) end
  for _, m in ipairs(plan.all) do
    if m.score_row and #deps[m] == 0 and not deps[m].all then plan.stream[#plan.stream + 1] = m end
  end
  -- the rest in dependency order: a metric goes when the metrics it reads went
  local placed = {}
  for _, m in ipairs(plan.stream) do placed[m.name] = true end
  local remaining = {}
  for _, m in ipairs(plan.all) do if not placed[m.name] then remaining[#remaining + 1] = m end end
  while #remaining > 0 do
    local next_round, progressed = {}, false
    for _, m in ipairs(remaining) do
      local ready = true
      for _, name in ipairs(deps[m]) do if not placed[name] then ready = false end end
      if deps[m].all then -- reads every other metric: goes after all of them
        for _, other in ipairs(remaining) do if other ~= m and not deps[other].all then ready = false end end
      end
      if ready then
        plan.after[#plan.after + 1] = m
        placed[m.name] = true
        progressed = true
      else
        next_round[#next_round + 1] = m
      end
    end
    if not progressed then
      local names = {}
      for _, m in ipairs(next_round) do names[#names + 1] = m.name end
      fail("metrics depend on each other in a cycle: %s", table.concat(names, ", "))
    end
    remaining = next_round
  end
end

-- Checks the gate arguments of the command line before anything is sent.
local function bind_gates()
  if config.dry_run or config.no_store then return end
  local ref = config.fail_on_regression
  if ref then
    local id, err = require("evalua.tracking").resolve(ref)
    if not id then fail("--fail-on-regression %s: %s", tostring(ref), tostring(err)) end
  end
end

-- The model's kind: "none" (a predictions column), "rows" (an adapter model
-- or URI: predicted row by row inside the pipeline) or "function" (a Lua
-- function over the whole inputs table). For "rows", the row predictor is
-- made here, so a template placeholder naming no column fails before any
-- request.
local function bind_model(plan, opts)
  local model = opts.model
  if model == nil then plan.model_kind = "none" return end
  local tm = type(model)
  if tm == "function" then plan.model_kind = "function" return end
  if tm ~= "string" and not (tm == "table" and type(model.predict) == "function") then
    fail("model must be nil, a function, a model URI or a model object, got %s", tm)
  end
  local obj = model
  if tm == "string" then
    local ok, r = pcall(require("evalua.models").resolve, model)
    if not ok then fail("%s", tostring(type(r) == "table" and r.msg or r)) end
    obj = r
  end
  if type(obj.row_predictor) ~= "function" then plan.model_kind = "function" return end
  plan.inputs = plan.data:select(plan.features)
  local ok, n, predict_row = pcall(obj.row_predictor, obj, plan.inputs, opts.inference_params)
  if not ok then fail("%s", tostring(type(n) == "table" and n.msg or n):gsub("^evaluate: ", "")) end
  if n ~= plan.n then fail("the model sees %d rows of %d", n, plan.n) end
  plan.model_kind, plan.predict_row = "rows", predict_row
end

-- Every check that can fail before spending: options, data, columns,
-- metrics and their parameters, the model's template, the gates.
-- Returns the plan the other phases run.
local function bind(opts)
  if type(opts) ~= "table" then fail("expected a table of options, got %s", type(opts)) end
  check_options(opts)
  local evaluator_config = opts.evaluator_config or {}
  if type(evaluator_config) ~= "table" then fail("evaluator_config must be a table") end
  local col_mapping = evaluator_config.col_mapping or {}
  if type(col_mapping) ~= "table" then fail("evaluator_config.col_mapping must be a table") end
  local data = load_data(opts.data)
  local n = #data
  local targets_name = opts.targets
  if targets_name ~= nil then
    if type(targets_name) ~= "string" then fail("targets must be a column name") end
    targets_name = col_mapping[targets_name] or targets_name
    if not has_column(data, targets_name) then
      fail("targets column '%s' not found; columns: %s", targets_name, list_columns(data))
    end
  end
  local predictions_name = opts.predictions
  if predictions_name ~= nil then
    if type(predictions_name) ~= "string" then fail("predictions must be a column name") end
    predictions_name = col_mapping[predictions_name] or predictions_name
  end
  local extra = opts.extra_metrics or {}
  if type(extra) ~= "table" or metrics.is_metric(extra) then
    fail("extra_metrics must be a list of metrics")
  end
  for i, m in ipairs(extra) do
    if not metrics.is_metric(m) then
      fail("extra_metrics[%d] is a %s, not a metric (make one with make_metric or make_genai_metric)", i, type(m))
    end
  end
  local model_type = opts.model_type
  if model_type == nil and #extra == 0 then
    fail("no metrics to compute: give model_type or extra_metrics")
  end

  local plan = {
    data = data, n = n, col_mapping = col_mapping, evaluator_config = evaluator_config,
    targets_name = targets_name, predictions_name = predictions_name, columns = {},
  }
  if targets_name then plan.targets = column(data, targets_name) end

  -- features: every column but the targets (and the predictions column of a static eval)
  local features = {}
  if opts.feature_names then
    for _, f in ipairs(opts.feature_names) do
      if not has_column(data, f) then fail("feature '%s' not found; columns: %s", f, list_columns(data)) end
      features[#features + 1] = f
    end
  else
    for _, c in ipairs(data:columns()) do
      if c ~= targets_name and not (opts.model == nil and c == predictions_name) then
        features[#features + 1] = c
      end
    end
  end
  plan.features = features

  local all = default_metrics(model_type, evaluator_config)
  for _, m in ipairs(extra) do all[#all + 1] = m end
  plan.outputs, plan.output_values = {}, {}
  local latency = require "evalua.metrics.builtin.latency"
  if latency.wanted(all) then -- timed model calls; its column comes first, as in MLflow
    plan.latency, plan.outputs.latency = latency, true
    local first = {}
    for _, m in ipairs(all) do if m.kind == "latency" then first[#first + 1] = m end end
    for _, m in ipairs(all) do if m.kind ~= "latency" then first[#first + 1] = m end end
    all = first
  end
  local seen = {}
  plan.by_name = {}
  for _, m in ipairs(all) do
    if seen[m.key] then fail("metric '%s' is given twice", m.key) end
    seen[m.key] = true
    plan.by_name[m.name] = m
  end
  plan.all = all
  local bad_mapping = util.check_col_mapping(col_mapping, data:columns(), all, evaluator_config,
    { predictions = true, targets = true, metrics = true, [predictions_name or 0] = true, [targets_name or 0] = true })
  if bad_mapping then fail("%s", bad_mapping) end

  if opts.model == nil then
    if predictions_name == nil then
      fail("model is nil, so predictions must name the column holding the outputs; columns: %s",
        list_columns(data))
    end
    if not has_column(data, predictions_name) then
      fail("predictions column '%s' not found; columns: %s", predictions_name, list_columns(data))
    end
  elseif opts.inference_params ~= nil and type(opts.model) ~= "string" then
    fail("inference_params only apply to an endpoint URI model")
  end

  -- evaluator_config.human_scores names metrics and columns (and hides
  -- those columns from the model)
  local aok, aerr = pcall(require("evalua.agreement").check, plan, all, function(c) return has_column(data, c) end)
  if not aok then fail("%s", (tostring(type(aerr) == "table" and aerr.msg or aerr):gsub("^evaluate: ", ""))) end

  bind_metrics(plan)
  bind_model(plan, opts)
  bind_gates()

  plan.data_hash = data_hash(data)
  local metric_names = {}
  for _, m in ipairs(all) do metric_names[#metric_names + 1] = m.key end
  plan.params = {
    model_type = model_type, metrics = table.concat(metric_names, ","), rows = n,
    targets = targets_name, predictions = predictions_name,
    model = describe_model(opts.model), judges = describe_judges(all),
    dataset_name = opts.dataset_name,
  }
  return plan
end

-- The value a binding gives a metric: a column list, a constant, another
-- metric's result. `preds` is the predictions column (live during the
-- stream), `computed` the results so far (name -> MetricValue).
local function args_of(plan, m, preds, computed)
  local args = {}
  for _, p in ipairs(m.params) do
    local b = plan.bindings[m][p]
    local k = b.kind
    if k == "const" or k == "config" then args[p] = b.value
    elseif k == "predictions" then args[p] = preds
    elseif k == "targets" then args[p] = plan.targets
    elseif k == "column" then
      plan.columns[b.name] = plan.columns[b.name] or column(plan.data, b.name)
      args[p] = plan.columns[b.name]
    elseif k == "output" then args[p] = plan.output_values[b.name]
    elseif k == "metric" then args[p] = computed[b.name]
    elseif k == "metrics" then args[p] = computed
    end
  end
  return args
end

-- ------------------------------------------------------------- predict + judge

local function clean_error(e)
  e = tostring(e)
  return e:match("^(.-)\nstack traceback:") or e
end

-- Runs a Lua-function model over the rows still to predict (one call: the
-- function sees a table, as in MLflow) and records what it returned.
local function predict_with_function(plan, opts, L)
  local todo = L:todo("predictions")
  if #todo == 0 then return end
  local inputs = plan.inputs or plan.data:select(plan.features)
  local sub = inputs
  if #todo < plan.n then
    local rows = {}
    for k, i in ipairs(todo) do rows[k] = inputs:row(i) end
    sub = tbl().from_rows(rows, { columns = plan.features })
  end
  local p, errs, secs
  if plan.latency then -- the latency metric: each row's call timed
    p, errs, secs = plan.latency.timed(run_model, opts.model, sub, todo, plan.predictions_name, opts.inference_params)
  else
    p, errs = run_model(opts.model, sub, #todo, plan.predictions_name, opts.inference_params)
  end
  if config.print_prompt then -- judge --print-prompt: uncached rows get a placeholder
    p, errs = require("evalua.cli.judge").fill_predictions(true, p, errs, todo, plan)
  end
  if require("evalua.sched").aborted() then return end
  if secs then
    for k, i in ipairs(todo) do plan.output_values.latency[i] = secs[k] end
  end
  for k, i in ipairs(todo) do
    local e = errs[k]
    if e ~= nil then L:put("predictions", i, nil, nil, clean_error(e))
    elseif p[k] == nil then L:put("predictions", i, nil, nil, "the model returned no prediction for this row")
    else L:put("predictions", i, p[k]) end
  end
end

-- Judges row i with metric m and records the row. A metric with an
-- explicit max_workers waits for one of its slots; nothing is recorded
-- when the run was stopped (the row is asked again next time).
local function judge_row(plan, L, sched, m, i, args)
  local cap, busy = m.max_workers, plan.busy
  if cap then
    while (busy[m] or 0) >= cap do sched.sleep(0.005) end
    busy[m] = (busy[m] or 0) + 1
  end
  -- extra: a row metric's other per-row values (pairwise: winner, ...; see finish_rows)
  local ok, score, just, extra = pcall(m.score_row, compute.row_args(m, args, i), i)
  if cap then busy[m] = busy[m] - 1 end
  if sched.aborted() then return end
  if not ok then
    L:put(m.key, i, nil, nil, "failed: " .. clean_error(score))
  elseif score == nil then
    L:put(m.key, i, nil, nil, tostring(just or "failed: no score"), extra)
  else
    L:put(m.key, i, score, just, nil, extra)
  end
end

-- The stream: one task per row that still needs work. A row is predicted
-- (when the model works row by row), then all of its judges run at once;
-- every request shares the one in-flight pool (--concurrency), so judges
-- of early rows run while later rows are predicted. No barrier.
local stream
stream = function(plan, opts, L, metric_list, judges_only)
  local sched = require "evalua.sched"
  plan.busy = plan.busy or {}
  if config.batch and not judges_only and plan.model_kind == "rows" and #metric_list > 0 then
    -- --batch: a row's requests wait for a provider batch, not a connection;
    -- the predictions go in batches first, then the judges' requests of
    -- every row together, so they fill as few batches as they can
    stream(plan, opts, L, {})
    if sched.aborted() then return end
    return stream(plan, opts, L, metric_list, true)
  end
  if plan.model_kind == "function" and not judges_only then predict_with_function(plan, opts, L) end
  if sched.aborted() then return end
  local preds = plan.preds
  local predict = plan.model_kind == "rows" and not judges_only and plan.predict_row or nil
  local clock = require("evalua.core").clock
  local argsets = {}
  for _, m in ipairs(metric_list) do argsets[m] = args_of(plan, m, preds, {}) end
  local rows, todo_set = {}, {}
  if predict then
    for _, i in ipairs(L:todo("predictions")) do todo_set[i] = true end
  end
  for _, m in ipairs(metric_list) do
    for _, i in ipairs(L:todo(m.key)) do todo_set[i] = true end
  end
  for _, i in ipairs(L.rows) do if todo_set[i] then rows[#rows + 1] = i end end
  if #rows == 0 then return end
  local progress = require("evalua.progress").start(plan, L, predict and "predict" or nil, metric_list)
  local _, errors = sched.map(#rows, function(k)
    local i = rows[k]
    if predict and not L:has("predictions", i) then
      local t0 = plan.latency and clock()
      local ok, text, err = pcall(predict, i)
      if t0 then plan.output_values.latency[i] = clock() - t0 end
      if sched.aborted() then return true end
      if config.print_prompt and not (ok and text ~= nil) then -- judge --print-prompt: not cached
        ok, text = true, require("evalua.cli.judge").stand_in(i, plan)
      end
      if not ok then L:put("predictions", i, nil, nil, clean_error(text))
      elseif text == nil then L:put("predictions", i, nil, nil, clean_error(err or "no prediction"))
      else L:put("predictions", i, text) end
      progress:tick("predictions")
    end
    local judges = {}
    for _, m in ipairs(metric_list) do
      if not L:has(m.key, i) then judges[#judges + 1] = m end
    end
    if #judges == 1 then
      judge_row(plan, L, sched, judges[1], i, argsets[judges[1]])
      progress:tick(judges[1].key)
    elseif #judges > 1 then
      sched.map(#judges, function(j)
        judge_row(plan, L, sched, judges[j], i, argsets[judges[j]])
        progress:tick(judges[j].key)
        return true
      end, { progress = false })
    end
    return true
  end, { limit = plan.task_limit })
  progress:finish()
  -- a task that raised (a bug, not a failed request): its row fails, loudly
  if not sched.aborted() then
    for k, e in pairs(errors) do
      local i = rows[k]
      if predict and not L:has("predictions", i) and L:errors("predictions")[i] == nil then
        L:put("predictions", i, nil, nil, clean_error(e))
      end
    end
  end
end

-- ------------------------------------------------------------- score + assemble

-- The whole-column metrics (and those reading other metrics), over every
-- row, once the predictions and the streamed metrics are complete.
local function score_after(plan, opts, L, computed, results)
  local sched = require "evalua.sched"
  for _, m in ipairs(plan.after) do
    local mv, w
    if m.score_row then
      stream(plan, opts, L, { m }, true) -- rows still to judge, judged now
      if sched.aborted() then return end
      mv = { scores = L:values(m.key), justifications = L:notes(m.key), extras = L:extras(m.key) }
    else
      mv, w = compute.run_metric(m, args_of(plan, m, plan.preds, computed), plan.n)
    end
    if mv then
      computed[m.name] = mv
      for _, wm in ipairs(mv.warnings or {}) do warn(results, m.name .. ": " .. wm) end
    else
      warn(results, w)
    end
  end
end

-- The per-row results table, in MLflow's eval_results_table column order.
local function results_table(plan, L, computed)
  local order, cols = {}, {}
  local function add(name, list)
    if cols[name] == nil then order[#order + 1] = name end
    cols[name] = list
  end
  for _, f in ipairs(plan.features) do
    plan.columns[f] = plan.columns[f] or column(plan.data, f)
    add(f, plan.columns[f])
  end
  if plan.targets then
    add(plan.targets_name, plan.targets)
    add(plan.predictions_name or "outputs", plan.preds)
  else
    add("outputs", plan.preds)
  end
  if plan.model_kind ~= "none" and next(L:errors("predictions")) then
    local e = { n = plan.n }
    for i, msg in pairs(L:errors("predictions")) do e[i] = msg end
    add("error", e)
  end
  for _, m in ipairs(plan.all) do
    local mv = computed[m.name]
    if mv then
      if mv.scores then add(m.score_column, mv.scores) end
      if mv.justifications then add(m.justification_column, mv.justifications) end
      for _, ec in ipairs(mv.extra_columns or {}) do add(ec[1], ec[2]) end
    end
  end
  return tbl().from(cols, { columns = order })
end

-- Failed rows per key against --max-failures: the keys over the limit.
local function failure_check(plan, L)
  local limit = tonumber(config.max_failures) or 0.05
  local over, summary = {}, {}
  local keys = {}
  if plan.model_kind ~= "none" then keys[#keys + 1] = { key = "predictions", name = "predictions" } end
  for _, m in ipairs(plan.all) do
    if m.score_row then keys[#keys + 1] = { key = m.key, name = m.key } end
  end
  for _, k in ipairs(keys) do
    local count, first = L:failures(k.key)
    summary[k.name] = { failed = count, rows = plan.n, reasons = first }
    if plan.n > 0 and count / plan.n > limit then
      over[#over + 1] = { name = k.name, failed = count, rows = plan.n, reasons = first }
    end
  end
  return over, summary, limit
end

local function over_message(over, limit)
  local lines = {}
  for _, o in ipairs(over) do
    local why = {}
    for _, r in ipairs(o.reasons) do
      why[#why + 1] = string.format("row %d: %s", r.row, (tostring(r.reason):gsub("%s+", " "):sub(1, 160)))
    end
    lines[#lines + 1] = string.format("%s: %d of %d rows failed (more than --max-failures %s); first: %s",
      o.name, o.failed, o.rows, tostring(limit), table.concat(why, "; "))
  end
  return table.concat(lines, "\n")
end

-- ------------------------------------------------------------- run

-- The run of this evaluation in the store (nil when the store is not used).
local function open_run(plan, opts)
  return require("evalua.tracking").run_for_evaluate{
    data_hash = plan.data_hash, run_name = opts.run_name, n_rows = plan.n,
    params = plan.params,
  }
end

-- Exit status 3 at the end of the script when a run had too many failed
-- rows (registered once, when it first happens).
local too_many_failures = false
local function request_exit_3()
  if too_many_failures then return end
  too_many_failures = true
  require("evalua.runtime").at_finish(function() return 3 end)
end

function M.evaluate(opts)
  local plan = bind(opts)
  local results = { metrics = {}, tables = {}, warnings = {}, errors = {}, artifacts = {} }
  -- a dry run sends nothing and stores nothing: its numbers come from placeholders
  local run = not (config.dry_run or config.no_store) and open_run(plan, opts) or nil
  results.run_id = run and run.id or nil
  results.dry_run = config.dry_run or nil
  local accounting = require "evalua.accounting"
  plan.accounting, plan.accounting_before = accounting, accounting.snapshot()
  -- batch = true (or a table of evalua.batch settings): this call's model
  -- and judge requests go through the providers' batch APIs, like --batch
  local saved_batch = config.batch
  if opts.batch ~= nil then config.batch = opts.batch end
  local ok, err = pcall(M._run, opts, plan, run, results)
  config.batch = saved_batch
  -- the transfers' connections go with the run: no socket outlives evaluate
  require("evalua.sched").close_idle()
  if not ok then
    -- a run evaluate made itself fails with it; a run the script started is the script's
    if run and run.owned and run.finish then pcall(run.finish, run, "FAILED") end
    error(err, 0)
  end
  return err
end

-- The phases of evaluate inside the run (see M.evaluate):
-- ledger -> stream (predict + streamed judges) -> score -> assemble -> log.
function M._run(opts, plan, run, results)
  local sched = require "evalua.sched"
  local n = plan.n
  local shard_rows
  if run and config.shard then shard_rows = require("evalua.tracking").shard_rows(n) end
  if config.print_prompt then config.print_prompt.rows = math.max(config.print_prompt.rows, n) end
  local L = ledger.new{ run = run, n = n, rows = shard_rows }
  if plan.latency then
    -- seconds of each row's model call (0.0 with no model, as MLflow; nil
    -- for a row predicted by an earlier process of a resumed run)
    local secs = { n = n }
    if plan.model_kind == "none" then for i = 1, n do secs[i] = 0.0 end end
    plan.output_values.latency = secs
  end
  local row_keys = {}
  if plan.model_kind ~= "none" then
    L:load("predictions")
    row_keys[#row_keys + 1] = "predictions"
    plan.preds = L:values("predictions")
  else
    plan.preds = column(plan.data, plan.predictions_name)
  end
  for _, m in ipairs(plan.all) do
    if m.score_row then
      L:load(m.key, judge_hash(m))
      row_keys[#row_keys + 1] = m.key
    end
  end
  -- as many row tasks as requests may be in flight: each waits for at least
  -- one request, so the pool stays full, and at most that many requests are
  -- sent before a refusal of structured output is known
  plan.task_limit = config.concurrency or 32

  -- predict + the streamed judges
  local sok, serr = pcall(stream, plan, opts, L, plan.stream)
  L:flush() -- what was answered is kept, whatever happened
  if not sok then error(serr, 0) end
  local stopped = sched.aborted()
  if stopped then
    sched.clear_abort()
    if run and run.owned and run.finish then run:finish("FAILED") end
    error(API .. ": the run was stopped: " .. stopped, 0)
  end

  -- a shard that is not the last to finish leaves the run to the others
  if shard_rows then
    local keys = {}
    if plan.model_kind ~= "none" then keys[1] = "predictions" end
    for _, m in ipairs(plan.stream) do keys[#keys + 1] = m.key end
    if not L:complete(keys) then
      if run.evaluate_done then run:evaluate_done() end
      results.partial = true
      if not config.quiet then
        io.stderr:write(string.format("evalua: shard %d/%d of run %s done; the last shard to finish assembles the results\n",
          config.shard[1], config.shard[2], run.id))
      end
      return results
    end
    -- every row is stored now: this shard assembles the run from the store
    L:take_all(row_keys)
  end

  -- score: the streamed metrics' values, then the whole-column ones
  local computed = {}
  for _, m in ipairs(plan.stream) do
    computed[m.name] = { scores = L:values(m.key), justifications = L:notes(m.key), extras = L:extras(m.key) }
  end
  local aok, aerr = pcall(score_after, plan, opts, L, computed, results)
  L:flush()
  if not aok then error(aerr, 0) end
  stopped = sched.aborted()
  if stopped then
    sched.clear_abort()
    if run and run.owned and run.finish then run:finish("FAILED") end
    error(API .. ": the run was stopped: " .. stopped, 0)
  end

  -- assemble
  for i, e in pairs(L:errors("predictions")) do
    if plan.model_kind ~= "none" then
      results.errors[#results.errors + 1] = { row = i, error = e }
      warn(results, string.format("model: row %d: %s", i, e))
    end
  end
  table.sort(results.errors, function(a, b) return a.row < b.row end)
  for _, m in ipairs(plan.all) do
    local mv = computed[m.name]
    if mv then
      if m.score_row then
        local failures = L:failures(m.key)
        mv.failures = failures
        if m.finish_rows then m.finish_rows(mv) end
      end
      local aggs = {}
      if mv.scores then aggs = metrics.aggregate(mv.scores, m.aggregations) end
      for k, v in pairs(mv.aggregate_results or {}) do aggs[k] = v end
      if m.score_row then aggs.failures = mv.failures or 0 end
      for k, v in pairs(metrics.flat_names(m, aggs)) do results.metrics[k] = v end
      if m.score_row and (mv.failures or 0) > 0 then
        warn(results, string.format("%s: %d of %d rows failed and are left out of the aggregates",
          m.key, mv.failures, n))
      end
    end
  end
  -- evaluator_config.human_scores: each judge's agreement with people (evalua.agreement)
  plan.predictions = plan.preds
  local computed_list = {}
  for _, m in ipairs(plan.all) do
    if computed[m.name] then computed_list[#computed_list + 1] = { metric = m, value = computed[m.name] } end
  end
  plan.agreement = require("evalua.agreement").apply(plan, computed_list, results,
    function(c) return column(plan.data, c) end, function(w) warn(results, w) end)

  local t = results_table(plan, L, computed)
  results.tables.eval_results_table = t

  -- what produced the scores (e.g. the toxicity backend and its weights' hash)
  results.info = {}
  local info_params = {}
  for _, m in ipairs(plan.all) do
    local info = computed[m.name] and computed[m.name].info
    if type(info) == "table" then
      results.info[m.name] = info
      for k, v in pairs(info) do
        if type(v) ~= "table" then info_params[m.name .. "." .. k] = tostring(v) end
      end
    end
  end

  -- failed rows against --max-failures; a run where nothing was scored failed
  local over, summary, limit = failure_check(plan, L)
  results.failures = summary
  local counted = not (config.dry_run or require("evalua.metrics.genai").prompt_sink)
  local nothing_scored = false
  if counted and n > 0 then
    local good = 0
    if plan.model_kind ~= "none" then
      for i = 1, n do if L:has("predictions", i) then good = good + 1 end end
      nothing_scored = good == 0
    end
    if not nothing_scored and #plan.all > 0 then
      local any = false
      for _, m in ipairs(plan.all) do
        if not m.score_row or select(1, L:failures(m.key)) < n then any = true end
      end
      nothing_scored = not any
    end
  end

  -- log
  if run then
    if run.log_params then
      local params = {}
      for k, v in pairs(plan.params) do params[k] = tostring(v) end
      for k, v in pairs(info_params) do params[k] = v end
      run:log_params(params)
    end
    local gib = {}
    for _, m in ipairs(plan.all) do gib[m.key] = m.greater_is_better end
    if run.log_metrics then run:log_metrics(results.metrics, gib) end
    if run.log_table then run:log_table("eval_results_table", t) end
    require("evalua.judge_prompts").log(run, plan.all) -- what each judge was asked, for reports
    if plan.agreement and run.log_artifact then
      run:log_artifact("agreement.json", require("evalua.json").encode(plan.agreement, { strict = true }), "application/json")
    end
    if plan.accounting and run.set_accounting then
      -- this evaluate's requests only, not the whole process's
      run:set_accounting(plan.accounting.snapshot(plan.accounting_before))
    end
    if nothing_scored and run.owned and run.finish then
      run:finish("FAILED")
    elseif run.evaluate_done then
      run:evaluate_done()
    end
  end

  if not config.quiet then
    for _, w in ipairs(results.warnings) do io.stderr:write("evalua: warning: ", require("evalua.redact").text(w), "\n") end
  end
  -- (--max-failures 1 accepts any failure, even a run with nothing scored:
  -- that run is still marked FAILED, but the exit status stays 0)
  if counted and (#over > 0 or (nothing_scored and limit < 1)) then
    results.failed = true
    local msg = #over > 0 and over_message(over, limit) or "no row could be scored"
    io.stderr:write("evalua: too many failed rows", run and (" in run " .. run.id) or "", ":\n", msg, "\n")
    request_exit_3()
  end
  return results
end

return M
