-- evalua.agreement: how well a judge agrees with people. The statistics
-- (Cohen's kappa, quadratic weighted kappa, Spearman, Kendall tau-b,
-- Pearson, exact and within-one agreement, bias, the confusion matrix)
-- equal sklearn's cohen_kappa_score and scipy's spearmanr, kendalltau and
-- pearsonr (tests/data/agreement); every interval is a seeded percentile
-- bootstrap over rows. Exposed as evalua.stats.agreement. Also the
-- evaluate hook for evaluator_config.human_scores and its `runs show` lines.
local M = {}

M.STATS = { "exact", "within_one", "kappa", "weighted_kappa", "spearman", "kendall", "pearson", "bias" }
M.default_resamples = 2000
M.default_seed = 42
M.default_level = 0.95

local NAN = 0 / 0

local function isnum(v) return type(v) == "number" and v == v end

-- A value of a score list as a number: numbers, numeric strings (CSV
-- cells), booleans as 1/0; anything else is missing.
local function number_of(v)
  if type(v) == "number" then return v == v and v or nil end
  if type(v) == "string" then return tonumber(v) end
  if type(v) == "boolean" then return v and 1 or 0 end
  return nil
end

local function len_of(api, what, list)
  if type(list) ~= "table" then
    error(string.format("%s: %s must be a list of scores, got %s", api, what, type(list)), 3)
  end
  if list.n then return list.n end
  if type(list.len) == "function" then return list:len() end
  return #list
end

-- A deterministic stream of row numbers in 1..n: splitmix64, the same on
-- every platform, separate from math.random (a script's own stream).
function M.rng(seed)
  local state = math.tointeger(seed) or 0
  return function(n)
    state = state + 0x9E3779B97F4A7C15
    local z = state
    z = (z ~ (z >> 30)) * 0xBF58476D1CE4E5B9
    z = (z ~ (z >> 27)) * 0x94D049BB133111EB
    z = z ~ (z >> 31)
    return (z >> 11) % n + 1
  end
end

-- Linear-interpolation percentile (numpy's default) of a sorted list.
local function percentile(sorted, q)
  local n = #sorted
  if n == 0 then return nil end
  local h = q * (n - 1)
  local lo = math.floor(h)
  local a, b = sorted[lo + 1], sorted[math.min(lo + 2, n)]
  return a + (h - lo) * (b - a)
end
M.percentile = percentile

-- The central percentile interval { lo, hi } of a list of replicates
-- (sorted in place) at level (default 0.95); nil when the list is empty.
function M.interval(reps, level)
  if #reps == 0 then return nil end
  table.sort(reps)
  local alpha = (1 - (level or M.default_level)) / 2
  return { percentile(reps, alpha), percentile(reps, 1 - alpha) }
end

-- The distinct sorted values of a list and each entry's index among them.
local function categories(values)
  local distinct, seen = {}, {}
  for _, v in ipairs(values) do
    if not seen[v] then seen[v] = true distinct[#distinct + 1] = v end
  end
  table.sort(distinct)
  local at = {}
  for i, v in ipairs(distinct) do at[v] = i end
  local idx = {}
  for i, v in ipairs(values) do idx[i] = at[v] end
  return distinct, idx
end

local function pearson_of(m, xs, ys, rows)
  local sx, sy = 0, 0
  for k = 1, m do local r = rows[k] sx, sy = sx + xs[r], sy + ys[r] end
  local mx, my = sx / m, sy / m
  local sxx, syy, sxy = 0, 0, 0
  for k = 1, m do
    local r = rows[k]
    local dx, dy = xs[r] - mx, ys[r] - my
    sxx, syy, sxy = sxx + dx * dx, syy + dy * dy, sxy + dx * dy
  end
  if sxx == 0 or syy == 0 then return NAN end
  local v = sxy / (math.sqrt(sxx) * math.sqrt(syy))
  if v > 1 then v = 1 elseif v < -1 then v = -1 end
  return v
end

-- Average ranks (1-based, ties share their mean rank) per category from
-- the category counts of the rows drawn.
local function avg_ranks(counts, k)
  local rank, before = {}, 0
  for c = 1, k do
    local t = counts[c]
    rank[c] = before + (t + 1) / 2
    before = before + t
  end
  return rank
end

-- Kendall's tau-b from category indices in O(m log k): rows in order of x
-- category (a counting sort), a Fenwick tree over y categories counts the
-- earlier rows (strictly smaller x) below and above each row's y.
local function kendall_of(m, xi, yi, kx, ky, rows, cx, cy)
  local start, pos = {}, 0
  for c = 1, kx do start[c] = pos pos = pos + cx[c] end
  local order = {}
  for k = 1, m do
    local r = rows[k]
    local c = xi[r]
    start[c] = start[c] + 1
    order[start[c]] = r
  end
  local tree = {}
  for i = 1, ky do tree[i] = 0 end
  local function prefix(i)
    local s = 0
    while i > 0 do s = s + tree[i] i = i - (i & -i) end
    return s
  end
  local function add(i)
    while i <= ky do tree[i] = tree[i] + 1 i = i + (i & -i) end
  end
  local con, dis, inserted = 0, 0, 0
  local g = 1
  while g <= m do
    local c = xi[order[g]]
    local e = g
    while e < m and xi[order[e + 1]] == c do e = e + 1 end
    for p = g, e do
      local y = yi[order[p]]
      con = con + prefix(y - 1)
      dis = dis + (inserted - prefix(y))
    end
    for p = g, e do add(yi[order[p]]) end
    inserted = inserted + (e - g + 1)
    g = e + 1
  end
  local n0 = m * (m - 1) / 2
  local n1, n2 = 0, 0
  for c = 1, kx do n1 = n1 + cx[c] * (cx[c] - 1) / 2 end
  for c = 1, ky do n2 = n2 + cy[c] * (cy[c] - 1) / 2 end
  local den = (n0 - n1) * (n0 - n2)
  if den <= 0 then return NAN end
  local v = (con - dis) / math.sqrt(den)
  if v > 1 then v = 1 elseif v < -1 then v = -1 end
  return v
end

-- Cohen's kappa, unweighted and quadratic (weights by label index, as
-- sklearn's), from an L x L table O (judge label, human label) with row
-- sums rs, column sums cs and total m.
local function kappas_of(O, rs, cs, L, m)
  local on, en, oq, eq = 0, 0, 0, 0
  for a = 1, L do
    local row, ra = O[a], rs[a]
    for b = 1, L do
      local e = ra * cs[b] / m
      if a ~= b then
        local w = (a - b) * (a - b)
        on, en = on + row[b], en + e
        oq, eq = oq + w * row[b], eq + w * e
      end
    end
  end
  local k1 = en == 0 and NAN or 1 - on / en
  local k2 = eq == 0 and NAN or 1 - oq / eq
  return k1, k2
end

-- The label table of the rows drawn: T[judge label][human label], row and
-- column sums.
local function label_table(P, rows, m)
  local L, lx, ly = #P.labels, P.lx, P.ly
  local T, rs, cs = {}, {}, {}
  for a = 1, L do
    local row = {}
    for b = 1, L do row[b] = 0 end
    T[a], rs[a], cs[a] = row, 0, 0
  end
  for k = 1, m do
    local r = rows[k]
    local a, b = lx[r], ly[r]
    T[a][b] = T[a][b] + 1
    rs[a], cs[b] = rs[a] + 1, cs[b] + 1
  end
  return T, rs, cs, L
end

-- Pearson's r of values vx (rows) and vy (columns) weighted by table T.
local function table_pearson(T, L, vx, vy, m)
  local mx, my = 0, 0
  for a = 1, L do
    local row = T[a]
    for b = 1, L do
      local c = row[b]
      if c > 0 then mx, my = mx + c * vx[a], my + c * vy[b] end
    end
  end
  mx, my = mx / m, my / m
  local sxx, syy, sxy = 0, 0, 0
  for a = 1, L do
    local row, dx = T[a], vx[a] - mx
    for b = 1, L do
      local c = row[b]
      if c > 0 then
        local dy = vy[b] - my
        sxx, syy, sxy = sxx + c * dx * dx, syy + c * dy * dy, sxy + c * dx * dy
      end
    end
  end
  if sxx == 0 or syy == 0 then return NAN end
  local v = sxy / (math.sqrt(sxx) * math.sqrt(syy))
  if v > 1 then v = 1 elseif v < -1 then v = -1 end
  return v
end

-- Every statistic from the label table of the rows drawn, O(m + L^2): the
-- path for integer scores on a small scale (judges' usual case). Equal to
-- compute_rows up to rounding (tests/lua/test_agreement.lua checks).
local function compute_table(P, rows, m)
  local T, rs, cs, L = label_table(P, rows, m)
  local lab = P.labels
  local out = {}
  local exact, within, sx, sy = 0, 0, 0, 0
  for a = 1, L do
    local row = T[a]
    for b = 1, L do
      local c = row[b]
      if c > 0 then
        local d = lab[a] - lab[b]
        if d == 0 then exact = exact + c end
        if d <= 1 and d >= -1 then within = within + c end
        sx, sy = sx + c * lab[a], sy + c * lab[b]
      end
    end
  end
  out.exact, out.within_one, out.bias = exact / m, within / m, sx / m - sy / m
  if m < 3 then
    out.pearson, out.spearman, out.kendall = NAN, NAN, NAN
  else
    out.pearson = table_pearson(T, L, lab, lab, m)
    out.spearman = table_pearson(T, L, avg_ranks(rs, L), avg_ranks(cs, L), m)
    -- G[a][b]: rows >= a, columns >= b; H[a][b]: rows >= a, columns <= b
    local G, H = {}, {}
    for a = L + 1, 1, -1 do
      local g, hh, below_g, below_h = {}, {}, G[a + 1], H[a + 1]
      for b = L + 1, 1, -1 do
        if a > L or b > L then g[b] = 0
        else g[b] = T[a][b] + (below_g[b] or 0) + g[b + 1] - (below_g[b + 1] or 0) end
      end
      hh[0] = 0
      for b = 1, L do
        if a > L then hh[b] = 0
        else hh[b] = T[a][b] + (below_h[b] or 0) + hh[b - 1] - (below_h[b - 1] or 0) end
      end
      G[a], H[a] = g, hh
    end
    local con, dis = 0, 0
    for a = 1, L - 1 do
      local row = T[a]
      for b = 1, L do
        local c = row[b]
        if c > 0 then
          con = con + c * G[a + 1][b + 1]
          if b > 1 then dis = dis + c * H[a + 1][b - 1] end
        end
      end
    end
    local n0 = m * (m - 1) / 2
    local n1, n2 = 0, 0
    for a = 1, L do n1, n2 = n1 + rs[a] * (rs[a] - 1) / 2, n2 + cs[a] * (cs[a] - 1) / 2 end
    local den = (n0 - n1) * (n0 - n2)
    if den <= 0 then out.kendall = NAN
    else
      local v = (con - dis) / math.sqrt(den)
      if v > 1 then v = 1 elseif v < -1 then v = -1 end
      out.kendall = v
    end
  end
  out.kappa, out.weighted_kappa = kappas_of(T, rs, cs, L, m)
  return out
end

-- Every statistic of the rows drawn (rows: m indices into the pairs),
-- row by row: any scores.
local function compute_rows(P, rows, m)
  local xs, ys = P.x, P.y
  local out = {}
  local exact, within, sx, sy = 0, 0, 0, 0
  for k = 1, m do
    local r = rows[k]
    local d = xs[r] - ys[r]
    if d == 0 then exact = exact + 1 end
    if d <= 1 and d >= -1 then within = within + 1 end
    sx, sy = sx + xs[r], sy + ys[r]
  end
  out.exact, out.within_one, out.bias = exact / m, within / m, sx / m - sy / m
  if m < 3 then
    out.pearson, out.spearman, out.kendall = NAN, NAN, NAN
  else
    out.pearson = pearson_of(m, xs, ys, rows)
    local cx, cy = {}, {}
    for c = 1, P.kx do cx[c] = 0 end
    for c = 1, P.ky do cy[c] = 0 end
    for k = 1, m do
      local r = rows[k]
      cx[P.xi[r]] = cx[P.xi[r]] + 1
      cy[P.yi[r]] = cy[P.yi[r]] + 1
    end
    local rx, ry = avg_ranks(cx, P.kx), avg_ranks(cy, P.ky)
    local ranks_x, ranks_y = {}, {}
    for k = 1, m do
      local r = rows[k]
      ranks_x[k], ranks_y[k] = rx[P.xi[r]], ry[P.yi[r]]
    end
    local seq = P.seq
    out.spearman = pearson_of(m, ranks_x, ranks_y, seq)
    out.kendall = kendall_of(m, P.xi, P.yi, P.kx, P.ky, rows, cx, cy)
  end
  if P.labels then
    local T, rs, cs, L = label_table(P, rows, m)
    out.kappa, out.weighted_kappa = kappas_of(T, rs, cs, L, m)
  else
    out.kappa, out.weighted_kappa = NAN, NAN
  end
  return out
end

-- The table path for integer scores on up to 64 labels, else row by row.
M.table_path = true
local function compute(P, rows, m)
  if P.labels and #P.labels <= 64 and M.table_path then return compute_table(P, rows, m) end
  return compute_rows(P, rows, m)
end

local function is_integral(v) return v == math.floor(v) and v > -2 ^ 53 and v < 2 ^ 53 end

-- The paired scores of x (judge) and y (human), ready for compute():
-- category indices for the rank statistics, label indices for kappa when
-- every score is an integer. warn(msg) records why a statistic is missing.
local function prepare(x, y, scale, warn)
  local P = { x = x, y = y }
  local m = #x
  local xv, yv
  xv, P.xi = categories(P.x)
  yv, P.yi = categories(P.y)
  P.kx, P.ky = #xv, #yv
  P.seq = {}
  for k = 1, m do P.seq[k] = k end

  local integral = true
  for k = 1, m do
    if not is_integral(P.x[k]) or not is_integral(P.y[k]) then integral = false break end
  end
  if integral then
    local labels, seen = {}, {}
    local function add(v) if not seen[v] then seen[v] = true labels[#labels + 1] = v end end
    if scale then
      if scale[2] - scale[1] > 1000 then error("agreement: scale spans more than 1000 labels", 3) end
      for v = math.ceil(scale[1]), math.floor(scale[2]) do add(v) end
      local outside = 0
      for k = 1, m do
        if P.x[k] < scale[1] or P.x[k] > scale[2] or P.y[k] < scale[1] or P.y[k] > scale[2] then
          outside = outside + 1
        end
      end
      if outside > 0 then
        warn(string.format("%d rows have scores outside the scale %s-%s; their values join the labels",
          outside, tostring(scale[1]), tostring(scale[2])))
      end
    end
    for _, v in ipairs(xv) do add(v) end
    for _, v in ipairs(yv) do add(v) end
    table.sort(labels)
    local at = {}
    for i, v in ipairs(labels) do at[v] = i end
    P.labels, P.lx, P.ly = labels, {}, {}
    for k = 1, m do P.lx[k], P.ly[k] = at[P.x[k]], at[P.y[k]] end
  else
    warn("kappa, weighted kappa and the confusion matrix need integer scores; the scores are not all integers")
  end

  return P
end

--[[ agreement(judge, human, opts) -> result. judge and human: lists of the
same length (evalua column lists with `n`, plain lists, or table columns);
a row where either is missing (nil, NaN, not a number) is left out.
opts: scale = { lo, hi } (the rating scale: kappa's labels and the
confusion matrix; default the values seen), bootstrap = B resamples for
the intervals (default 2000; 0 for none), seed (default 42), level (0.95).
result: n, skipped, exact, within_one, kappa, weighted_kappa, spearman,
kendall, pearson, bias (mean judge - mean human), confusion = { labels,
counts[human label index][judge label index] }, ci[stat] = { lo, hi },
warnings = { ... }. A statistic that is not defined (a constant column,
n < 3 for correlations, non-integer scores for kappa) is NaN, with a
warning that says why. ]]
function M.agreement(judge, human, opts)
  local api = "agreement"
  opts = opts or {}
  if type(opts) ~= "table" then error(api .. ": options must be a table", 2) end
  local nj, nh = len_of(api, "judge", judge), len_of(api, "human", human)
  if nj ~= nh then
    error(string.format("%s: judge has %d values, human has %d", api, nj, nh), 2)
  end
  local scale = opts.scale
  if scale ~= nil and (type(scale) ~= "table" or not isnum(scale[1]) or not isnum(scale[2]) or scale[1] > scale[2]) then
    error(api .. ": scale must be { low, high }", 2)
  end
  local B = opts.bootstrap
  if B == nil then B = M.default_resamples end
  if math.type(B) ~= "integer" or B < 0 then error(api .. ": bootstrap must be a non-negative integer", 2) end
  local level = opts.level or M.default_level
  if not isnum(level) or level <= 0 or level >= 1 then error(api .. ": level must be between 0 and 1", 2) end

  local P = { x = {}, y = {} }
  local skipped = 0
  for i = 1, nj do
    local a, b = number_of(judge[i]), number_of(human[i])
    if a ~= nil and b ~= nil then
      P.x[#P.x + 1], P.y[#P.y + 1] = a, b
    elseif judge[i] ~= nil or human[i] ~= nil then
      skipped = skipped + 1
    end
  end
  local m = #P.x
  local res = { n = m, skipped = skipped, warnings = {}, ci = {} }
  local function warn(s) res.warnings[#res.warnings + 1] = s end
  if m == 0 then
    for _, s in ipairs(M.STATS) do res[s] = NAN end
    warn("no row has both a judge score and a human score")
    return res
  end
  local P = prepare(P.x, P.y, scale, warn)
  local point = compute(P, P.seq, m)
  for _, s in ipairs(M.STATS) do res[s] = point[s] end
  if m < 3 then
    warn(string.format("n = %d < 3: spearman, kendall and pearson are not defined", m))
  else
    if P.kx == 1 then warn("the judge's scores are all equal: spearman, kendall and pearson are not defined") end
    if P.ky == 1 then warn("the human scores are all equal: spearman, kendall and pearson are not defined") end
  end
  if P.labels and point.kappa ~= point.kappa then
    warn("kappa is not defined: both raters used a single label")
  end

  if P.labels then
    local L = #P.labels
    local counts = {}
    for a = 1, L do
      counts[a] = {}
      for b = 1, L do counts[a][b] = 0 end
    end
    for k = 1, m do counts[P.ly[k]][P.lx[k]] = counts[P.ly[k]][P.lx[k]] + 1 end
    res.confusion = { labels = P.labels, counts = counts }
  end

  if B > 0 and m >= 2 then
    local draw = M.rng(opts.seed or M.default_seed)
    local reps = {}
    for _, s in ipairs(M.STATS) do reps[s] = {} end
    local rows = {}
    for _ = 1, B do
      for k = 1, m do rows[k] = draw(m) end
      local v = compute(P, rows, m)
      for _, s in ipairs(M.STATS) do
        local x = v[s]
        if x == x then local l = reps[s] l[#l + 1] = x end
      end
    end
    for _, s in ipairs(M.STATS) do
      -- a statistic undefined at the point estimate gets no interval
      if point[s] == point[s] then res.ci[s] = M.interval(reps[s], level) end
    end
    res.resamples, res.seed, res.level = B, opts.seed or M.default_seed, level
  end
  return res
end

M.HIGHER_IS_BETTER = { exact = true, within_one = true, kappa = true, weighted_kappa = true,
  spearman = true, kendall = true, pearson = true }

--[[ Which of two judges agrees better with people, on the same rows:
compare_judges(judge_a, judge_b, human, opts) with opts as agreement's plus
stat (default "weighted_kappa"; any statistic where higher is better).
Rows where a judge or the human score is missing are left out for both.
The paired percentile bootstrap draws the same rows for both judges.
Returns { stat, n, a, b, diff = b - a, lo, hi (the interval of diff),
verdict = "a" | "b" | "none", warnings }. ]]
function M.compare_judges(ja, jb, human, opts)
  local api = "compare_judges"
  opts = opts or {}
  local stat = opts.stat or "weighted_kappa"
  if not M.HIGHER_IS_BETTER[stat] then
    error(api .. ": stat must be one of exact, within_one, kappa, weighted_kappa, spearman, kendall, pearson", 2)
  end
  local n = len_of(api, "human", human)
  if len_of(api, "judge_a", ja) ~= n or len_of(api, "judge_b", jb) ~= n then
    error(api .. ": the three score lists must have the same length", 2)
  end
  local xa, xb, y = {}, {}, {}
  for i = 1, n do
    local a, b, hv = number_of(ja[i]), number_of(jb[i]), number_of(human[i])
    if a and b and hv then xa[#xa + 1], xb[#xb + 1], y[#y + 1] = a, b, hv end
  end
  local m = #y
  local res = { stat = stat, n = m, warnings = {} }
  local function warn(w) res.warnings[#res.warnings + 1] = w end
  if m < 3 then
    warn("fewer than 3 rows scored by both judges and people")
    res.a, res.b, res.diff, res.verdict = NAN, NAN, NAN, "none"
    return res
  end
  local Pa = prepare(xa, y, opts.scale, warn)
  local Pb = prepare(xb, y, opts.scale, warn)
  res.a = compute(Pa, Pa.seq, m)[stat]
  res.b = compute(Pb, Pb.seq, m)[stat]
  res.diff = res.b - res.a
  local B = opts.bootstrap or M.default_resamples
  local draw = M.rng(opts.seed or M.default_seed)
  local diffs, rows = {}, {}
  for _ = 1, B do
    for k = 1, m do rows[k] = draw(m) end
    local d = compute(Pb, rows, m)[stat] - compute(Pa, rows, m)[stat]
    if d == d then diffs[#diffs + 1] = d end
  end
  local level = opts.level or M.default_level
  res.resamples, res.level = B, level
  if #diffs == 0 or res.diff ~= res.diff then
    warn(stat .. " is not defined for these scores")
    res.verdict = "none"
    return res
  end
  local ci = M.interval(diffs, level)
  res.lo, res.hi = ci[1], ci[2]
  if res.lo > 0 then res.verdict = "b" elseif res.hi < 0 then res.verdict = "a" else res.verdict = "none" end
  return res
end

-- ---------------------------------------------------------------- evaluate

local function human_config(ctx)
  local hs = ctx.evaluator_config.human_scores
  if hs == nil then return nil end
  if type(hs) ~= "table" then
    error("evaluate: evaluator_config.human_scores must map metric names to columns", 0)
  end
  return hs
end

-- Checks evaluator_config.human_scores before anything is sent: every
-- named metric exists and is scored per row, every column exists.
function M.check(ctx, all, has_column)
  local hs = human_config(ctx)
  if not hs then return end
  for name, col in pairs(hs) do
    local found
    for _, m in ipairs(all) do if m.name == name or m.key == name then found = m end end
    if not found then
      error(string.format("evaluate: evaluator_config.human_scores names metric '%s', which is not computed",
        tostring(name)), 0)
    end
    if type(col) ~= "string" or not has_column(col) then
      error(string.format("evaluate: evaluator_config.human_scores: column '%s' (for '%s') not found",
        tostring(col), tostring(name)), 0)
    end
  end
  -- the model never sees the human labels (they would leak into its
  -- input); apply() puts them back into the results table
  local hidden = {}
  for _, col in pairs(hs) do hidden[col] = true end
  local kept = {}
  for _, f in ipairs(ctx.features) do if not hidden[f] then kept[#kept + 1] = f end end
  ctx.features = kept
  ctx.human_columns = hidden
end

local function json_safe(v)
  if type(v) == "number" and v ~= v then return nil end
  return v
end

-- After the metrics: adds <key>/agreement/<stat> (and /n) to the run's
-- metrics and returns the agreement report (stats, intervals, confusion,
-- the worst disagreements), for the run's agreement.json artifact.
-- column(name) gives a data column; warn(msg) records a warning.
function M.apply(ctx, computed_list, results, column, warn)
  local hs = human_config(ctx)
  if not hs then return nil end
  local report = {}
  local names = {}
  for name in pairs(hs) do names[#names + 1] = name end
  table.sort(names)
  local in_col = ctx.col_mapping and ctx.col_mapping.inputs or ctx.features[1]
  local inputs
  if in_col then
    local ok, c = pcall(column, in_col)
    if ok then inputs = c end
  end
  for _, c in ipairs(names) do
    local col = hs[c]
    local present = false
    for _, f in ipairs(ctx.features) do if f == col then present = true end end
    if not present then ctx.features[#ctx.features + 1] = col end
  end
  for _, name in ipairs(names) do
    local col = hs[name]
    for _, entry in ipairs(computed_list) do
      local m, mv = entry.metric, entry.value
      if (m.name == name or m.key == name) and mv.scores then
        local human = column(col)
        local a = M.agreement(mv.scores, human, {
          scale = m.score_range, bootstrap = ctx.evaluator_config.agreement_bootstrap,
          seed = ctx.evaluator_config.agreement_seed })
        for _, w in ipairs(a.warnings) do warn(m.key .. " agreement with '" .. col .. "': " .. w) end
        local base = m.key .. "/agreement/"
        results.metrics[base .. "n"] = a.n
        for _, s in ipairs(M.STATS) do results.metrics[base .. s] = a[s] end
        -- the worst disagreements: largest |judge - human|, then row order
        local rows = {}
        for i = 1, ctx.n do
          local j, h = number_of(mv.scores[i]), number_of(human[i])
          if j and h and j ~= h then rows[#rows + 1] = { row = i, judge = j, human = h } end
        end
        table.sort(rows, function(p, q)
          local dp, dq = math.abs(p.judge - p.human), math.abs(q.judge - q.human)
          if dp ~= dq then return dp > dq end
          return p.row < q.row
        end)
        local worst = {}
        for k = 1, math.min(10, #rows) do
          local r = rows[k]
          worst[k] = { row = r.row, judge = r.judge, human = r.human,
            input = inputs and inputs[r.row] ~= nil and tostring(inputs[r.row]) or nil,
            output = ctx.predictions and ctx.predictions[r.row] ~= nil and tostring(ctx.predictions[r.row]) or nil,
            justification = mv.justifications and mv.justifications[r.row] or nil }
        end
        local ci = {}
        for s, v in pairs(a.ci) do ci[s] = v end
        local stats = {}
        for _, s in ipairs(M.STATS) do stats[s] = json_safe(a[s]) end
        report[#report + 1] = { metric = m.key, human = col, n = a.n, stats = stats, ci = ci,
          confusion = a.confusion, worst = worst, warnings = a.warnings,
          resamples = a.resamples, seed = a.seed, level = a.level }
      end
    end
  end
  return report
end

-- ---------------------------------------------------------------- display

local function fmt(v)
  if type(v) ~= "number" then return "-" end
  if v ~= v then return "nan" end
  return string.format("%.4g", v)
end
M.fmt = fmt

-- Text lines of one agreement result (from M.agreement or a stored
-- report entry): the statistics with intervals, and the confusion matrix.
function M.lines(a, indent)
  indent = indent or ""
  local out = {}
  local stats = a.stats or a
  local ci = a.ci or {}
  for _, s in ipairs(M.STATS) do
    local c = ci[s]
    out[#out + 1] = string.format("%s%-15s %8s%s", indent, s, fmt(stats[s]),
      c and string.format("  [%s, %s]", fmt(c[1]), fmt(c[2])) or "")
  end
  local conf = a.confusion
  if conf and #conf.labels <= 12 then
    local head = { indent .. "confusion (rows: human, columns: judge)" }
    out[#out + 1] = head[1]
    local l = { indent .. string.format("%6s", "") }
    for _, v in ipairs(conf.labels) do l[#l + 1] = string.format("%6s", fmt(v)) end
    out[#out + 1] = table.concat(l)
    for i, v in ipairs(conf.labels) do
      local row = { indent .. string.format("%6s", fmt(v)) }
      for j = 1, #conf.labels do row[#row + 1] = string.format("%6d", conf.counts[i][j]) end
      out[#out + 1] = table.concat(row)
    end
  end
  return out
end

-- The `runs show` section of a run's agreement.json artifact, as lines
-- (empty when the run has none).
function M.show_lines(tracking, run_id)
  local bytes = tracking.artifact(run_id, "agreement.json")
  if not bytes then return {} end
  local ok, report = pcall(require("cjson").decode, bytes)
  if not ok or type(report) ~= "table" then return {} end
  local out = {}
  for _, e in ipairs(report) do
    out[#out + 1] = string.format("  %s vs human column '%s' (n = %s, %s%% intervals, %s resamples)",
      tostring(e.metric), tostring(e.human), tostring(e.n), fmt((e.level or 0.95) * 100), tostring(e.resamples or "-"))
    for _, l in ipairs(M.lines(e, "    ")) do out[#out + 1] = l end
    if type(e.worst) == "table" and #e.worst > 0 then
      out[#out + 1] = "    worst disagreements"
      for _, w in ipairs(e.worst) do
        local function short(s)
          s = tostring(s or ""):gsub("%s+", " ")
          if #s > 60 then s = s:sub(1, 57) .. "..." end
          return s
        end
        out[#out + 1] = string.format("      row %d: judge %s, human %s  input: %s | output: %s | why: %s",
          w.row, fmt(w.judge), fmt(w.human), short(w.input), short(w.output), short(w.justification))
      end
    end
  end
  return out
end

return M
