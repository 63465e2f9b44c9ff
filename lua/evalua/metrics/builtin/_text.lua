-- evalua.metrics.builtin._text: what the text metrics built on evalua.text
-- share (readability, ROUGE, exact match, retrieval): option checks, the
-- per-row "not a string" warnings, and the metric shapes.
local metrics = require "evalua.metrics"

local M = {}

-- Raises "<api>: unknown option 'x' (known: a, b)" for a key not in known.
function M.check_opts(api, opts, known)
  if opts == nil then return {} end
  if type(opts) ~= "table" then
    error(string.format("%s: expected a table of options, got %s", api, type(opts)), 3)
  end
  local names = {}
  for k in pairs(known) do names[#names + 1] = k end
  table.sort(names)
  for k in pairs(opts) do
    if not known[k] then
      error(string.format("%s: unknown option '%s' (known: %s)", api, tostring(k),
        #names > 0 and table.concat(names, ", ") or "none"), 3)
    end
  end
  return opts
end

local function describe_rows(rows)
  local shown = {}
  for i = 1, math.min(#rows, 5) do shown[i] = tostring(rows[i]) end
  local s = table.concat(shown, ", ")
  if #rows > 5 then s = s .. ", ..." end
  return s
end

-- One warning for the skipped rows of a column call, or nil when none:
-- "2 of 10 rows have a prediction or target that is not a string (rows 3,
-- 7); scored nil" (evaluate prefixes the metric's name).
function M.skipped_warning(what, skipped, n)
  if not skipped or #skipped == 0 then return nil end
  return string.format("%d of %d rows have %s that is not a string (row%s %s); scored nil",
    #skipped, n, what, #skipped > 1 and "s" or "", describe_rows(skipped))
end

function M.count(col)
  if type(col) ~= "table" then return 0 end
  return col.n or #col
end

-- A readability metric (flesch_kincaid_grade_level, ari_grade_level).
function M.readability(name, long_name, fn, opts)
  opts = M.check_opts(name, opts, { rounding = true })
  if opts.rounding ~= nil and type(opts.rounding) ~= "boolean" then
    error(name .. ": option 'rounding' must be a boolean", 3)
  end
  local rounding = opts.rounding ~= false
  return metrics.make_metric {
    name = name,
    version = "v1",
    greater_is_better = false,
    long_name = long_name,
    aggregations = { "mean", "variance", "p90" },
    metric_details = rounding and "textstat 0.7.3/0.7.4 (legacy rounding)"
      or "textstat 0.7.3/0.7.4 with set_rounding(False)",
    eval_fn = function(predictions)
      local n = M.count(predictions)
      local scores, skipped = fn(predictions, { rounding = rounding })
      local w = M.skipped_warning("a prediction", skipped, n)
      return { scores = scores, warnings = w and { w } or nil }
    end,
  }
end

-- A ROUGE metric (rouge1, rouge2, rougeL, rougeLsum): per-row F-measure.
function M.rouge(rouge_type, opts)
  opts = M.check_opts(rouge_type, opts, { use_stemmer = true })
  if opts.use_stemmer ~= nil and type(opts.use_stemmer) ~= "boolean" then
    error(rouge_type .. ": option 'use_stemmer' must be a boolean", 3)
  end
  local stem = opts.use_stemmer == true
  local text = require "evalua.text"
  return metrics.make_metric {
    name = rouge_type,
    version = "v1",
    greater_is_better = true,
    aggregations = { "mean", "variance", "p90" },
    optional = { targets = true },
    metric_details = "rouge_score 0.1.2 F-measure" .. (stem and ", Porter stemmer" or ""),
    eval_fn = function(predictions, targets)
      -- no targets: nothing to score; evaluate warns and goes on, as MLflow does
      if targets == nil then return nil end
      local n = M.count(predictions)
      if M.count(targets) ~= n then
        error(string.format("%s: %d predictions but %d targets", rouge_type, n, M.count(targets)), 0)
      end
      local scores, skipped, errors = text.rouge(predictions, targets, rouge_type, { use_stemmer = stem })
      local warnings = {}
      warnings[#warnings + 1] = M.skipped_warning("a prediction or target", skipped, n)
      if errors then
        local rows = {}
        for r in pairs(errors) do rows[#rows + 1] = r end
        table.sort(rows)
        warnings[#warnings + 1] = string.format("row%s %s could not be scored: %s; scored nil",
          #rows > 1 and "s" or "", describe_rows(rows), errors[rows[1]])
      end
      return { scores = scores, warnings = #warnings > 0 and warnings or nil }
    end,
  }
end

-- ---- retrieval ----

-- A retrieval cell as a list of ids and its length, or nil and why. Lists
-- may be Lua sequences (with an optional field n) or JSON array text; ids are
-- strings or numbers. The list is not copied.
local function id_list(cell)
  if type(cell) == "string" and cell:match("^%s*%[") then
    local ok, v = pcall(require("cjson").decode, cell)
    if ok and type(v) == "table" then cell = v else return nil, "invalid JSON list" end
  end
  if type(cell) ~= "table" then return nil, "a " .. type(cell) .. ", not a list" end
  local n = cell.n or #cell
  for i = 1, n do
    local t = type(cell[i])
    if t ~= "string" and t ~= "number" then
      return nil, "an element that is a " .. t .. ", not a string or number"
    end
  end
  return cell, n
end

-- A retrieval metric: per-row score(retrieved, n_retrieved, truth, n_truth, k).
function M.retrieval(kind, score, opts)
  local api = kind .. "_at_k"
  if type(opts) == "number" then opts = { k = opts } end -- precision_at_k(5), as MLflow's factories
  opts = M.check_opts(api, opts, { k = true })
  local k = opts.k or 3
  if math.type(k) ~= "integer" or k < 1 then
    error(string.format("%s: k must be a positive integer, got %s", api, tostring(k)), 3)
  end
  local name = kind .. "_at_" .. k
  return metrics.make_metric {
    name = name,
    greater_is_better = true,
    aggregations = { "mean", "variance", "p90" },
    eval_fn = function(predictions, targets)
      local n = M.count(predictions)
      if M.count(targets) ~= n then
        error(string.format("%s: %d predictions but %d targets", name, n, M.count(targets)), 0)
      end
      local scores, bad, why = { n = n }, {}, nil
      for i = 1, n do
        local pred, np = id_list(predictions[i])
        local tgt, nt = id_list(targets[i])
        if pred and tgt then
          scores[i] = score(pred, np, tgt, nt, k)
        else
          bad[#bad + 1] = i
          why = why or string.format("row %d: %s %s", i, pred and "target is" or "prediction is",
            pred and nt or np)
        end
      end
      local warnings
      if #bad > 0 then
        warnings = { string.format("%d of %d rows are not lists of document ids (row%s %s; %s); scored nil",
          #bad, n, #bad > 1 and "s" or "", describe_rows(bad), why) }
      end
      return { scores = scores, warnings = warnings }
    end,
  }
end

-- Membership in list[1..n]: a linear scan for the short lists retrieval rows
-- hold; long lists are looked up in a set made once per row (see as_set).
local function in_list(list, n, v)
  for i = 1, n do if list[i] == v then return true end end
  return false
end

local function as_set(list, n)
  if n <= 16 then return nil end
  local set = {}
  for i = 1, n do set[list[i]] = true end
  return set
end

-- The number of distinct ids in list[1..n].
local function distinct(list, n, set)
  if set then
    local c = 0
    for _ in pairs(set) do c = c + 1 end
    return c
  end
  local d = 0
  for i = 1, n do
    local v, seen = list[i], false
    for j = 1, i - 1 do if list[j] == v then seen = true; break end end
    if not seen then d = d + 1 end
  end
  return d
end

-- MLflow: relevant among the first k retrieved (duplicates count) divided by
-- the number retrieved (not k); 0 when nothing was retrieved.
function M.precision(pred, np, tgt, nt, k)
  local m = k < np and k or np
  if m == 0 then return 0 end
  local set = as_set(tgt, nt)
  local hits = 0
  for i = 1, m do
    local d = pred[i]
    if set then
      if set[d] then hits = hits + 1 end
    elseif in_list(tgt, nt, d) then
      hits = hits + 1
    end
  end
  return hits / m
end

-- MLflow: |set(target) & set(pred[:k])| / |set(target)|; with no targets,
-- 1 when nothing was retrieved, else 0.
function M.recall(pred, np, tgt, nt, k)
  local m = k < np and k or np
  if nt == 0 then return m == 0 and 1 or 0 end
  local set = as_set(tgt, nt)
  local hits = 0
  for i = 1, m do
    local d = pred[i]
    if not in_list(pred, i - 1, d) then
      if set then
        if set[d] then hits = hits + 1 end
      elseif in_list(tgt, nt, d) then
        hits = hits + 1
      end
    end
  end
  return hits / distinct(tgt, nt, set)
end

local LOG2 = math.log(2)
local discount = {} -- 1 / log2(i + 1), i = 1, 2, ...
local function disc(i)
  local v = discount[i]
  if not v then
    v = 1 / (math.log(i + 1) / LOG2)
    discount[i] = v
  end
  return v
end

-- MLflow's ndcg_at_k: both lists empty 1, one empty 0; else binary-relevance
-- NDCG over the first k retrieved (sklearn ndcg_score, k = number retrieved,
-- ties ignored). A repeated id counts as a fresh document, relevant when the
-- original is, and so also raises the number of relevant documents.
function M.ndcg(pred, np, tgt, nt, k)
  if np == 0 and nt == 0 then return 1 end
  if np == 0 or nt == 0 then return 0 end
  local set = as_set(tgt, nt)
  local relevant = distinct(tgt, nt, set)
  local m = k < np and k or np
  local dcg = 0
  for i = 1, m do
    local d = pred[i]
    local rel
    if set then rel = set[d] == true else rel = in_list(tgt, nt, d) end
    if rel then
      dcg = dcg + disc(i)
      if in_list(pred, i - 1, d) then relevant = relevant + 1 end
    end
  end
  local idcg = 0
  for i = 1, (m < relevant and m or relevant) do idcg = idcg + disc(i) end
  if idcg == 0 then return 0 end
  return dcg / idcg
end

-- Equality of two typed values as Python's == on numpy object arrays (what
-- MLflow's exact_match compares): numbers by value (1 == 1.0), a boolean as
-- 1 or 0 against a number, other types never equal to each other, nil never
-- equal to anything.
function M.same_value(a, b)
  if a == nil or b == nil then return false end
  if type(a) == "boolean" and type(b) == "number" then a = a and 1 or 0
  elseif type(b) == "boolean" and type(a) == "number" then b = b and 1 or 0 end
  return a == b
end

return M
