-- evalua.metrics.genai: LLM-as-judge metrics with MLflow's API and result
-- names (make_genai_metric, make_genai_metric_from_prompt, EvaluationExample,
-- the built-in judges), judged more reliably: one request per row, user text
-- inserted literally, answers parsed by a strict ladder, failures recorded
-- and never turned into scores.
local metrics = require "evalua.metrics"
local util = require "evalua.util"

local M = {}

M.DEFAULT_MODEL = "openai:/gpt-4"
M.DEFAULT_PARAMETERS = { temperature = 0.0, max_tokens = 200, top_p = 1.0 }

-- ------------------------------------------------------------ rendering

local function sorted_keys(t)
  local ks = {}
  for k in pairs(t) do ks[#ks + 1] = k end
  table.sort(ks, function(a, b) return tostring(a) < tostring(b) end)
  return ks
end

-- Deterministic, readable text of a cell: strings as they are, integers
-- without ".0", lists of documents as JSON (keys sorted).
local function render(v)
  local tv = type(v)
  if tv == "string" then return v end
  if tv == "nil" then return "" end
  if tv == "number" then return require("evalua.util").number_text(v) end
  if tv == "boolean" then return tostring(v) end
  if tv == "table" then
    local cjson = require "cjson"
    local n = v.n or #v
    local is_list = n > 0 or next(v) == nil
    local parts = {}
    if is_list then
      for i = 1, n do
        local x = v[i]
        parts[i] = type(x) == "table" and render(x) or cjson.encode(x == nil and cjson.null or x)
      end
      return "[" .. table.concat(parts, ", ") .. "]"
    end
    for _, k in ipairs(sorted_keys(v)) do
      local x = v[k]
      parts[#parts + 1] = cjson.encode(tostring(k)) .. ": " ..
        (type(x) == "table" and render(x) or cjson.encode(x))
    end
    return "{" .. table.concat(parts, ", ") .. "}"
  end
  return tostring(v)
end
M.render = render

local function answer_format(name)
  return "Answer with exactly two fields, on two lines, one under the other:\n" ..
    "score: the numeric " .. name .. " score you give the model's output, following the rubric\n" ..
    "justification: why you gave that " .. name .. " score"
end

-- The grading-context block: one entry per column, in list order.
local function context_block(columns, values, header)
  if #columns == 0 then return "" end
  local out = { header }
  for _, c in ipairs(columns) do
    local v = values[c]
    out[#out + 1] = "key: " .. c .. "\nvalue:\n" .. render(v)
  end
  return table.concat(out, "\n")
end

local function render_example(ex, columns, include_input)
  local s = ""
  if include_input and ex.input ~= nil then s = s .. "\nExample input:\n" .. render(ex.input) .. "\n" end
  s = s .. "\nExample output:\n" .. render(ex.output) .. "\n"
  if #columns > 0 then
    s = s .. "\n" .. context_block(columns, ex.grading_context, "Example additional information:") .. "\n"
  end
  s = s .. "\nExample score: " .. render(ex.score) .. "\nExample justification: " ..
    render(ex.justification) .. "\n        "
  return s
end

local function examples_block(examples, columns, include_input)
  if not examples or #examples == 0 then return "" end
  local parts = {}
  for i, ex in ipairs(examples) do parts[i] = render_example(ex, columns, include_input) end
  return "Graded examples:\n" .. table.concat(parts, "\n")
end

--[[ The judge prompt of a make_genai_metric metric for one row. Structure
(MLflow v1): leading newline; task header with the answer format; judge
role; task statement; examples note; input (unless include_input=false);
output; grading context; definition; rubric; examples; answer format
again; closing line. Every piece of user text is inserted literally. ]]
function M.render_prompt(spec, row)
  local name = spec.name
  local with_input = spec.include_input and row.input ~= nil
  local parts = {}
  local function add(s) parts[#parts + 1] = s end
  add("\nTask:\n" .. answer_format(name) .. "\n\n")
  if spec.include_input then
    add("You act as a fair, neutral grader. You receive the input that was given to an AI model, " ..
      "the output the model produced, and sometimes extra information the model relied on.\n\n")
    add("Decide a numeric score, named " .. name .. ", for the output given the input. " ..
      "The definition of " .. name .. " and the rubric to grade it follow. Grade strictly by the rubric, " ..
      "and explain your score.\n\n")
  else
    add("You act as a fair, neutral grader. You receive the output an AI model produced, " ..
      "and sometimes extra information the model relied on.\n\n")
    add("Decide a numeric score, named " .. name .. ", for the output and the extra information. " ..
      "The definition of " .. name .. " and the rubric to grade it follow. Grade strictly by the rubric, " ..
      "and explain your score.\n\n")
  end
  add("Some graded examples may follow. Read them first and use them as reference points.\n\n")
  if with_input then add("Model input:\n" .. render(row.input) .. "\n\n") end
  add("Model output:\n" .. render(row.output) .. "\n\n")
  add(context_block(spec.grading_context_columns, row.context or {}, "Additional information used by the model:") .. "\n\n")
  add("Definition:\n" .. spec.definition .. "\n\n")
  add("Rubric:\n" .. spec.grading_prompt .. "\n\n")
  add(examples_block(spec.examples, spec.grading_context_columns, spec.include_input) .. "\n\n")
  add(answer_format(name) .. "\n\n")
  add("No extra blank lines and no other fields.\n    ")
  return table.concat(parts)
end

-- ------------------------------------------------------------ parsing

local FAIL_PARSE = "failed: could not read a score and a justification from the judge's answer"

local function trim(s) return (s:gsub("^%s+", ""):gsub("%s+$", "")) end

-- Replaces every case variant of word by its lower-case form.
local function lower_word(text, word)
  local pat = word:gsub("%a", function(c) return "[" .. c:lower() .. c:upper() .. "]" end)
  return (text:gsub(pat, word))
end

local function json_candidates(text)
  local c = { trim(text) }
  for body in text:gmatch("```[%w_%-]*%s*\n?(.-)```") do c[#c + 1] = trim(body) end
  local first, last = text:find("{", 1, true), nil
  for i = #text, 1, -1 do if text:sub(i, i) == "}" then last = i break end end
  if first and last and last > first then c[#c + 1] = text:sub(first, last) end
  return c
end

-- An integer score from a JSON value, as Python's int() would take it.
local function json_score(v)
  if math.type(v) == "integer" then return v end
  if type(v) == "number" then
    if v ~= v or v == math.huge or v == -math.huge then return nil end
    return math.tointeger(v >= 0 and math.floor(v) or math.ceil(v))
  end
  if type(v) == "string" then
    local s = trim(v)
    if s:match("^[+-]?%d+$") then return math.tointeger(tonumber(s)) end
  end
  return nil
end

--[[ parse_answer(text) -> score, justification | nil, failure note.
Ladder: a JSON object with score/justification (the whole answer, inside a
code fence, or the outermost braces), then `score: N` / `justification: ...`
lines (case-insensitive; MLflow's two forms). Scores are integers, as MLflow
reads them; anything else is a failure whose note keeps the raw answer. ]]
function M.parse_answer(text)
  if type(text) ~= "string" or trim(text) == "" then
    return nil, "failed: the judge's answer is empty"
  end
  local norm = lower_word(lower_word(text, "score"), "justification")
  local cjson = require "cjson"
  -- a JSON object is the answer only when it has a score: braces inside a
  -- line-form justification ({"a": 1}) are not
  local scoreless_json = false
  for _, cand in ipairs(json_candidates(norm)) do
    if cand:sub(1, 1) == "{" then
      local ok, data = pcall(cjson.decode, cand)
      if ok and type(data) == "table" then
        if data.score == nil then
          scoreless_json = true
        else
          local score = json_score(data.score)
          local just = data.justification
          if score ~= nil and type(just) == "string" then return score, just end
          if score == nil then
            return nil, FAIL_PARSE .. " (the JSON score is not an integer); raw answer: " .. text
          end
          return nil, FAIL_PARSE .. " (the JSON justification is not a string); raw answer: " .. text
        end
      end
    end
  end
  do
    -- markdown emphasis around the labels (**score:** 4) is not part of the answer
    local plain = norm:gsub("%*+(score:)%*+", "%1"):gsub("%*+(justification:)%*+", "%1")
    -- MLflow's first form: "score: N" then ",", then "justification: rest of the line"
    local digits, just = plain:match("score: (%d+),?%s*justification: ([^\n]+)")
    if not digits then
      digits, just = plain:match("score:%s*(%d+)%s*justification:%s*(.+)")
    end
    if digits and just and just ~= "" then
      local score = math.tointeger(tonumber(digits))
      if score then return score, just end
      return nil, FAIL_PARSE .. " (the score is too large); raw answer: " .. text
    end
  end
  if scoreless_json then
    return nil, FAIL_PARSE .. " (the JSON has no score); raw answer: " .. text
  end
  return nil, FAIL_PARSE .. "; raw answer: " .. text
end

-- ------------------------------------------------------------ examples

local example_mt = { __name = "evalua.EvaluationExample" }
example_mt.__index = example_mt
function example_mt:__tostring()
  return "EvaluationExample(input=" .. render(self.input) .. ", output=" .. render(self.output) ..
    ", score=" .. render(self.score) .. ", justification=" .. render(self.justification) .. ")"
end

-- EvaluationExample{ input, output, score, justification, grading_context }
function M.EvaluationExample(t)
  local api = "EvaluationExample"
  if type(t) ~= "table" then error(api .. ": expected a table of fields, got " .. type(t), 2) end
  util.check_keys(api, t, { input = true, output = true, score = true, justification = true, grading_context = true })
  if t.output == nil then error(api .. ": field 'output' is required", 2) end
  if type(t.score) ~= "number" then error(api .. ": field 'score' must be a number, got " .. type(t.score), 2) end
  if type(t.justification) ~= "string" then
    error(api .. ": field 'justification' must be a string, got " .. type(t.justification), 2)
  end
  if t.grading_context ~= nil and type(t.grading_context) ~= "string" and type(t.grading_context) ~= "table" then
    error(api .. ": field 'grading_context' must be a string or a table, got " .. type(t.grading_context), 2)
  end
  local e = {}
  for k, v in pairs(t) do e[k] = v end
  return setmetatable(e, example_mt)
end

function M.is_example(v) return getmetatable(v) == example_mt end

local function set_names(list)
  local s = {}
  for _, k in ipairs(list) do s[#s + 1] = k end
  table.sort(s)
  return "{" .. table.concat(s, ", ") .. "}"
end

-- Checks examples against the context columns; returns normalised copies.
local function normalise_examples(api, examples, columns)
  if examples == nil then return {} end
  if type(examples) ~= "table" then error(api .. ": examples must be a list of EvaluationExample", 3) end
  local out = {}
  for i, ex in ipairs(examples) do
    if not M.is_example(ex) then
      if type(ex) == "table" then ex = M.EvaluationExample(ex)
      else error(string.format("%s: examples[%d] must be an EvaluationExample, got %s", api, i, type(ex)), 3) end
    end
    local ctx = ex.grading_context
    if ctx == nil then ctx = {}
    elseif type(ctx) == "string" then
      if #columns == 0 then
        error(string.format("%s: examples[%d] has a grading_context but the metric has no grading_context_columns", api, i), 3)
      end
      ctx = { [columns[1]] = ctx }
    end
    local keys = {}
    for k in pairs(ctx) do keys[#keys + 1] = tostring(k) end
    local same = #keys == #columns
    if same then
      for _, c in ipairs(columns) do if ctx[c] == nil then same = false end end
    end
    if not same then
      error(string.format("%s: examples[%d] grading_context keys %s do not match grading_context_columns %s",
        api, i, set_names(keys), set_names(columns)), 3)
    end
    local copy = {}
    for k, v in pairs(ex) do copy[k] = v end
    copy.grading_context = ctx
    out[i] = setmetatable(copy, example_mt)
  end
  return out
end

-- ------------------------------------------------------------ judging

-- Hook for `evalua judge --print-prompt` and evaluate's dry run: when set,
-- judges hand each prompt to it instead of sending a request.
M.prompt_sink = nil

local JSON_SCHEMA = {
  name = "judgement",
  schema = {
    type = "object",
    properties = { score = { type = "integer" }, justification = { type = "string" } },
    required = { "score", "justification" },
    additionalProperties = false,
  },
}

local function wants_schema(model, opt)
  if opt ~= nil then return opt end
  return type(model) == "string" and model:match("^openai:/") ~= nil
end

-- Sends one judge prompt to one judge model (a URI or function(prompt,
-- params) -> answer); returns the answer text and the provider's detail
-- (logprobs, the raw body) | nil, failure note. params replace the
-- metric's parameters when given (samples' seeds, logprobs). accept(text)
-- (optional) says whether an answer is usable: only those are cached, so
-- a failed answer is asked again on the next run instead of replayed.
local function ask(spec, model, prompt, row_index, params, json_schema, accept)
  if M.prompt_sink then
    M.prompt_sink(spec.name, row_index, prompt)
    return nil, "failed: not sent (prompt printed only)"
  end
  if type(model) == "function" then
    -- a Lua judge: function(prompt) -> answer text | nil, err (tests, custom clients)
    local ok, a, b = pcall(model, prompt, params or spec.parameters)
    if ok and a ~= nil then return a, nil end
    return nil, "failed: judge request failed: " .. tostring(ok and b or a)
  end
  local text, usage_or_err, detail = require("evalua.models").chat(model, { { role = "user", content = prompt } },
    params or spec.parameters, {
      extra_headers = spec.extra_headers, proxy_url = spec.proxy_url,
      json_schema = json_schema,
      purpose = "judge:" .. spec.name,
      accept = accept,
    })
  if text == nil then
    return nil, "failed: judge request failed: " .. tostring(usage_or_err)
  end
  return text, detail
end
M._ask = ask

-- Parses a score answer and checks it against the metric's score_range.
local function read_score(spec, text)
  local score, just = M.parse_answer(text)
  if score == nil then return nil, just end
  local r = spec.score_range
  if r and (score < r[1] or score > r[2]) then
    return nil, string.format("failed: score %d is outside %s-%s; raw answer: %s",
      score, render(r[1]), render(r[2]), text)
  end
  return score, just
end
M._read_score = read_score

-- Sends one judge prompt; returns score, justification | nil, failure note.
local function judge(spec, prompt, row_index)
  local model = spec.model
  local text, err = ask(spec, model, prompt, row_index, nil,
    wants_schema(model, spec.structured_output) and JSON_SCHEMA or nil,
    function(answer) return read_score(spec, answer) ~= nil end)
  if text == nil then return nil, err end
  return read_score(spec, text)
end

local GENAI_FIELDS = {
  name = true, definition = true, grading_prompt = true, examples = true, version = true,
  model = true, grading_context_columns = true, include_input = true, parameters = true,
  aggregations = true, greater_is_better = true, max_workers = true, metric_metadata = true,
  extra_headers = true, proxy_url = true, score_range = true, structured_output = true,
  jury = true, samples = true, scoring = true, top_logprobs = true,
}

local function check_model_uri(api, model)
  if type(model) == "function" then return end
  if type(model) ~= "string" then error(api .. ": field 'model' must be a model URI string", 3) end
  local scheme, path = model:match("^([%w_%-]+):(.*)$")
  if not scheme or path:sub(1, 1) ~= "/" or #path < 2 then
    error(string.format("%s: malformed model URI '%s' (expected e.g. 'openai:/gpt-4')", api, model), 3)
  end
end

local function check_range(api, r)
  if r == nil then return end
  if type(r) ~= "table" or type(r[1]) ~= "number" or type(r[2]) ~= "number" or r[1] > r[2] then
    error(api .. ": field 'score_range' must be { low, high }", 3)
  end
end

--[[ make_genai_metric{ name, definition, grading_prompt, examples, version="v1",
model="openai:/gpt-4", grading_context_columns, include_input=true, parameters,
aggregations={"mean","variance","p90"}, greater_is_better=true, max_workers
(unset: no cap beyond --concurrency; set: at most that many of this metric's
requests in flight), metric_metadata, extra_headers, proxy_url, score_range,
structured_output, jury, samples, scoring, top_logprobs } ]]
function M.make_genai_metric(t)
  local api = "make_genai_metric"
  if type(t) ~= "table" then error(api .. ": expected a table of fields, got " .. type(t), 2) end
  util.check_keys(api, t, GENAI_FIELDS)
  util.check_field(api, t, "name", "string")
  util.check_field(api, t, "definition", "string")
  util.check_field(api, t, "grading_prompt", "string")
  util.check_field(api, t, "parameters", "table", true)
  util.check_field(api, t, "extra_headers", "table", true)
  util.check_field(api, t, "proxy_url", "string", true)
  util.check_field(api, t, "include_input", "boolean", true)
  local version = t.version or "v1"
  if version ~= "v1" then error(api .. ": unknown version '" .. tostring(version) .. "' (only 'v1' exists)", 2) end
  local model = t.model or M.DEFAULT_MODEL
  -- a list of judges is a jury (evalua.metrics.jury)
  local jury_models
  if type(model) == "table" then
    if #model == 0 then error(api .. ": field 'model' is an empty list of judges", 2) end
    for _, x in ipairs(model) do check_model_uri(api, x) end
    jury_models, model = model, model[1]
  else
    check_model_uri(api, model)
  end
  local jury = require "evalua.metrics.jury"
  if t.jury ~= nil and not jury.JURIES[t.jury] then
    error(api .. ": field 'jury' must be 'mean', 'median' or 'majority'", 2)
  end
  if t.jury ~= nil and not jury_models then error(api .. ": field 'jury' needs a list of judges in 'model'", 2) end
  if t.samples ~= nil and (math.type(t.samples) ~= "integer" or t.samples < 1) then
    error(api .. ": field 'samples' must be a positive integer", 2)
  end
  local temperature = (t.parameters or {}).temperature
  if (t.samples or 1) > 1 and not (type(temperature) == "number" and temperature > 0) then
    error(api .. ": samples = " .. t.samples .. " needs parameters.temperature > 0 (else the samples are one answer repeated)", 2)
  end
  if t.scoring ~= nil and t.scoring ~= "parsed" and t.scoring ~= "logprobs" then
    error(api .. ": field 'scoring' must be 'parsed' or 'logprobs'", 2)
  end
  check_range(api, t.score_range)
  local columns = t.grading_context_columns
  if type(columns) == "string" then columns = { columns }
  elseif columns == nil then columns = {}
  elseif type(columns) ~= "table" then error(api .. ": grading_context_columns must be a list of column names", 2) end
  local examples = normalise_examples(api, t.examples, columns)
  local spec = {
    name = t.name, definition = t.definition, grading_prompt = t.grading_prompt,
    examples = examples, model = model, grading_context_columns = columns,
    include_input = t.include_input ~= false, parameters = t.parameters or M.DEFAULT_PARAMETERS,
    extra_headers = t.extra_headers, proxy_url = t.proxy_url, score_range = t.score_range,
    structured_output = t.structured_output,
    models = jury_models or { model }, jury = t.jury, samples = t.samples, scoring = t.scoring,
    top_logprobs = t.top_logprobs,
  }
  local complex = jury_models ~= nil or (t.samples or 1) > 1 or t.scoring == "logprobs"
  local g = { ask = ask, read_score = read_score,
    schema_for = function(x) return wants_schema(x, spec.structured_output) and JSON_SCHEMA or nil end,
    label = function(x) return type(x) == "string" and x or "function" end }
  local params = { "predictions" }
  if spec.include_input then params[#params + 1] = "inputs" end
  for _, c in ipairs(columns) do
    if c ~= "predictions" and c ~= "inputs" then params[#params + 1] = c end
  end
  local function score_row(a, row_index)
    if a.predictions == nil then
      return nil, "failed: the row has no model output to judge"
    end
    local ctx = {}
    for _, c in ipairs(columns) do
      if a[c] == nil then return nil, "failed: grading context column '" .. c .. "' is empty at this row" end
      ctx[c] = a[c]
    end
    local prompt = M.render_prompt(spec, { input = a.inputs, output = a.predictions, context = ctx })
    if complex then return jury.score_row(spec, g, prompt, row_index) end
    return judge(spec, prompt, row_index)
  end
  local details = M.render_prompt(spec, { input = "{input}", output = "{output}",
    context = setmetatable({}, { __index = function(_, k) return "{" .. k .. "}" end }) })
  local m = metrics.make_metric{
    name = t.name, version = version, greater_is_better = t.greater_is_better ~= false,
    aggregations = t.aggregations, params = params, score_row = score_row,
    max_workers = t.max_workers, metric_details = details,
    metric_metadata = t.metric_metadata, score_range = t.score_range, kind = "genai",
    genai_metric_args = {
      name = t.name, definition = t.definition, grading_prompt = t.grading_prompt,
      examples = examples, version = version, model = (function()
        -- the whole jury (and samples, scoring) names the judge: a change re-judges stored rows
        local names = {}
        for i, x in ipairs(spec.models) do names[i] = type(x) == "string" and x or "function" end
        local s = table.concat(names, ",")
        if jury_models then s = s .. ";jury=" .. (t.jury or "mean") end
        if (t.samples or 1) > 1 then s = s .. ";samples=" .. t.samples end
        if t.scoring == "logprobs" then s = s .. ";scoring=logprobs" end
        return s
      end)(),
      grading_context_columns = columns, include_input = spec.include_input,
      parameters = spec.parameters, aggregations = t.aggregations,
      greater_is_better = t.greater_is_better ~= false, max_workers = t.max_workers,
      fn_name = "make_genai_metric",
    },
  }
  m.render_row = function(a) return M.render_prompt(spec, { input = a.inputs, output = a.predictions, context = a }) end
  if complex then m.finish_rows = jury.finish_rows(m, spec) end
  return m
end

local function prompt_variables(prompt)
  local vars, seen = {}, {}
  for v in prompt:gmatch("{([%a_][%w_]*)}") do
    if not seen[v] then seen[v] = true vars[#vars + 1] = v end
  end
  return vars
end
M.prompt_variables = prompt_variables

local FROM_PROMPT_FIELDS = {
  name = true, judge_prompt = true, model = true, parameters = true, aggregations = true,
  greater_is_better = true, max_workers = true, metric_metadata = true, extra_headers = true,
  proxy_url = true, score_range = true, structured_output = true,
}

--[[ make_genai_metric_from_prompt{ name, judge_prompt, model, parameters,
aggregations, greater_is_better, max_workers, metric_metadata, extra_headers,
proxy_url }: {column} variables in the prompt, the model output is {predictions};
no version, so results are name/score and name/mean. ]]
function M.make_genai_metric_from_prompt(t)
  local api = "make_genai_metric_from_prompt"
  if type(t) ~= "table" then error(api .. ": expected a table of fields, got " .. type(t), 2) end
  util.check_keys(api, t, FROM_PROMPT_FIELDS)
  util.check_field(api, t, "name", "string")
  util.check_field(api, t, "judge_prompt", "string")
  util.check_field(api, t, "parameters", "table", true)
  local model = t.model or M.DEFAULT_MODEL
  check_model_uri(api, model)
  check_range(api, t.score_range)
  local vars = prompt_variables(t.judge_prompt)
  local params = { "predictions" }
  for _, v in ipairs(vars) do if v ~= "predictions" then params[#params + 1] = v end end
  local spec = {
    name = t.name, model = model, parameters = t.parameters, extra_headers = t.extra_headers,
    proxy_url = t.proxy_url, score_range = t.score_range, structured_output = t.structured_output,
  }
  local wrapper = "\n\n" .. answer_format(t.name) .. "\n\nNo extra blank lines and no other fields."
  local function render_row(a)
    local missing
    local body = t.judge_prompt:gsub("{([%a_][%w_]*)}", function(v)
      local val = a[v]
      if val == nil then missing = missing or v return "" end
      return render(val)
    end)
    if missing then return nil, missing end
    return body .. wrapper
  end
  local function score_row(a, row_index)
    local prompt, missing = render_row(a)
    if not prompt then return nil, "failed: variable '" .. missing .. "' is empty at this row" end
    return judge(spec, prompt, row_index)
  end
  local m = metrics.make_metric{
    name = t.name, greater_is_better = t.greater_is_better ~= false, aggregations = t.aggregations,
    params = params, score_row = score_row, max_workers = t.max_workers,
    metric_metadata = t.metric_metadata, score_range = t.score_range, kind = "genai",
    metric_details = t.judge_prompt .. wrapper,
    genai_metric_args = { name = t.name, judge_prompt = t.judge_prompt, model = model,
      parameters = t.parameters, fn_name = "make_genai_metric_from_prompt" },
  }
  m.render_row = render_row
  return m
end

-- Pairwise judges with position swap (evalua.metrics.pairwise).
function M.make_pairwise_metric(t)
  return require("evalua.metrics.pairwise").make_pairwise_metric(t)
end

-- ------------------------------------------------------------ built-ins

local BUILTINS = { "faithfulness", "answer_similarity", "answer_correctness", "answer_relevance", "relevance" }
M.BUILTINS = BUILTINS

-- Options every built-in judge takes (MLflow's factory arguments).
function M.builtin_options(api, opts)
  opts = opts or {}
  if type(opts) ~= "table" then error(api .. ": expected a table of options", 4) end
  util.check_keys(api, opts, { model = true, metric_version = true, examples = true, metric_metadata = true,
    parameters = true, extra_headers = true, proxy_url = true, max_workers = true, structured_output = true })
  if opts.metric_version ~= nil and opts.metric_version ~= "v1" then
    error(api .. ": unknown metric_version '" .. tostring(opts.metric_version) .. "' (only 'v1' exists)", 3)
  end
  return opts
end

-- A built-in judge from its own text (name, definition, grading_prompt,
-- examples, grading_context_columns, include_input) and the caller's options.
-- Every built-in scores 1-5 with mean, variance and p90, higher is better.
function M.make_builtin(spec, opts)
  opts = M.builtin_options(spec.name, opts)
  return M.make_genai_metric{
    name = spec.name, definition = spec.definition, grading_prompt = spec.grading_prompt,
    examples = opts.examples or spec.examples, version = "v1", model = opts.model,
    grading_context_columns = spec.grading_context_columns, include_input = spec.include_input,
    parameters = opts.parameters, aggregations = { "mean", "variance", "p90" },
    greater_is_better = true, max_workers = opts.max_workers, metric_metadata = opts.metric_metadata,
    extra_headers = opts.extra_headers, proxy_url = opts.proxy_url, score_range = { 1, 5 },
    structured_output = opts.structured_output,
  }
end

for _, name in ipairs(BUILTINS) do
  M[name] = function(opts)
    return metrics.load(name, { args = opts or {} })
  end
end

return M
