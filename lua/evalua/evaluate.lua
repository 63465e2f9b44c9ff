-- evalua.evaluate: mlflow.evaluate in Lua. Gets predictions (from a model or
-- a column), binds every metric's parameters to columns through col_mapping,
-- runs the metrics (judges row by row, concurrently, stored as they finish),
-- aggregates, logs the run and returns results.
local metrics = require "evalua.metrics"
local compute = require "evalua.metrics.compute"
local config = require "evalua.config"

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

local function fail(fmt, ...)
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
      fail("the model returned a table with columns %s; name the prediction column with predictions = '...'",
        list_columns(out))
    end
    out = column(out, name)
  elseif type(out) == "string" and n == 1 then
    out = { out, n = 1 }
  end
  if type(out) ~= "table" then
    fail("the model must return a list of %d predictions, got %s", n, type(out))
  end
  local m = out.n or #out
  if m ~= n then
    fail("the model returned %d predictions for %d rows", m, n)
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
    fail("model must be nil, a function, a model URI or a model object, got %s", type(model))
  end
  if type(e2) == "table" then errs = e2 end
  return predictions_from(out, n, predictions_name), errs
end

M._run_model = run_model -- for evalua.compare

-- Resolves the parameters of one metric; returns args or nil, missing-list.
local function resolve_args(m, ctx)
  local args, missing = {}, {}
  for _, p in ipairs(m.params) do
    local col = ctx.col_mapping[p]
    if col == nil then col = p end
    if type(col) ~= "string" then
      args[p] = col
    elseif col == "predictions" or col == ctx.predictions_name then
      args[p] = ctx.predictions
    elseif col == "targets" or (ctx.targets_name and col == ctx.targets_name) then
      if ctx.targets then args[p] = ctx.targets
      elseif not m.optional[p] then missing[#missing + 1] = { param = p, targets = true } end
    elseif col == "metrics" then
      args[p] = ctx.computed
    elseif has_column(ctx.data, col) then
      args[p] = ctx.columns[col] or column(ctx.data, col)
      ctx.columns[col] = args[p]
    elseif ctx.other_outputs[col] then
      args[p] = ctx.other_outputs[col]
    elseif ctx.evaluator_config[col] ~= nil then
      args[p] = ctx.evaluator_config[col]
    elseif ctx.computed[col] then
      args[p] = ctx.computed[col]
    elseif ctx.pending[col] then
      return nil, "pending"
    elseif not m.optional[p] then
      missing[#missing + 1] = { param = p, column = col }
    end
  end
  if #missing > 0 then return nil, missing end
  return args
end

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

-- The per-row results table, in MLflow's eval_results_table column order.
local function results_table(ctx, computed_list)
  local order, cols = {}, {}
  local function add(name, list)
    if cols[name] == nil then order[#order + 1] = name end
    cols[name] = list
  end
  for _, f in ipairs(ctx.features) do add(f, ctx.columns[f] or column(ctx.data, f)) end
  if ctx.targets then
    add(ctx.targets_name, ctx.targets)
    add(ctx.predictions_name or "outputs", ctx.predictions)
  else
    add("outputs", ctx.predictions)
  end
  if next(ctx.model_errors) then
    local e = { n = ctx.n }
    for i, msg in pairs(ctx.model_errors) do e[i] = msg end
    add("error", e)
  end
  for _, entry in ipairs(computed_list) do
    local m, mv = entry.metric, entry.value
    if mv.scores then add(m.score_column, mv.scores) end
    if mv.justifications then add(m.justification_column, mv.justifications) end
    for _, ec in ipairs(mv.extra_columns or {}) do add(ec[1], ec[2]) end
  end
  return tbl().from(cols, { columns = order })
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

-- The run of this evaluation in the store (nil when the store is not used).
local function open_run(ctx, opts)
  return require("evalua.tracking").run_for_evaluate{
    data_hash = ctx.data_hash, run_name = opts.run_name, n_rows = ctx.n,
    params = ctx.params,
  }
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

function M.evaluate(opts)
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

  local results = { metrics = {}, tables = {}, warnings = {}, errors = {}, artifacts = {} }
  local ctx = {
    data = data, n = n, col_mapping = col_mapping, evaluator_config = evaluator_config,
    targets_name = targets_name, predictions_name = predictions_name,
    computed = {}, pending = {}, columns = {}, other_outputs = {}, model_errors = {},
  }
  if targets_name then ctx.targets = column(data, targets_name) end

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
  ctx.features = features

  local all = default_metrics(model_type, evaluator_config)
  for _, m in ipairs(extra) do all[#all + 1] = m end
  local latency = require "evalua.metrics.builtin.latency"
  if latency.wanted(all) then -- timed model calls; its column comes first, as in MLflow
    ctx.latency = latency
    local first = {}
    for _, m in ipairs(all) do if m.kind == "latency" then first[#first + 1] = m end end
    for _, m in ipairs(all) do if m.kind ~= "latency" then first[#first + 1] = m end end
    all = first
  end
  local seen = {}
  for _, m in ipairs(all) do
    if seen[m.key] then fail("metric '%s' is given twice", m.key) end
    seen[m.key] = true
  end
  -- evaluator_config.human_scores names metrics and columns: checked before anything is sent
  require("evalua.agreement").check(ctx, all, function(c) return has_column(data, c) end)

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

  ctx.data_hash = data_hash(data)
  local metric_names = {}
  for _, m in ipairs(all) do metric_names[#metric_names + 1] = m.key end
  ctx.params = {
    model_type = model_type, metrics = table.concat(metric_names, ","), rows = n,
    targets = targets_name, predictions = predictions_name,
    model = describe_model(opts.model), judges = describe_judges(all),
    dataset_name = opts.dataset_name,
  }
  -- a dry run sends nothing and stores nothing: its numbers come from placeholders
  local run = not (config.dry_run or config.no_store) and open_run(ctx, opts) or nil
  results.run_id = run and run.id or nil
  results.dry_run = config.dry_run or nil
  local accounting = require "evalua.accounting"
  ctx.accounting, ctx.accounting_before = accounting, accounting.snapshot()
  -- batch = true (or a table of evalua.batch settings): this call's model
  -- and judge requests go through the providers' batch APIs, like --batch
  local saved_batch = config.batch
  if opts.batch ~= nil then config.batch = opts.batch end
  local ok, err = pcall(M._run, opts, ctx, run, results, all, n)
  config.batch = saved_batch
  if not ok then
    -- a run evaluate made itself fails with it; a run the script started is the script's
    if run and run.owned and run.finish then pcall(run.finish, run, "FAILED") end
    error(err, 0)
  end
  return err
end

-- The part of evaluate that runs inside the run (see M.evaluate).
function M._run(opts, ctx, run, results, all, n)
  local data, features = ctx.data, ctx.features
  local predictions_name = ctx.predictions_name
  if config.print_prompt then config.print_prompt.rows = math.max(config.print_prompt.rows, n) end
  -- the rows this process computes: all of them, or one shard's (--shard i/n)
  ctx.rows = {}
  if run and config.shard then
    ctx.rows = require("evalua.tracking").shard_rows(n)
  else
    for i = 1, n do ctx.rows[i] = i end
  end

  -- predictions
  if opts.model == nil then
    ctx.predictions = column(data, predictions_name)
    if ctx.latency then -- no model call: 0.0 s a row, as MLflow
      local z = { n = n }
      for i = 1, n do z[i] = 0.0 end
      ctx.other_outputs.latency = z
    end
  else
    local done = run and run.cells and run:cells("predictions") or {}
    local todo = {}
    for _, i in ipairs(ctx.rows) do if done[i] == nil then todo[#todo + 1] = i end end
    local preds = { n = n }
    for i, cell in pairs(done) do
      if type(cell) == "table" then
        preds[i] = cell.value
        if cell.error then ctx.model_errors[i] = cell.error end
      end
    end
    if #todo > 0 then
      local inputs = data:select(features)
      local sub = inputs
      if #todo < n then
        local rows = {}
        for k, i in ipairs(todo) do rows[k] = inputs:row(i) end
        sub = tbl().from_rows(rows, { columns = features })
      end
      -- model adapters hand over each row as it finishes, so a kill loses none of them
      local models = require "evalua.models"
      if run and run.put_cell and not config.dry_run then
        models.on_row = function(k, text, e)
          run:put_cell("predictions", todo[k], { value = text, error = e })
        end
      end
      local ok_model, p, errs
      if ctx.latency then -- the latency metric: each row's call timed
        ok_model, p, errs, ctx.latency_todo = pcall(ctx.latency.timed, run_model, opts.model, sub, todo,
          predictions_name, opts.inference_params)
      else
        ok_model, p, errs = pcall(run_model, opts.model, sub, #todo, predictions_name, opts.inference_params)
      end
      if config.print_prompt then -- judge --print-prompt: uncached rows get a placeholder
        ok_model, p, errs = true, require("evalua.cli.judge").fill_predictions(ok_model, p, errs, todo)
      end
      if models_ok then models.on_row = nil end
      if not ok_model then error(p, 0) end
      for k, i in ipairs(todo) do
        preds[i] = p[k]
        local e = errs[k]
        if e ~= nil then
          -- the message, without the traceback a task adds
          e = tostring(e)
          e = e:match("^(.-)\nstack traceback:") or e
          ctx.model_errors[i] = e
        end
        if run and run.put_cell then run:put_cell("predictions", i, { value = p[k], error = e }) end
      end
    end
    if #ctx.rows < n then
      -- sharded: the other shards' rows come from the store, when they are there
      for i, cell in pairs(run:cells("predictions")) do
        if preds[i] == nil and type(cell) == "table" then
          preds[i] = cell.value
          if cell.error then ctx.model_errors[i] = cell.error end
        end
      end
    end
    ctx.predictions = preds
    if ctx.latency then
      local secs = { n = n }
      for k, i in ipairs(todo) do secs[i] = (ctx.latency_todo or {})[k] end
      ctx.other_outputs.latency = secs
    end
    for i, e in pairs(ctx.model_errors) do
      results.errors[#results.errors + 1] = { row = i, error = e }
      warn(results, string.format("model: row %d: %s", i, e))
    end
  end

  -- metrics, in dependency order: each pass takes every metric whose parameters resolve
  local function compute_all()
    ctx.computed, ctx.pending = {}, {}
    for _, m in ipairs(all) do ctx.pending[m.name] = true end
    local computed_list = {}
    local remaining = all
    while #remaining > 0 do
      local next_round, missing_all = {}, {}
      local progressed = false
      for _, m in ipairs(remaining) do
        local args, miss = resolve_args(m, ctx)
        if args then
          local done
          local judge = m.score_row and judge_hash(m) or nil
          if run and run.cells and m.score_row then
            -- rows judged by another judge (model or prompt changed since) are judged again
            done = {}
            for i, cell in pairs(run:cells(m.key)) do
              if type(cell) == "table" and cell.judge == judge then done[i] = cell end
            end
          end
          local mv, w = compute.run_metric(m, args, n, {
            done = done, rows = #ctx.rows < n and ctx.rows or nil,
            on_row = run and run.put_cell and function(i, cell)
              cell.judge = judge
              run:put_cell(m.key, i, cell)
            end or nil,
          })
          ctx.pending[m.name] = nil
          if mv then
            ctx.computed[m.name] = mv
            computed_list[#computed_list + 1] = { metric = m, value = mv }
            for _, wm in ipairs(mv.warnings or {}) do warn(results, m.name .. ": " .. wm) end
          else
            warn(results, w)
          end
          progressed = true
        elseif miss == "pending" then
          next_round[#next_round + 1] = m
        else
          missing_all[#missing_all + 1] = { metric = m, missing = miss }
        end
      end
      if #missing_all > 0 then fail("%s", missing_message(missing_all, ctx)) end
      if not progressed then
        local names = {}
        for _, m in ipairs(next_round) do names[#names + 1] = m.name end
        fail("metrics depend on each other in a cycle: %s", table.concat(names, ", "))
      end
      remaining = next_round
    end
    return computed_list
  end
  local computed_list = compute_all()

  -- a shard that is not the last to finish leaves the run to the others
  if #ctx.rows < n then
    local complete = true
    if opts.model ~= nil then
      local _, present = run:cells("predictions")
      for i = 1, n do if not (present or {})[i] then complete = false end end
    end
    for _, entry in ipairs(computed_list) do
      if entry.metric.score_row then
        local _, present = run:cells(entry.metric.key)
        for i = 1, n do if not (present or {})[i] then complete = false end end
      end
    end
    if not complete then
      if run.evaluate_done then run:evaluate_done() end
      results.partial = true
      if not config.quiet then
        io.stderr:write(string.format("evalua: shard %d/%d of run %s done; the last shard to finish assembles the results\n",
          config.shard[1], config.shard[2], run.id))
      end
      return results
    end
    -- every row is stored now: this shard assembles the run from the store
    local preds = { n = n }
    for i, cell in pairs(run:cells("predictions")) do
      if type(cell) == "table" then preds[i] = cell.value end
    end
    if opts.model ~= nil then ctx.predictions = preds end
    ctx.rows = {}
    for i = 1, n do ctx.rows[i] = i end
    results.warnings = {}
    computed_list = compute_all()
  end

  -- aggregates
  for _, entry in ipairs(computed_list) do
    local m, mv = entry.metric, entry.value
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

  -- evaluator_config.human_scores: each judge's agreement with people (evalua.agreement)
  ctx.agreement = require("evalua.agreement").apply(ctx, computed_list, results,
    function(c) return column(data, c) end, function(w) warn(results, w) end)

  local t = results_table(ctx, computed_list)
  results.tables.eval_results_table = t

  -- what produced the scores (e.g. the toxicity backend and its weights' hash)
  results.info = {}
  local info_params = {}
  for _, entry in ipairs(computed_list) do
    local info = entry.value.info
    if type(info) == "table" then
      results.info[entry.metric.name] = info
      for k, v in pairs(info) do
        if type(v) ~= "table" then info_params[entry.metric.name .. "." .. k] = tostring(v) end
      end
    end
  end

  if run then
    if run.log_params then
      local params = {}
      for k, v in pairs(ctx.params) do params[k] = tostring(v) end
      for k, v in pairs(info_params) do params[k] = v end
      run:log_params(params)
    end
    local gib = {}
    for _, entry in ipairs(computed_list) do gib[entry.metric.key] = entry.metric.greater_is_better end
    if run.log_metrics then run:log_metrics(results.metrics, gib) end
    if run.log_table then run:log_table("eval_results_table", t) end
    require("evalua.judge_prompts").log(run, all) -- what each judge was asked, for reports
    if ctx.agreement and run.log_artifact then
      run:log_artifact("agreement.json", require("evalua.json").encode(ctx.agreement, { strict = true }), "application/json")
    end
    if ctx.accounting and run.set_accounting then
      -- this evaluate's requests only, not the whole process's
      run:set_accounting(ctx.accounting.snapshot(ctx.accounting_before))
    end
    if run.evaluate_done then run:evaluate_done() end
  end

  if not config.quiet then
    for _, w in ipairs(results.warnings) do io.stderr:write("evalua: warning: ", require("evalua.redact").text(w), "\n") end
  end
  return results
end

return M
