-- evalua.metrics.pairwise: pairwise judges (genai.make_pairwise_metric).
-- The judge sees two outputs for one input, labelled A and B, and names the
-- better one. With swap (the default) every row is judged twice with the
-- positions exchanged; two verdicts that disagree make the row a tie marked
-- inconsistent, so a judge that favours a position cannot pick a winner.
local metrics = require "evalua.metrics"
local util = require "evalua.util"
local genai = require "evalua.metrics.genai"

local M = {}

local render = genai.render

M.JSON_SCHEMA = {
  name = "pairwise_judgement",
  schema = {
    type = "object",
    properties = { winner = { type = "string", enum = { "A", "B", "tie" } },
      justification = { type = "string" } },
    required = { "winner", "justification" },
    additionalProperties = false,
  },
}

local ANSWER = "Answer with exactly two fields, on two lines, one under the other:\n" ..
  "winner: A, B or tie (the better output by the criterion; tie when neither is better)\n" ..
  "justification: why, in one or two sentences\n" ..
  "A JSON object {\"winner\": \"A\" | \"B\" | \"tie\", \"justification\": \"...\"} is accepted too."

-- The pairwise prompt of one row (and of the examples): what is judged,
-- the criterion, the examples, then the input and the two outputs, each
-- closed by an end marker so that a long output cannot pose as the other.
function M.render_prompt(spec, row)
  local parts = {}
  local function add(s) parts[#parts + 1] = s end
  add("\nTask:\n" .. ANSWER .. "\n\n")
  add("You act as a fair, neutral judge. You receive the input given to an AI assistant and two " ..
    "outputs, labelled A and B, answering it. Decide which output is better by the criterion " ..
    "below, named " .. spec.name .. ". The order of the outputs is arbitrary and says nothing " ..
    "about their quality; their length is not a merit in itself.\n\n")
  add("Criterion: " .. spec.name .. "\nDefinition:\n" .. spec.definition .. "\n\n")
  add("Rubric:\n" .. spec.grading_prompt .. "\n\n")
  if #spec.examples > 0 then
    local ex = { "Judged examples:\n" }
    for _, e in ipairs(spec.examples) do
      ex[#ex + 1] = "\nExample input:\n" .. render(e.input) .. "\nExample first output:\n" ..
        render(e.output_a) .. "\nExample second output:\n" .. render(e.output_b) ..
        "\nExample winner: " .. (e.winner == "A" and "first" or e.winner == "B" and "second" or "tie") ..
        "\nExample justification: " .. render(e.justification) .. "\n"
    end
    add(table.concat(ex) .. "\n")
  end
  if row.input ~= nil then add("Input:\n" .. render(row.input) .. "\n\n") end
  for _, c in ipairs(spec.grading_context_columns) do
    add("Additional information, " .. c .. ":\n" .. render(row.context[c]) .. "\n\n")
  end
  add("Output A:\n" .. render(row.a) .. "\n(end of output A)\n\n")
  add("Output B:\n" .. render(row.b) .. "\n(end of output B)\n\n")
  add(ANSWER .. "\n")
  return table.concat(parts)
end

local function trim(s) return (s:gsub("^%s+", ""):gsub("%s+$", "")) end

local function verdict_of(v)
  if type(v) ~= "string" then return nil end
  local w = trim(trim(v):gsub("^[%*\"'%[]+", ""):gsub("[%*\"'%]%.]+$", ""))
  local l = w:lower()
  if l == "a" or l == "output a" then return "A" end
  if l == "b" or l == "output b" then return "B" end
  if l == "tie" or l == "draw" or l == "equal" or l == "neither" then return "tie" end
  return nil
end

local FAIL = "failed: could not read a winner and a justification from the judge's answer"

-- parse_answer(text) -> winner ("A" | "B" | "tie"), justification | nil,
-- failure note (keeping the raw answer). A JSON object with winner and
-- justification (whole answer, code fence or outermost braces), else
-- `winner:` / `justification:` lines, case-insensitive.
function M.parse_answer(text)
  if type(text) ~= "string" or trim(text) == "" then return nil, "failed: the judge's answer is empty" end
  local cjson = require "cjson"
  local cands = {}
  local fenced = text:match("```%w*%s*(.-)```")
  if fenced then cands[#cands + 1] = fenced end
  cands[#cands + 1] = text
  local first, last = text:find("{", 1, true), nil
  for i = #text, 1, -1 do if text:sub(i, i) == "}" then last = i break end end
  if first and last and last > first then cands[#cands + 1] = text:sub(first, last) end
  for _, c in ipairs(cands) do
    local ok, v = pcall(cjson.decode, trim(c))
    if ok and type(v) == "table" then
      local low = {}
      for k, x in pairs(v) do if type(k) == "string" then low[k:lower()] = x end end
      if low.winner ~= nil then
        local w = verdict_of(low.winner)
        if not w then return nil, FAIL .. " (the winner is not A, B or tie); raw answer: " .. text end
        if type(low.justification) ~= "string" then
          return nil, FAIL .. " (the JSON justification is not a string); raw answer: " .. text
        end
        return w, low.justification
      end
    end
  end
  local lower = text:lower()
  local ws = lower:find("winner%s*:")
  local js = lower:find("justification%s*:")
  if ws and js then
    local wline = text:sub(ws):match("^[^:]*:%s*([^\n]*)")
    local w = verdict_of(wline and wline:gsub(",%s*justification.*$", "") or nil)
    local just = trim(text:sub(js):match("^[^:]*:%s*(.*)$") or "")
    if w and just ~= "" then return w, just end
    if not w then return nil, FAIL .. " (the winner is not A, B or tie); raw answer: " .. text end
  end
  return nil, FAIL .. "; raw answer: " .. text
end

local FIELDS = {
  name = true, definition = true, grading_prompt = true, examples = true, version = true,
  model = true, grading_context_columns = true, include_input = true, parameters = true,
  swap = true, max_workers = true, metric_metadata = true, extra_headers = true, proxy_url = true,
  structured_output = true,
}

local function check_examples(api, examples)
  if examples == nil then return {} end
  if type(examples) ~= "table" then error(api .. ": examples must be a list of tables", 3) end
  local out = {}
  for i, e in ipairs(examples) do
    if type(e) ~= "table" then error(string.format("%s: examples[%d] must be a table", api, i), 3) end
    util.check_keys(api .. ": examples[" .. i .. "]", e,
      { input = true, output_a = true, output_b = true, winner = true, justification = true })
    if e.output_a == nil or e.output_b == nil then
      error(string.format("%s: examples[%d] needs output_a and output_b", api, i), 3)
    end
    if e.winner ~= "A" and e.winner ~= "B" and e.winner ~= "tie" then
      error(string.format("%s: examples[%d].winner must be 'A', 'B' or 'tie'", api, i), 3)
    end
    if type(e.justification) ~= "string" then
      error(string.format("%s: examples[%d].justification must be a string", api, i), 3)
    end
    out[i] = e
  end
  return out
end

local function flip(w)
  if w == "A" then return "B" elseif w == "B" then return "A" end
  return w
end

--[[ make_pairwise_metric{ name, definition, grading_prompt, examples =
{ { input, output_a, output_b, winner = "A"|"B"|"tie", justification } },
version = "v1", model, parameters, swap = true, grading_context_columns,
include_input = true, max_workers (unset: no cap), metric_metadata, extra_headers,
proxy_url, structured_output }. Parameters bound per row: inputs, output_a,
output_b and the grading-context columns. Per-row columns name/v1/winner
(A, B or tie in terms of the original columns), name/v1/consistent (1/0,
with swap) and name/v1/justification; aggregates win_rate_a, win_rate_b,
tie_rate, consistency (with swap) and failures. ]]
function M.make_pairwise_metric(t)
  local api = "make_pairwise_metric"
  if type(t) ~= "table" then error(api .. ": expected a table of fields, got " .. type(t), 2) end
  util.check_keys(api, t, FIELDS)
  util.check_field(api, t, "name", "string")
  util.check_field(api, t, "definition", "string")
  util.check_field(api, t, "grading_prompt", "string")
  util.check_field(api, t, "parameters", "table", true)
  util.check_field(api, t, "extra_headers", "table", true)
  util.check_field(api, t, "proxy_url", "string", true)
  util.check_field(api, t, "swap", "boolean", true)
  util.check_field(api, t, "include_input", "boolean", true)
  local version = t.version or "v1"
  if version ~= "v1" then error(api .. ": unknown version '" .. tostring(version) .. "' (only 'v1' exists)", 2) end
  local model = t.model or genai.DEFAULT_MODEL
  if type(model) ~= "function" and (type(model) ~= "string" or not model:match("^[%w_%-]+:/.")) then
    error(api .. ": field 'model' must be a model URI string or a function", 2)
  end
  local columns = t.grading_context_columns
  if type(columns) == "string" then columns = { columns } elseif columns == nil then columns = {} end
  local spec = {
    name = t.name, definition = t.definition, grading_prompt = t.grading_prompt,
    examples = check_examples(api, t.examples), model = model, grading_context_columns = columns,
    include_input = t.include_input ~= false, parameters = t.parameters or genai.DEFAULT_PARAMETERS,
    extra_headers = t.extra_headers, proxy_url = t.proxy_url, swap = t.swap ~= false,
  }
  local schema
  if t.structured_output == true or (t.structured_output == nil and type(model) == "string" and model:match("^openai:/")) then
    schema = M.JSON_SCHEMA
  end
  local params = { "output_a", "output_b" }
  if spec.include_input then params[#params + 1] = "inputs" end
  for _, c in ipairs(columns) do params[#params + 1] = c end

  local function one(a, b, inputs, ctx, row_index)
    local prompt = M.render_prompt(spec, { input = spec.include_input and inputs or nil, a = a, b = b, context = ctx })
    -- only a verdict that parses is cached (a failed one is asked again next run)
    local text, err = genai._ask(spec, model, prompt, row_index, nil, schema,
      function(answer) return M.parse_answer(answer) ~= nil end)
    if text == nil then return nil, err end
    return M.parse_answer(text)
  end

  local function score_row(args, row_index)
    if args.output_a == nil or args.output_b == nil then
      return nil, "failed: the row lacks output " .. (args.output_a == nil and "A" or "B")
    end
    local ctx = {}
    for _, c in ipairs(columns) do
      if args[c] == nil then return nil, "failed: grading context column '" .. c .. "' is empty at this row" end
      ctx[c] = args[c]
    end
    local w1, j1 = one(args.output_a, args.output_b, args.inputs, ctx, row_index)
    if w1 == nil then return nil, j1 end
    if not spec.swap then return w1, j1, { first = w1 } end
    local w2, j2 = one(args.output_b, args.output_a, args.inputs, ctx, row_index)
    if w2 == nil then return nil, j2, { first = w1 } end
    local w2o = flip(w2) -- the second verdict in terms of the original columns
    local consistent = w1 == w2o
    local just = "A first: " .. j1 .. " | B first: " .. j2
    return consistent and w1 or "tie", just, { first = w1, second = w2o, consistent = consistent and 1 or 0 }
  end

  local details = M.render_prompt(spec, { input = spec.include_input and "{inputs}" or nil,
    a = "{output_a}", b = "{output_b}",
    context = setmetatable({}, { __index = function(_, k) return "{" .. k .. "}" end }) })
  local m = metrics.make_metric{
    name = t.name, version = version, greater_is_better = true, aggregations = {},
    params = params, score_row = score_row, max_workers = t.max_workers,
    metric_details = details, metric_metadata = t.metric_metadata, kind = "genai",
    genai_metric_args = { name = t.name, definition = t.definition, grading_prompt = t.grading_prompt,
      model = type(model) == "string" and model or "function", parameters = spec.parameters,
      swap = spec.swap, fn_name = "make_pairwise_metric" },
  }
  m.score_column = m.key .. "/winner"
  -- win rates, ties and consistency have no better direction for a run
  m.greater_is_better = nil
  m.pairwise = true
  m.swap = spec.swap
  m.finish_rows = function(mv)
    local n = mv.scores.n
    local a, b, tie, judged, cons, swapped = 0, 0, 0, 0, 0, 0
    local consistent = { n = n }
    for i = 1, n do
      local w = mv.scores[i]
      if w ~= nil then
        judged = judged + 1
        if w == "A" then a = a + 1 elseif w == "B" then b = b + 1 else tie = tie + 1 end
      end
      local e = mv.extras and mv.extras[i]
      if w ~= nil and type(e) == "table" and e.consistent ~= nil then
        consistent[i] = e.consistent
        swapped = swapped + 1
        cons = cons + e.consistent
      end
    end
    local NAN = 0 / 0
    mv.aggregate_results = {
      win_rate_a = judged > 0 and a / judged or NAN,
      win_rate_b = judged > 0 and b / judged or NAN,
      tie_rate = judged > 0 and tie / judged or NAN,
    }
    if spec.swap then
      mv.aggregate_results.consistency = swapped > 0 and cons / swapped or NAN
      mv.extra_columns = { { m.key .. "/consistent", consistent } }
    end
  end
  m.render_row = function(args)
    return M.render_prompt(spec, { input = args.inputs, a = args.output_a, b = args.output_b, context = args })
  end
  return m
end

-- Bootstrap intervals of the pairwise rates from a winner column (and a
-- consistent column): { win_rate_a = { lo, hi }, ... } over the judged rows.
function M.rate_intervals(winners, consistent, opts)
  opts = opts or {}
  local ag = require "evalua.agreement"
  local rows = {}
  for i = 1, winners.n or #winners do
    local w = winners[i]
    if w == "A" or w == "B" or w == "tie" then rows[#rows + 1] = { w = w, c = consistent and consistent[i] } end
  end
  local m = #rows
  if m == 0 then return {} end
  local B = opts.resamples or 2000
  local draw = ag.rng(opts.seed or 42)
  local reps = { win_rate_a = {}, win_rate_b = {}, tie_rate = {}, consistency = {} }
  for r = 1, B do
    local a, b, t, c, cn = 0, 0, 0, 0, 0
    for _ = 1, m do
      local x = rows[draw(m)]
      if x.w == "A" then a = a + 1 elseif x.w == "B" then b = b + 1 else t = t + 1 end
      if x.c ~= nil then c, cn = c + x.c, cn + 1 end
    end
    reps.win_rate_a[r], reps.win_rate_b[r], reps.tie_rate[r] = a / m, b / m, t / m
    if cn > 0 then reps.consistency[#reps.consistency + 1] = c / cn end
  end
  local out = {}
  for k, l in pairs(reps) do out[k] = ag.interval(l, opts.level) end
  return out
end

-- The `runs show` section of a run's pairwise verdicts: per winner column
-- of the stored results table, the rates with bootstrap intervals, and
-- with model_a/model_b columns (evalua.compare) the Bradley-Terry strengths.
function M.show_lines(tracking, run_id)
  local t = tracking.load_table_columns(run_id, "eval_results_table")
  if not t then return {} end
  local fmt = require("evalua.agreement").fmt
  local out = {}
  for _, name in ipairs(t.names) do
    local key = name:match("^(.*)/winner$")
    if key then
      local winners = t.columns[name]
      winners.n = winners.n or t.n_rows
      local cons = t.columns[key .. "/consistent"]
      local ci = M.rate_intervals(winners, cons)
      local counts = { A = 0, B = 0, tie = 0 }
      local judged, cn, cs = 0, 0, 0
      for i = 1, t.n_rows do
        local w = winners[i]
        if counts[w] then counts[w] = counts[w] + 1 judged = judged + 1 end
        if cons and counts[w] and cons[i] ~= nil then cn, cs = cn + 1, cs + cons[i] end
      end
      out[#out + 1] = string.format("  %s (%d rows judged, 95%% bootstrap intervals)", key, judged)
      local function line(label, v, c)
        out[#out + 1] = string.format("    %-12s %8s%s", label, fmt(v), c and string.format("  [%s, %s]", fmt(c[1]), fmt(c[2])) or "")
      end
      if judged > 0 then
        line("win_rate_a", counts.A / judged, ci.win_rate_a)
        line("win_rate_b", counts.B / judged, ci.win_rate_b)
        line("tie_rate", counts.tie / judged, ci.tie_rate)
        if cn > 0 then line("consistency", cs / cn, ci.consistency) end
      end
      local ma, mb, rows = t.columns.model_a, t.columns.model_b, t.columns.row
      if ma and mb and rows then
        local idx, names = {}, {}
        for i = 1, t.n_rows do
          for _, v in ipairs({ ma[i], mb[i] }) do
            if v ~= nil and not idx[v] then idx[v] = true names[#names + 1] = v end
          end
        end
        table.sort(names)
        for k, v in ipairs(names) do idx[v] = k end
        local ia, ib = {}, {}
        for i = 1, t.n_rows do ia[i], ib[i] = idx[ma[i]], idx[mb[i]] end
        local cmp = require "evalua.compare"
        out[#out + 1] = "    Bradley-Terry strengths (log scale, mean 0)"
        for _, l in ipairs(cmp.strength_lines(cmp.strengths(names, ia, ib, rows, winners, { resamples = 1000 }))) do
          out[#out + 1] = "  " .. l
        end
      end
    end
  end
  return out
end

return M
