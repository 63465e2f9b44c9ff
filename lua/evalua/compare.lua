-- evalua.compare: two or more models judged head to head by pairwise
-- metrics in one run. Every model answers every row (all models at once,
-- sharing the request pool); each pair of models becomes rows of one
-- table (model_a, model_b, inputs, output_a, output_b) judged by the
-- pairwise metrics with position swap; with more than two models the
-- verdicts also give Bradley-Terry strengths with bootstrap intervals.
local M = {}

local NAN = 0 / 0

local function sorted_names(models)
  local names = {}
  for k in pairs(models) do
    if type(k) ~= "string" then error("compare: models must be a table of name = model", 3) end
    names[#names + 1] = k
  end
  table.sort(names)
  return names
end

--[[ Bradley-Terry strengths from pairwise outcomes: list of { i, j, w }
with w = 1 (i won), 0 (j won), 0.5 (tie: half a win each). k players.
Hunter's MM iteration; strengths on the log scale, centred at mean 0.
A player with no win (or no loss) has no finite strength: a small prior
(0.5 wins and 0.5 losses against a virtual average player) keeps every
strength finite, as the Chatbot Arena fits do with regularisation.
Returns { [p] = log-strength }. ]]
function M.bradley_terry(k, outcomes, opts)
  opts = opts or {}
  local prior = opts.prior or 0.5
  local wins, games = {}, {}
  for p = 1, k do
    wins[p] = prior
    games[p] = {}
    for q = 1, k do games[p][q] = 0 end
  end
  for _, o in ipairs(outcomes) do
    local i, j, w = o[1], o[2], o[3]
    wins[i] = wins[i] + w
    wins[j] = wins[j] + (1 - w)
    games[i][j] = games[i][j] + 1
    games[j][i] = games[j][i] + 1
  end
  local pi = {}
  for p = 1, k do pi[p] = 1 end
  for _ = 1, opts.iterations or 1000 do
    local new, change = {}, 0
    for p = 1, k do
      -- the virtual player of strength 1 that p met 2*prior times
      local den = 2 * prior / (pi[p] + 1)
      for q = 1, k do
        if q ~= p and games[p][q] > 0 then den = den + games[p][q] / (pi[p] + pi[q]) end
      end
      new[p] = wins[p] / den
    end
    -- normalise: geometric mean 1
    local lg = 0
    for p = 1, k do lg = lg + math.log(new[p]) end
    local g = math.exp(lg / k)
    for p = 1, k do
      local v = new[p] / g
      change = math.max(change, math.abs(v - pi[p]))
      pi[p] = v
    end
    if change < 1e-10 then break end
  end
  local out = {}
  for p = 1, k do out[p] = math.log(pi[p]) end
  return out
end

-- The outcome of a verdict for bradley_terry: 1, 0 or 0.5 (nil: no verdict).
local function outcome(w)
  if w == "A" then return 1 elseif w == "B" then return 0 elseif w == "tie" then return 0.5 end
  return nil
end

--[[ Strengths with intervals from the long table's columns: pair lists
(a, b: model indices), row (the data row each verdict belongs to) and
winner. The bootstrap resamples data rows (all pairs of a row together).
Returns { { name, strength, lo, hi, wins, losses, ties }, ... } best first. ]]
function M.strengths(names, a, b, rows, winners, opts)
  opts = opts or {}
  local ag = require "evalua.agreement"
  local k = #names
  local by_row, row_ids = {}, {}
  local all = {}
  local tally = {}
  for p = 1, k do tally[p] = { wins = 0, losses = 0, ties = 0 } end
  for i = 1, #a do
    local w = outcome(winners[i])
    if w then
      local o = { a[i], b[i], w }
      all[#all + 1] = o
      local r = rows[i]
      if not by_row[r] then by_row[r] = {} row_ids[#row_ids + 1] = r end
      table.insert(by_row[r], o)
      if w == 1 then tally[a[i]].wins, tally[b[i]].losses = tally[a[i]].wins + 1, tally[b[i]].losses + 1
      elseif w == 0 then tally[b[i]].wins, tally[a[i]].losses = tally[b[i]].wins + 1, tally[a[i]].losses + 1
      else tally[a[i]].ties, tally[b[i]].ties = tally[a[i]].ties + 1, tally[b[i]].ties + 1 end
    end
  end
  local point = M.bradley_terry(k, all)
  local B = opts.resamples or 1000
  local reps = {}
  for p = 1, k do reps[p] = {} end
  local m = #row_ids
  if B > 0 and m > 1 then
    local draw = ag.rng(opts.seed or 42)
    for r = 1, B do
      local sample = {}
      for _ = 1, m do
        for _, o in ipairs(by_row[row_ids[draw(m)]]) do sample[#sample + 1] = o end
      end
      local s = M.bradley_terry(k, sample)
      for p = 1, k do reps[p][r] = s[p] end
    end
  end
  local out = {}
  for p = 1, k do
    local ci = ag.interval(reps[p], opts.level) or {}
    out[p] = { name = names[p], strength = point[p], lo = ci[1], hi = ci[2],
      wins = tally[p].wins, losses = tally[p].losses, ties = tally[p].ties }
  end
  table.sort(out, function(x, y)
    if x.strength ~= y.strength then return x.strength > y.strength end
    return x.name < y.name
  end)
  return out
end

local FIELDS = { models = true, data = true, metrics = true, evaluator_config = true, run_name = true,
  dataset_name = true, resamples = true, seed = true, level = true }

--[[ compare{ models = { a = m1, b = m2, ... }, data = t, metrics = { pref, ... },
evaluator_config, run_name, resamples = 1000, seed = 42, level = 0.95 }.
Models are anything evaluate takes (a URI, a model object, a function of
the inputs table); metrics are pairwise metrics (make_pairwise_metric).
Returns evaluate's results for the long table (columns model_a, model_b,
row, the data's columns, output_a, output_b, then the verdicts), plus
results.models (the names, sorted) and, per metric key,
results.strengths[key] = { { name, strength, lo, hi, wins, losses, ties }, ... }
(Bradley-Terry, best first; with two models too). ]]
function M.compare(t)
  local api = "compare"
  if type(t) ~= "table" then error(api .. ": expected a table of options", 2) end
  require("evalua.util").check_keys(api, t, FIELDS)
  if type(t.models) ~= "table" then error(api .. ": models must be a table of name = model", 2) end
  local names = sorted_names(t.models)
  if #names < 2 then error(api .. ": needs at least two models, got " .. #names, 2) end
  if type(t.metrics) ~= "table" or #t.metrics == 0 then
    error(api .. ": metrics must be a non-empty list of pairwise metrics (make_pairwise_metric)", 2)
  end
  for i, m in ipairs(t.metrics) do
    if type(m) ~= "table" or not m.pairwise then
      error(string.format("%s: metrics[%d] is not a pairwise metric (make one with make_pairwise_metric)", api, i), 2)
    end
  end
  local evaluate = require "evalua.evaluate"
  local tbl = require "evalua.table"
  local data = t.data
  if type(data) == "string" then data = tbl.read(data) end
  if type(data) ~= "userdata" and type(data) ~= "table" then error(api .. ": data must be a table", 2) end
  if type(data) == "table" and getmetatable(data) == nil then data = tbl.from(data) end
  local n = #data
  local cols = data:columns()
  for _, c in ipairs(cols) do
    if c == "model_a" or c == "model_b" or c == "output_a" or c == "output_b" or c == "row" then
      error(api .. ": the data has a column named '" .. c .. "', which compare adds", 2)
    end
  end

  -- every model answers every row; the models run at once in one pool
  local sched = require "evalua.sched"
  local outs, errs = sched.map(#names, function(k)
    local preds, e = evaluate._run_model(t.models[names[k]], data, n)
    return { preds = preds, errors = e }
  end, { limit = #names, progress = false })
  for k, name in ipairs(names) do
    if outs[k] == nil then error(api .. ": model '" .. name .. "' failed: " .. tostring(errs[k]), 0) end
  end

  -- the long table: one row per (data row, pair of models)
  local long = { model_a = {}, model_b = {}, row = {}, output_a = {}, output_b = {} }
  local src = {}
  for _, c in ipairs(cols) do long[c] = {} src[c] = data:column(c) end
  local ia, ib = {}, {}
  local r = 0
  for i = 1, n do
    for p = 1, #names do
      for q = p + 1, #names do
        r = r + 1
        long.model_a[r], long.model_b[r], long.row[r] = names[p], names[q], i
        ia[r], ib[r] = p, q
        long.output_a[r] = outs[p].preds[i]
        long.output_b[r] = outs[q].preds[i]
        for _, c in ipairs(cols) do long[c][r] = src[c][i] end
      end
    end
  end
  for _, c in pairs(long) do c.n = r end
  local order = { "model_a", "model_b", "row" }
  for _, c in ipairs(cols) do order[#order + 1] = c end
  order[#order + 1] = "output_a"
  order[#order + 1] = "output_b"
  local lt = tbl.from(long, { columns = order })

  local cfg = {}
  for k, v in pairs(t.evaluator_config or {}) do cfg[k] = v end
  local res = evaluate.evaluate{ data = lt, predictions = "output_a", extra_metrics = t.metrics,
    evaluator_config = cfg, run_name = t.run_name, dataset_name = t.dataset_name,
    feature_names = (function()
      local f = { "model_a", "model_b", "row" }
      for _, c in ipairs(cols) do f[#f + 1] = c end
      f[#f + 1] = "output_b"
      return f
    end)() }
  res.models = names
  res.strengths = {}
  local et = res.tables.eval_results_table
  for _, m in ipairs(t.metrics) do
    local ok, winners = pcall(function() return et:column(m.score_column) end)
    if ok and winners then
      res.strengths[m.key] = M.strengths(names, ia, ib, long.row, winners,
        { resamples = t.resamples, seed = t.seed, level = t.level })
      for _, s in ipairs(res.strengths[m.key]) do
        res.metrics[m.key .. "/strength/" .. s.name] = s.strength
      end
    end
  end
  for k, name in ipairs(names) do
    for i, e in pairs(outs[k].errors or {}) do
      res.warnings[#res.warnings + 1] = string.format("model %s: row %d: %s", name, i, tostring(e))
    end
  end
  return res
end

-- Text lines of results.strengths[key].
function M.strength_lines(list)
  local fmt = require("evalua.agreement").fmt
  local out = { string.format("  %-20s %9s  %-22s %5s %6s %5s", "model", "strength", "95% interval", "wins", "losses", "ties") }
  for _, s in ipairs(list) do
    out[#out + 1] = string.format("  %-20s %9s  %-22s %5d %6d %5d", s.name, fmt(s.strength),
      s.lo and string.format("[%s, %s]", fmt(s.lo), fmt(s.hi)) or "-", s.wins, s.losses, s.ties)
  end
  return out
end

M.NAN = NAN

return M
