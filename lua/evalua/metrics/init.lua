-- evalua.metrics: the metric definition API (make_metric), aggregation maths,
-- built-in metric constructors and metric packs. Names and maths follow
-- MLflow: per-row columns `name/v1/score`, aggregates `name/v1/mean`,
-- `…/variance` (population), `…/p90` (linear interpolation).
local util = require "evalua.util"

local M = {}

local metric_mt = {}
metric_mt.__index = metric_mt
metric_mt.__name = "evalua.metric"

M.STANDARD_AGGREGATIONS = { "mean", "variance", "p90" }

local function isnan(x) return x ~= x end

-- Parameter names of a Lua function, in order (vararg not included).
local function param_names(fn)
  -- a pack function behind the sandbox's membrane: the names of the original
  local packs = package.loaded["evalua.metrics.packs"]
  if packs and packs.fn_source[fn] then fn = packs.fn_source[fn] end
  local names, i = {}, 1
  while true do
    local n = debug.getlocal(fn, i)
    if not n then break end
    names[i] = n
    i = i + 1
  end
  return names
end
M.param_names = param_names

-- The numbers of a column list: nil and non-numbers are dropped (booleans
-- count as 1/0); NaN is kept, as numpy keeps it.
local function numbers_of(scores)
  local xs, n = {}, scores.n or #scores
  for i = 1, n do
    local v = scores[i]
    if type(v) == "boolean" then v = v and 1 or 0 end
    if type(v) == "number" then xs[#xs + 1] = v end
  end
  return xs
end

-- Linear-interpolation percentile of a sorted list (numpy's default method).
local function percentile(sorted, q)
  local n = #sorted
  if n == 0 then return nil end
  local h = (q / 100) * (n - 1)
  local lo = math.floor(h)
  local frac = h - lo
  local a = sorted[lo + 1]
  local b = sorted[math.min(lo + 2, n)]
  return a + frac * (b - a)
end

local aggregators = {
  mean = function(xs)
    if #xs == 0 then return 0 / 0 end
    local s = 0
    for _, x in ipairs(xs) do s = s + x end
    return s / #xs
  end,
  variance = function(xs)
    if #xs == 0 then return 0 / 0 end
    local s = 0
    for _, x in ipairs(xs) do s = s + x end
    local mean = s / #xs
    local ss = 0
    for _, x in ipairs(xs) do ss = ss + (x - mean) * (x - mean) end
    return ss / #xs
  end,
  min = function(xs)
    if #xs == 0 then return 0 / 0 end
    local m = math.huge
    for _, x in ipairs(xs) do if x < m or isnan(x) then m = x end end
    return m
  end,
  max = function(xs)
    if #xs == 0 then return 0 / 0 end
    local m = -math.huge
    for _, x in ipairs(xs) do if x > m or isnan(x) then m = x end end
    return m
  end,
  median = function(xs, sorted)
    if #xs == 0 then return 0 / 0 end
    return percentile(sorted, 50)
  end,
}

local function check_aggregation(api, a)
  if type(a) ~= "string" then
    error(string.format("%s: aggregation must be a string, got %s", api, type(a)), 3)
  end
  if aggregators[a] then return end
  local q = a:match("^p(%d+%.?%d*)$")
  if q and tonumber(q) <= 100 then return end
  error(string.format("%s: unknown aggregation '%s' (known: mean, variance, p90 and other pNN, min, max, median)", api, a), 3)
end

-- Aggregates a column list of scores. nil (and non-numeric) scores are
-- dropped; on an empty list mean/variance/min/max/median are NaN and
-- percentiles are omitted (nil), as MLflow does. Returns name -> number.
function M.aggregate(scores, names)
  local xs = numbers_of(scores)
  local sorted
  local out = {}
  for _, a in ipairs(names) do
    if aggregators[a] or a:match("^p%d") then
      if not sorted then
        sorted = {}
        for i, x in ipairs(xs) do sorted[i] = x end
        table.sort(sorted, function(p, q) return p < q or (q ~= q and p == p) end)
      end
    end
    if aggregators[a] then
      out[a] = aggregators[a](xs, sorted)
    else
      local q = tonumber(a:match("^p(%d+%.?%d*)$"))
      if not q then error("metrics.aggregate: unknown aggregation '" .. tostring(a) .. "'", 2) end
      out[a] = percentile(sorted, q)
    end
  end
  return out
end

-- The key of a metric: "name/version", or "name" without a version.
local function metric_key(m)
  if m.version then return m.name .. "/" .. m.version end
  return m.name
end

local ALLOWED = {
  name = true, eval_fn = true, greater_is_better = true, version = true, long_name = true,
  aggregations = true, metric_details = true, metric_metadata = true, params = true,
  optional = true, score_column = true, score_row = true, max_workers = true,
  score_range = true, kind = true, genai_metric_args = true, prepare = true,
}

--[[ make_metric{...} -> metric

Fields:
  name              string, required
  eval_fn           function(predictions, targets, <column names>...) returning
                    { scores = list, justifications = list, aggregate_results = {},
                      warnings = {} } (lists are column lists: values 1..n and a
                    field n). Its parameters are bound to columns by name.
  greater_is_better boolean (default true)
  version           string or nil ("v1" gives names like name/v1/mean)
  aggregations      list of "mean", "variance", "p90" (any pNN), "min", "max",
                    "median"; default { "mean", "variance", "p90" }; computed
                    from scores by the framework
  long_name, metric_details, metric_metadata   as MLflow
  params            overrides the parameter names read from eval_fn
  optional          set of parameter names that may be missing (the metric
                    is then skipped with a warning, as MLflow does for
                    parameters with a default)
  score_column      the per-row column name (default "<key>/score"; token_count
                    uses its bare name)
  score_row         function(args) -> score, justification | nil, err: a
                    metric scored row by row (LLM judges): evaluate runs it
                    concurrently, stores each row as it finishes and resumes
  max_workers       concurrency cap for score_row
]]
function M.make_metric(spec)
  local api = "make_metric"
  if type(spec) ~= "table" then
    error(api .. ": expected a table of fields, got " .. type(spec), 2)
  end
  util.check_keys(api, spec, ALLOWED)
  util.check_field(api, spec, "name", "string")
  if spec.name == "" or spec.name:find("/", 1, true) then
    error(api .. ": field 'name' must be a non-empty string without '/'", 2)
  end
  if spec.eval_fn == nil and spec.score_row == nil then
    error(api .. ": metric '" .. spec.name .. "' needs an eval_fn function", 2)
  end
  util.check_field(api, spec, "eval_fn", "function", spec.score_row ~= nil)
  util.check_field(api, spec, "score_row", "function", true)
  util.check_field(api, spec, "greater_is_better", "boolean", true)
  util.check_field(api, spec, "version", "string", true)
  util.check_field(api, spec, "long_name", "string", true)
  util.check_field(api, spec, "aggregations", "table", true)
  util.check_field(api, spec, "params", "table", true)
  util.check_field(api, spec, "optional", "table", true)
  util.check_field(api, spec, "score_column", "string", true)
  if spec.max_workers ~= nil and (math.type(spec.max_workers) ~= "integer" or spec.max_workers < 1) then
    error(api .. ": field 'max_workers' must be a positive integer", 2)
  end
  local aggs = {}
  for i, a in ipairs(spec.aggregations or M.STANDARD_AGGREGATIONS) do
    check_aggregation(api, a)
    aggs[i] = a
  end
  local m = setmetatable({}, metric_mt)
  for k, v in pairs(spec) do m[k] = v end
  m.greater_is_better = spec.greater_is_better ~= false
  m.long_name = spec.long_name or spec.name
  m.aggregations = aggs
  m.params = spec.params or param_names(spec.eval_fn)
  m.optional = spec.optional or {}
  m.key = metric_key(m)
  if not m.score_column then
    if m.name == "token_count" or m.name == "latency" then m.score_column = m.name
    else m.score_column = m.key .. "/score" end
  end
  m.justification_column = m.key .. "/justification"
  return m
end

function M.is_metric(v)
  return getmetatable(v) == metric_mt
end

function metric_mt:__tostring()
  return string.format("EvaluationMetric(name=%s, greater_is_better=%s, long_name=%s, version=%s, metric_details=%s)",
    self.name, tostring(self.greater_is_better), self.long_name, tostring(self.version),
    self.metric_details and ("\n" .. self.metric_details) or "None")
end

-- Turns a plain list into a column list (sets n) without copying.
function M.column(list, n)
  if type(list) ~= "table" then error("expected a list, got " .. type(list), 2) end
  list.n = n or list.n or #list
  return list
end

-- Calls the metric directly on column lists given by parameter name, like
-- MLflow 3's metric(predictions=..., inputs=...). Strings count as one row.
function metric_mt:__call(args)
  if type(args) ~= "table" then error(self.name .. ": call with a table of columns", 2) end
  local cols, n, first = {}, nil, nil
  local names = {}
  for k in pairs(args) do names[#names + 1] = k end
  table.sort(names, function(a, b) return tostring(a) < tostring(b) end)
  for _, k in ipairs(names) do
    local v = args[k]
    if type(v) == "string" then v = { v, n = 1 } end
    if type(v) == "table" then
      -- a plain list is a column too; every column must have the same length
      local len = v.n or #v
      if n and len ~= n then
        error(string.format("%s: column '%s' has %d values, column '%s' has %d", self.name, k, len, first, n), 2)
      end
      n, first = n or len, first or k
      local c = { n = len }
      for i = 1, len do c[i] = v[i] end
      v = c
    end
    cols[k] = v
  end
  return require("evalua.metrics.compute").run_metric(self, cols, n or 0)
end

-- Flattens a metric's aggregate results into run-metric names: for key K
-- and aggregate a, the name is K when a == first segment of K, else K/a.
function M.flat_names(m, aggregates)
  local out = {}
  local first = m.key:match("^[^/]+")
  for a, v in pairs(aggregates) do
    if v ~= nil then
      if a == first then out[m.key] = v else out[m.key .. "/" .. a] = v end
    end
  end
  return out
end

-- ---------------------------------------------------------------- built-ins

local builtin_names = {
  "token_count", "toxicity", "flesch_kincaid_grade_level", "ari_grade_level", "exact_match",
  "rouge1", "rouge2", "rougeL", "rougeLsum", "precision_at_k", "recall_at_k", "ndcg_at_k",
  "latency",
}
M.BUILTIN = builtin_names
local builtin_set = {}
for _, n in ipairs(builtin_names) do builtin_set[n] = true end

-- The constructor of a built-in metric, or nil, err for a name that is not
-- built in (a built-in that fails to load raises). Only the names above: a name never becomes a module path that could
-- resolve to a file in the working directory.
function M.builtin(name)
  if not builtin_set[name] then
    return nil, "no built-in metric '" .. tostring(name) .. "' (built in: " .. table.concat(builtin_names, ", ") .. ")"
  end
  return require("evalua.metrics.builtin." .. name)
end

setmetatable(M, {
  __index = function(t, k)
    if k == "genai" then
      local g = require "evalua.metrics.genai"
      rawset(t, k, g)
      return g
    end
    if type(k) == "string" and k:match("^[%a_][%w_]*$") then
      local ctor = M.builtin(k)
      if ctor then
        rawset(t, k, ctor)
        return ctor
      end
    end
    return nil
  end,
})

-- Metric packs: M.load is in evalua.metrics.packs (sandboxed loading).
function M.load(name_or_path, opts)
  return require("evalua.metrics.packs").load(name_or_path, opts)
end

--[[ pack_limits([t]) -> the limits before the call (a copy). The default
limits of one call into untrusted pack code: t.instructions (count, default
2e9) and t.memory (bytes, default 256 MB); false switches one off. A load's
opts.limits overrides them for that pack. ]]
function M.pack_limits(t)
  local lim = require("evalua.metrics.packs").limits
  local old = {}
  for k, v in pairs(lim) do old[k] = v end
  if t == nil then return old end
  if type(t) ~= "table" then error("pack_limits: expected a table, got " .. type(t), 2) end
  for k, v in pairs(t) do
    if k ~= "instructions" and k ~= "memory" then
      error(string.format("pack_limits: unknown limit '%s' (known: instructions, memory)", tostring(k)), 2)
    end
    if v ~= false and (type(v) ~= "number" or v < 1) then
      error(string.format("pack_limits: limit '%s' must be a positive number or false", k), 2)
    end
  end
  for k, v in pairs(t) do lim[k] = v end
  return old
end

return M
