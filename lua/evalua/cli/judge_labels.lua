-- evalua judge --labels DATA --human COL A.lua [B.lua]: the judge-prompt
-- prototyping loop. Each script returns a judge metric (or a list); its
-- judges score the labelled rows (the response cache makes re-runs of an
-- unchanged prompt free), and their agreement with the people's column is
-- printed. With two scripts, a paired bootstrap on the same rows says
-- which prompt agrees better, or that the difference is not significant.
local util = require "evalua.util"

local M = {}

M.USAGE = [[
usage: evalua judge --labels DATA --human COL [options] A.lua [B.lua]
  --labels DATA       labelled rows: a CSV or JSONL file with the model outputs and people's scores
  --human COL         the column with people's scores
  --predictions COL   the column with the outputs to judge (default: outputs, else predictions)
  --inputs COL        the column with the inputs (default: inputs, when present)
  --stat NAME         what the comparison of A and B uses: weighted_kappa (default), kappa,
                      spearman, kendall, pearson, exact, within_one
  --bootstrap B       resamples for every interval (default 2000)
  --seed S            the bootstrap's seed (default 42)
A.lua and B.lua return a judge metric, e.g. `return genai.make_genai_metric{ ... }`, or a
list of them. Each script's judges run as one stored evaluation (run name judge:<script>);
the response cache answers unchanged prompts, so only an edited prompt costs requests.
Exit status: 0, or 1 when a judge failed on every row, 2 on bad usage.
examples:
  evalua judge --labels scripts/data/judge_labels.csv --human human_score scripts/judges/helpful_a.lua
  evalua judge --labels labels.csv --human rating a.lua b.lua --stat spearman]]

local function load_judges(script)
  local fh = io.open(script, "rb")
  if not fh then util.usage("judge: cannot open '" .. script .. "'") end
  fh:close()
  local chunk, err = loadfile(script)
  if not chunk then util.usage("judge: " .. tostring(err)) end
  local ok, v = pcall(chunk)
  if not ok then error("judge: " .. script .. ": " .. tostring(v), 0) end
  local metrics = require "evalua.metrics"
  local list = {}
  if metrics.is_metric(v) then list = { v }
  elseif type(v) == "table" then
    for i, m in ipairs(v) do
      if not metrics.is_metric(m) then
        util.usage(string.format("judge: %s: element %d of the returned list is not a metric", script, i))
      end
      list[#list + 1] = m
    end
  end
  if #list == 0 then
    util.usage("judge: " .. script .. " must return a judge metric (e.g. return genai.make_genai_metric{...}) or a list of them")
  end
  for _, m in ipairs(list) do
    if not m.score_row or m.pairwise then
      util.usage("judge: " .. script .. ": metric '" .. m.name .. "' is not a scoring judge (make_genai_metric)")
    end
  end
  return list
end

local function has(cols, name)
  for _, c in ipairs(cols) do if c == name then return true end end
  return false
end

function M.main(args)
  if util.help(args, M.USAGE) then return 0 end
  local o = { scripts = {}, bootstrap = 2000, seed = 42, stat = "weighted_kappa" }
  local i = 1
  local function value(flag)
    i = i + 1
    local v = args[i]
    if v == nil then util.usage("judge: " .. flag .. " needs a value") end
    return v
  end
  while i <= #args do
    local a = args[i]
    if a == "--labels" then o.labels = value(a)
    elseif a == "--human" then o.human = value(a)
    elseif a == "--predictions" then o.predictions = value(a)
    elseif a == "--inputs" then o.inputs = value(a)
    elseif a == "--stat" then o.stat = value(a)
    elseif a == "--bootstrap" or a == "--seed" then
      local v = math.tointeger(tonumber(value(a)))
      if not v or v < 0 then util.usage("judge: " .. a .. " needs a non-negative integer") end
      o[a:sub(3)] = v
    elseif a:sub(1, 1) == "-" then util.usage("judge: unknown option '" .. a .. "' (see evalua judge --labels --help)")
    else o.scripts[#o.scripts + 1] = a end
    i = i + 1
  end
  if not o.labels then util.usage("judge: --labels DATA is required") end
  if not o.human then util.usage("judge: --human COL is required") end
  if #o.scripts == 0 or #o.scripts > 2 then util.usage("judge: give one judge script, or two to compare") end
  local ag = require "evalua.agreement"
  if not ag.HIGHER_IS_BETTER[o.stat] then util.usage("judge: unknown --stat '" .. o.stat .. "'") end

  local tbl = require "evalua.table"
  local okd, data = pcall(o.labels:match("%.jsonl$") and tbl.read_jsonl or tbl.read_csv, o.labels)
  if not okd then util.usage("judge: " .. tostring(data)) end
  local cols = data:columns()
  if not has(cols, o.human) then
    util.usage(string.format("judge: --human column '%s' not in %s (columns: %s)", o.human, o.labels, table.concat(cols, ", ")))
  end
  local pred = o.predictions or (has(cols, "outputs") and "outputs") or (has(cols, "predictions") and "predictions")
  if not pred or not has(cols, pred) then
    util.usage(string.format("judge: no output column%s in %s; name it with --predictions (columns: %s)",
      pred and (" '" .. pred .. "'") or "", o.labels, table.concat(cols, ", ")))
  end
  local inputs = o.inputs or (has(cols, "inputs") and "inputs") or nil
  if inputs and not has(cols, inputs) then util.usage("judge: --inputs column '" .. inputs .. "' not found") end

  local evaluate = require "evalua.evaluate"
  local judged = {}
  local status = 0
  for s, script in ipairs(o.scripts) do
    local judges = load_judges(script)
    local hs = {}
    for _, m in ipairs(judges) do hs[m.name] = o.human end
    local cfg = { human_scores = hs, agreement_bootstrap = o.bootstrap, agreement_seed = o.seed,
      col_mapping = { inputs = inputs } }
    local r = evaluate.evaluate{ data = data, predictions = pred, extra_metrics = judges,
      evaluator_config = cfg, run_name = "judge:" .. script }
    local t = r.tables.eval_results_table
    judged[s] = { script = script, judges = judges, table = t, results = r }
    local human = t:column(o.human)
    print(string.format("%s%s", script, r.run_id and ("  (run " .. r.run_id:sub(1, 12) .. ")") or ""))
    for _, m in ipairs(judges) do
      local scores = t:column(m.score_column)
      local a = ag.agreement(scores, human, { scale = m.score_range, bootstrap = o.bootstrap, seed = o.seed })
      local failed = r.metrics[m.key .. "/failures"] or 0
      print(string.format("  %s vs '%s': n = %d%s, %d%% intervals from %d resamples", m.key, o.human, a.n,
        failed > 0 and string.format(" (%d rows failed)", failed) or "", math.floor((a.level or 0.95) * 100 + 0.5), o.bootstrap))
      for _, l in ipairs(ag.lines(a, "    ")) do print(l) end
      for _, w in ipairs(a.warnings) do print("    warning: " .. w) end
      if a.n == 0 then status = 1 end
    end
  end

  if #judged == 2 then
    local A, B = judged[1], judged[2]
    local ma, mb = A.judges[1], B.judges[1]
    if #A.judges > 1 or #B.judges > 1 then
      print(string.format("(comparing the first judge of each script: %s and %s)", ma.key, mb.key))
    end
    local c = ag.compare_judges(A.table:column(ma.score_column), B.table:column(mb.score_column),
      A.table:column(o.human), { stat = o.stat, scale = ma.score_range or mb.score_range,
      bootstrap = o.bootstrap, seed = o.seed })
    local fmt = ag.fmt
    print(string.format("comparison: %s on the same %d rows, paired bootstrap (%d resamples)", o.stat, c.n, o.bootstrap))
    print(string.format("  A %-40s %s", A.script, fmt(c.a)))
    print(string.format("  B %-40s %s", B.script, fmt(c.b)))
    if c.lo then
      print(string.format("  B - A %-36s %s  [%s, %s]", "", fmt(c.diff), fmt(c.lo), fmt(c.hi)))
    end
    for _, w in ipairs(c.warnings) do print("  warning: " .. w) end
    if c.verdict == "a" then
      print(string.format("verdict: A (%s) agrees better with people: the interval of B - A is below 0", A.script))
    elseif c.verdict == "b" then
      print(string.format("verdict: B (%s) agrees better with people: the interval of B - A is above 0", B.script))
    else
      print("verdict: the difference is not significant (the interval of B - A contains 0)")
    end
  end
  return status
end

return M
