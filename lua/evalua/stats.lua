-- evalua.stats: comparing runs. The paired bootstrap of a mean difference
-- (its loop is C: evalua.store.paired_bootstrap, a splitmix64 stream that
-- is the same on every platform), the pairing of rows between runs, and
-- the comparison table used by `evalua runs compare`, the CI gates and the
-- report.
local M = {}

local tracking = require "evalua.tracking"

M.default_resamples = 2000
M.default_seed = 42
M.default_level = 0.95

-- Paired bootstrap of the mean of diffs (a list of numbers, length #diffs
-- or field n, no holes): { mean =, lo =, hi =, n = } or nil when empty.
-- opts: resamples (B, default 2000), seed (default 42), level (0.95).
function M.paired_bootstrap(diffs, opts)
  opts = opts or {}
  local n = diffs.n or #diffs
  if n == 0 then return nil end
  local store = require "evalua.store"
  local mean, lo, hi = store.paired_bootstrap(diffs, opts.resamples or M.default_resamples,
    opts.seed or M.default_seed, opts.level or M.default_level)
  return { mean = mean, lo = lo, hi = hi, n = n }
end

-- Agreement of a judge's scores with human labels (kappa, weighted kappa,
-- spearman, kendall, pearson, exact, within_one, bias, confusion, bootstrap
-- intervals): see evalua.agreement.
function M.agreement(judge, human, opts)
  return require("evalua.agreement").agreement(judge, human, opts)
end

-- Which of two judges agrees better with people on the same rows (paired
-- bootstrap of the difference): see evalua.agreement.compare_judges.
function M.compare_judges(judge_a, judge_b, human, opts)
  return require("evalua.agreement").compare_judges(judge_a, judge_b, human, opts)
end

local function is_num(v)
  return type(v) == "number" and v == v
end

-- The mean of the non-nil, non-NaN numbers of a column list; nil if none.
function M.mean(col)
  local s, k = 0, 0
  for i = 1, col.n or #col do
    local v = col[i]
    if is_num(v) then s, k = s + v, k + 1 end
  end
  if k == 0 then return nil end
  return s / k
end

-- The mean of a list of numbers and its 95% normal interval { lo, hi }
-- (nil with one value; nothing for an empty list): error bars of charts.
function M.mean_interval(vals)
  local n = #vals
  if n == 0 then return nil end
  local s = 0
  for _, v in ipairs(vals) do s = s + v end
  local mean = s / n
  if n < 2 then return mean, nil end
  local ss = 0
  for _, v in ipairs(vals) do ss = ss + (v - mean) ^ 2 end
  local half = 1.96 * math.sqrt(ss / (n - 1) / n)
  return mean, { mean - half, mean + half }
end

-- Row keys of a loaded table for pairing: the first column's values when
-- they are distinct non-nil strings, else nil.
local function first_column_keys(t)
  local name = t.names[1]
  if not name then return nil end
  local col = t.columns[name]
  local seen, keys = {}, {}
  for i = 1, t.n_rows do
    local v = col[i]
    if type(v) ~= "string" or seen[v] then return nil end
    seen[v] = true
    keys[i] = v
  end
  return keys
end

-- Pairs the rows of loaded tables a and b (from tracking.load_table_columns).
-- Same data hash: row i with row i. Otherwise, when the first column holds
-- distinct strings in both (the inputs), rows with equal inputs; else by
-- index. Returns a list of { ia, ib } and the method used.
function M.pair_rows(a, b, same_data)
  local pairs_ = {}
  if not same_data then
    local ka, kb = first_column_keys(a), first_column_keys(b)
    if ka and kb and a.names[1] == b.names[1] then
      local where = {}
      for i, k in ipairs(kb) do where[k] = i end
      for i, k in ipairs(ka) do
        if where[k] then pairs_[#pairs_ + 1] = { i, where[k] } end
      end
      return pairs_, "by " .. a.names[1]
    end
  end
  for i = 1, math.min(a.n_rows, b.n_rows) do pairs_[#pairs_ + 1] = { i, i } end
  return pairs_, "by row number"
end

-- paired numeric differences b - a of column name over the row pairs
local function diffs_for(a, b, pairs_, name)
  local ca, cb = a.columns[name], b.columns[name]
  if not ca or not cb then return nil end
  local d = {}
  for _, p in ipairs(pairs_) do
    local x, y = ca[p[1]], cb[p[2]]
    if is_num(x) and is_num(y) then d[#d + 1] = y - x end
  end
  return d
end

local function has_column(t, name)
  return t and t.columns[name] ~= nil
end

-- the per-row column behind an aggregate metric key, if any
local function row_column(key, ta, tb)
  local base = key:match("^(.*)/mean$")
  if base and has_column(ta, base .. "/score") and has_column(tb, base .. "/score") then
    return base .. "/score"
  end
  return nil
end

local function is_integer_column(col)
  local any = false
  for i = 1, col.n or #col do
    local v = col[i]
    if v ~= nil then
      if type(v) ~= "number" or v ~= math.floor(v) then return false end
      any = true
    end
  end
  return any
end

-- Flips of an integer score column: rows where the score changed.
local function flips_for(a, b, pairs_, name, gib)
  local ca, cb = a.columns[name], b.columns[name]
  local out = { column = name, up = 0, down = 0, same = 0, rows = {} }
  local key_col = a.columns[a.names[1]]
  for _, p in ipairs(pairs_) do
    local x, y = ca[p[1]], cb[p[2]]
    if is_num(x) and is_num(y) then
      if y > x then out.up = out.up + 1 elseif y < x then out.down = out.down + 1 else out.same = out.same + 1 end
      if y ~= x then
        out.rows[#out.rows + 1] = { row_a = p[1], row_b = p[2], a = x, b = y,
          input = key_col and key_col[p[1]] or nil }
      end
    end
  end
  if gib ~= nil then
    out.better = gib and out.up or out.down
    out.worse = gib and out.down or out.up
  end
  return out
end

local function sorted_keys(...)
  local set, list = {}, {}
  for _, t in ipairs({ ... }) do
    for k in pairs(t) do
      if not set[k] then set[k] = true list[#list + 1] = k end
    end
  end
  table.sort(list)
  return list
end

-- Compares runs (refs: ids, id prefixes or names; the first is the
-- baseline). opts: resamples, seed, level, table (default
-- "eval_results_table"). Returns nil, err for an unknown run, else
-- {
--   runs = { { id, name, experiment, status, ... }, ... },
--   metrics = { { key, values = { per run }, diffs = { [j] = run j - run 1 },
--                 ci = { [j] = { mean, lo, hi, n } or nil }, column = per-row
--                 column or nil, greater_is_better = bool or nil }, ... },
--   flips = { [j] = { { column, up, down, same, better, worse, rows = {
--             { row_a, row_b, a, b, input } } }, ... } },
--   pairing = { [j] = { method = "by row number" | "by <column>", n = paired rows } },
--   resamples =, seed =, level =,
-- }
function M.compare(refs, opts)
  opts = opts or {}
  if #refs < 2 then return nil, "compare needs at least two runs" end
  local runs, tables = {}, {}
  for j, ref in ipairs(refs) do
    local r, err = tracking.get_run(ref)
    if not r then return nil, err end
    runs[j] = r
    tables[j] = tracking.load_table_columns(r.info.id, opts.table) -- nil when absent
  end
  return M.compare_runs(runs, tables, opts)
end

-- The comparison of runs already loaded: runs[j] as tracking.get_run
-- gives them ({ info, metrics, greater_is_better }), tables[j] as
-- tracking.load_table_columns (or nil). opts as compare, and row_means =
-- false to leave out the "(row mean)" rows of columns no aggregate covers.
-- The one comparison engine: `evalua runs compare`, the gates and the
-- report all read its result.
function M.compare_runs(runs, tables, opts)
  opts = opts or {}
  local B = opts.resamples or M.default_resamples
  local seed = opts.seed or M.default_seed
  local level = opts.level or M.default_level
  local out = { runs = {}, metrics = {}, flips = {}, pairing = {}, resamples = B, seed = seed,
    level = level }
  for j, r in ipairs(runs) do out.runs[j] = r.info end

  local pairings = {}
  for j = 2, #runs do
    if tables[1] and tables[j] then
      local same = runs[1].info.data_hash ~= nil and runs[1].info.data_hash == runs[j].info.data_hash
      local p, method = M.pair_rows(tables[1], tables[j], same)
      pairings[j] = p
      out.pairing[j] = { method = method, n = #p }
    end
  end

  local function gib_of(key)
    for _, r in ipairs(runs) do
      local gib = r.greater_is_better and r.greater_is_better[key]
      if gib ~= nil then return gib end
    end
    return nil
  end

  local metric_maps = {}
  for j, r in ipairs(runs) do metric_maps[j] = r.metrics or {} end
  local covered = {}
  for _, key in ipairs(sorted_keys(table.unpack(metric_maps))) do
    local m = { key = key, values = {}, diffs = {}, ci = {}, greater_is_better = gib_of(key) }
    for j, r in ipairs(runs) do m.values[j] = (r.metrics or {})[key] end
    for j = 2, #runs do
      local a, b = m.values[1], m.values[j]
      if is_num(a) and is_num(b) then m.diffs[j] = b - a end
      local col = pairings[j] and row_column(key, tables[1], tables[j])
      if col then
        m.column = col
        covered[col] = true
        m.ci[j] = M.paired_bootstrap(diffs_for(tables[1], tables[j], pairings[j], col),
          { resamples = B, seed = seed, level = level })
      end
    end
    out.metrics[#out.metrics + 1] = m
  end

  -- per-row numeric columns no aggregate covers (token_count, latency, ...)
  if tables[1] and opts.row_means ~= false then
    for _, name in ipairs(tables[1].names) do
      local bare = name == "token_count" or name == "latency"
      if not covered[name] and (bare or name:match("/score$")) then
        local key = name .. " (row mean)"
        local m = { key = key, values = {}, diffs = {}, ci = {}, column = name,
          greater_is_better = gib_of(name:gsub("/score$", "/mean")) }
        for j = 1, #runs do
          m.values[j] = tables[j] and tables[j].columns[name] and M.mean(tables[j].columns[name]) or nil
        end
        for j = 2, #runs do
          if is_num(m.values[1]) and is_num(m.values[j]) then m.diffs[j] = m.values[j] - m.values[1] end
          if pairings[j] and has_column(tables[j], name) then
            m.ci[j] = M.paired_bootstrap(diffs_for(tables[1], tables[j], pairings[j], name),
              { resamples = B, seed = seed, level = level })
          end
        end
        out.metrics[#out.metrics + 1] = m
      end
    end
  end

  -- flips of integer score columns (the judge metrics)
  for j = 2, #runs do
    local list = {}
    if pairings[j] then
      for _, name in ipairs(tables[1].names) do
        if name:match("/score$") and has_column(tables[j], name)
            and is_integer_column(tables[1].columns[name]) and is_integer_column(tables[j].columns[name]) then
          list[#list + 1] = flips_for(tables[1], tables[j], pairings[j], name,
            gib_of((name:gsub("/score$", "/mean"))))
        end
      end
    end
    out.flips[j] = list
  end
  return out
end

-- Paired rows whose score changed between loaded tables ta and tb (any
-- change, to or from nil included), for judge metrics (score columns with
-- a justification column) and integer scores, in ta's column order:
-- { row = row in A, row_b =, metric =, a =, b =, ja =, jb = }.
function M.changed_rows(ta, tb, pairs_)
  local out = {}
  for _, name in ipairs(ta.names) do
    local metric = name:match("^(.*)/score$")
    local ca, cb = ta.columns[name], tb.columns[name]
    if metric and ca and cb then
      local judge = ta.columns[metric .. "/justification"] ~= nil
      local ints = true
      for _, p in ipairs(pairs_) do
        for _, v in ipairs { ca[p[1]], cb[p[2]] } do
          if type(v) == "number" and v ~= math.floor(v) then ints = false end
        end
      end
      if judge or ints then
        local jsa = ta.columns[metric .. "/justification"] or {}
        local jsb = tb.columns[metric .. "/justification"] or {}
        for _, p in ipairs(pairs_) do
          local x, y = ca[p[1]], cb[p[2]]
          if x ~= y and not (x ~= x and y ~= y) then
            out[#out + 1] = { row = p[1], row_b = p[2], metric = metric, a = x, b = y,
              ja = jsa[p[1]], jb = jsb[p[2]] }
          end
        end
      end
    end
  end
  return out
end

-- Every per-row difference of the given metric columns over paired rows
-- of loaded tables ta and tb (metrics: a list of { name =, just = } where
-- just names the judge's justification column, if any). An integer column
-- flips (a judge's score, or any integer score but token_count and
-- latency); float ones only differ. Rows with a flip come first, largest
-- change first, then the others in row order:
-- { { ra =, rb =, changes = { { m =, a =, b =, diff =, flip = } }, flip =,
--     size = largest |diff| of a flip, order = } }.
function M.row_changes(ta, tb, pairs_, metrics)
  local ints = {}
  for _, m in ipairs(metrics) do
    local ca, cb, int = ta.columns[m.name], tb.columns[m.name], true
    for _, p in ipairs(pairs_) do
      for _, v in ipairs { ca[p[1]], cb[p[2]] } do
        if type(v) == "number" and v ~= math.floor(v) then int = false end
      end
    end
    ints[m.name] = int and m.just ~= nil or (int and m.name ~= "token_count" and m.name ~= "latency")
  end
  local list = {}
  for k, p in ipairs(pairs_) do
    local e = { ra = p[1], rb = p[2], changes = {}, flip = false, size = 0, order = k }
    for _, m in ipairs(metrics) do
      local x, y = ta.columns[m.name][p[1]], tb.columns[m.name][p[2]]
      local c = { m = m, a = x, b = y }
      if is_num(x) and is_num(y) then c.diff = y - x end
      c.flip = ints[m.name] and x ~= y and not (x ~= x and y ~= y) or false
      if c.flip then
        e.flip = true
        e.size = math.max(e.size, c.diff and math.abs(c.diff) or math.huge)
      end
      e.changes[#e.changes + 1] = c
    end
    list[#list + 1] = e
  end
  table.sort(list, function(x, y)
    if x.flip ~= y.flip then return x.flip end
    if x.size ~= y.size then return x.size > y.size end
    return x.order < y.order
  end)
  return list
end

-- The regressions of run j against the baseline (run 1) in a comparison:
-- metrics whose paired interval excludes zero in the bad direction (by
-- greater_is_better) with |mean difference| > min_effect. Metrics with no
-- per-row column or no known direction cannot regress by this rule.
-- Returns a list of { key, ci, baseline, value }.
function M.regressions(cmp, j, min_effect)
  min_effect = min_effect or 0
  local out = {}
  for _, m in ipairs(cmp.metrics) do
    local ci, gib = m.ci[j], m.greater_is_better
    if ci and gib ~= nil and math.abs(ci.mean) > min_effect then
      local bad = (gib and ci.hi < 0) or (not gib and ci.lo > 0)
      if bad then
        out[#out + 1] = { key = m.key, ci = ci, baseline = m.values[1], value = m.values[j] }
      end
    end
  end
  return out
end

return M
