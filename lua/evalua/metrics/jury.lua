-- evalua.metrics.jury: the judging of one row by several judges (a jury),
-- by K samples of one judge (self-consistency), and with logprob-weighted
-- scores (G-Eval), for make_genai_metric's model = { ... }, jury =,
-- samples = and scoring = "logprobs". Every judge gets exactly the request
-- it would get alone; only samples and logprobs add body fields.
local M = {}

M.JURIES = { mean = true, median = true, majority = true }

local function copy(t)
  local c = {}
  for k, v in pairs(t or {}) do c[k] = v end
  return c
end

local function trim(s) return (s:gsub("^%s+", ""):gsub("%s+$", "")) end

-- Whether a judge model answers `n` choices in one request.
local function supports_n(model)
  return type(model) == "string" and model:match("^openai:/") ~= nil
end
M.supports_n = supports_n

-- Whether a judge model can be asked for logprobs (OpenAI-compatible).
local function supports_logprobs(model)
  return type(model) == "string" and (model:match("^openai:/") or model:match("^endpoints:/")
    or model:match("^gateway:/")) ~= nil
end

--[[ The logprob-weighted score of one answer (G-Eval): the token that
carries the score (the first integer token after the text "score"), and
among its top_logprobs the integer tokens inside range (any integer when
range is nil): sum p(k) * k / sum p(k). content: the choice's
logprobs.content list. Returns score | nil, why. ]]
function M.weighted_score(content, range)
  if type(content) ~= "table" or #content == 0 then return nil, "the answer has no token logprobs" end
  local before = {}
  for _, tok in ipairs(content) do
    local text = type(tok) == "table" and tok.token
    if type(text) ~= "string" then return nil, "a logprobs token has no text" end
    local seen = table.concat(before):lower()
    if seen:find("score", 1, true) and trim(text):match("^%d+$") then
      local num, den = 0, 0
      local tops = tok.top_logprobs
      if type(tops) ~= "table" or #tops == 0 then return nil, "the score token has no top_logprobs" end
      for _, alt in ipairs(tops) do
        local t = type(alt) == "table" and type(alt.token) == "string" and trim(alt.token) or ""
        local k = t:match("^%d+$") and tonumber(t)
        local lp = type(alt) == "table" and tonumber(alt.logprob)
        if k and lp and (range == nil or (k >= range[1] and k <= range[2])) then
          local p = math.exp(lp)
          num, den = num + p * k, den + p
        end
      end
      if den <= 0 then return nil, "no score inside the range among the score token's top_logprobs" end
      return num / den
    end
    before[#before + 1] = text
  end
  return nil, "no score token in the answer's logprobs"
end

-- The choices of an OpenAI-shaped answer: { { text, logprobs_content }, ... }.
local function choices_of(text, detail)
  local raw = type(detail) == "table" and detail.raw
  local list = {}
  if type(raw) == "table" and type(raw.choices) == "table" then
    for _, c in ipairs(raw.choices) do
      local msg = type(c) == "table" and c.message
      local t = type(msg) == "table" and msg.content
      if type(t) == "string" then
        local lp = type(c.logprobs) == "table" and c.logprobs.content or nil
        list[#list + 1] = { text = t, logprobs = type(lp) == "table" and lp or nil }
      end
    end
  end
  if #list == 0 then
    local lp = type(detail) == "table" and type(detail.logprobs) == "table" and detail.logprobs.content or nil
    list[1] = { text = text, logprobs = type(lp) == "table" and lp or nil }
  end
  return list
end

local function mean(xs)
  local s = 0
  for _, x in ipairs(xs) do s = s + x end
  return s / #xs
end

local function median(xs)
  local s = copy(xs)
  table.sort(s)
  local n = #s
  if n % 2 == 1 then return s[(n + 1) // 2] end
  return (s[n // 2] + s[n // 2 + 1]) / 2
end

-- Majority of scores rounded to integers; a tie between the most common
-- scores is settled by the median of all scores.
local function majority(xs)
  local count, best, top = {}, 0, {}
  for _, x in ipairs(xs) do
    local k = math.floor(x + 0.5)
    count[k] = (count[k] or 0) + 1
  end
  for k, c in pairs(count) do
    if c > best then best, top = c, { k } elseif c == best then top[#top + 1] = k end
  end
  if #top == 1 then return top[1] end
  return median(xs)
end

M.combine = { mean = mean, median = median, majority = majority }

local function range_of(xs)
  local lo, hi = math.huge, -math.huge
  for _, x in ipairs(xs) do
    if x < lo then lo = x end
    if x > hi then hi = x end
  end
  return hi - lo
end

--[[ One judge's score for one row: K samples (one request with n = K where
the provider takes n, else K requests with seeds seed0 + k), each read as
a logprob-weighted score when asked and available, else parsed.
Returns { score, justification, samples = {...}, scoring } | nil, note. ]]
local function judge_one(spec, g, model, prompt, row_index)
  local K = spec.samples or 1
  local base = spec.parameters or {}
  local want_lp = spec.scoring == "logprobs" and supports_logprobs(model)
  local schema = g.schema_for(model)
  local answers = {}
  local function with(params_extra)
    local p = copy(base)
    for k, v in pairs(params_extra) do p[k] = v end
    return p
  end
  local lp_fields = want_lp and { logprobs = true, top_logprobs = spec.top_logprobs or 20 } or {}
  -- only answers that parse are cached, so a failed one is asked again next run
  local function accept(text) return g.read_score(spec, text) ~= nil end
  local failure
  if K > 1 and supports_n(model) then
    local extra = copy(lp_fields)
    extra.n = K
    local text, detail = g.ask(spec, model, prompt, row_index, with(extra), schema, accept)
    if text == nil then return nil, detail end
    answers = choices_of(text, detail)
  else
    local seed0 = tonumber(base.seed) or 0
    for k = 1, K do
      local extra = copy(lp_fields)
      if K > 1 then
        if type(model) == "string" and model:match("^anthropic:/") then
          -- Anthropic takes no seed; a distinct metadata user keeps the K bodies apart
          extra.metadata = { user_id = "evalua-sample-" .. k }
        else
          extra.seed = seed0 + k
        end
      end
      local params = (K > 1 or want_lp) and with(extra) or nil
      local text, detail = g.ask(spec, model, prompt, row_index, params, schema, accept)
      if text == nil then failure = detail
      else
        local list = choices_of(text, detail)
        answers[#answers + 1] = list[1]
      end
    end
  end
  local scores, justs, how = {}, {}, {}
  for _, a in ipairs(answers) do
    local s, j = g.read_score(spec, a.text)
    if s == nil then failure = j
    else
      local used = "parsed"
      if want_lp then
        local w = M.weighted_score(a.logprobs, spec.score_range)
        if w then s, used = w, "logprobs" end
      end
      scores[#scores + 1], justs[#justs + 1], how[#how + 1] = s, j, used
    end
  end
  if #scores == 0 then return nil, failure or "failed: no answer" end
  local scoring = how[1]
  for _, u in ipairs(how) do if u ~= scoring then scoring = "mixed" end end
  return { score = mean(scores), justification = justs[1], samples = scores, scoring = scoring,
    failed_samples = K > 1 and (K - #scores) or 0 }
end

local function fmt(x)
  if math.type(x) == "integer" or x == math.floor(x) then return string.format("%d", x) end
  return string.format("%.4g", x)
end

--[[ Scores one row with spec.models (one or more judges). Returns score,
justification, extra = { scores = "[...]", disagreement, scoring,
judge_failures } | nil, note, extra. g: { ask, read_score, schema_for }. ]]
function M.score_row(spec, g, prompt, row_index)
  local results, notes = {}, {}
  local models = spec.models
  for j, model in ipairs(models) do
    local r, note = judge_one(spec, g, model, prompt, row_index)
    results[j] = r or false
    if not r then notes[#notes + 1] = (#models > 1 and ("judge " .. j .. ": ") or "") .. tostring(note) end
  end
  local scores, shown, justs = {}, {}, {}
  local scoring
  for j = 1, #models do
    local r = results[j]
    if r then
      scores[#scores + 1] = r.score
      shown[j] = fmt(r.score)
      justs[#justs + 1] = #models > 1 and (g.label(models[j]) .. ": " .. r.justification) or r.justification
      if scoring == nil then scoring = r.scoring elseif scoring ~= r.scoring then scoring = "mixed" end
    else
      shown[j] = "null"
    end
  end
  local extra = { judge_failures = #models - #scores }
  if #models > 1 then
    extra.scores = "[" .. table.concat(shown, ", ") .. "]"
  end
  if #scores == 0 then return nil, table.concat(notes, "; "), extra end
  local score
  if #models > 1 then
    score = M.combine[spec.jury or "mean"](scores)
    extra.disagreement = range_of(scores)
  else
    local r = results[1]
    score = r.score
    if #r.samples > 1 then
      extra.scores = "[" .. table.concat((function()
        local t = {}
        for i, s in ipairs(r.samples) do t[i] = fmt(s) end
        return t
      end)(), ", ") .. "]"
      extra.disagreement = range_of(r.samples)
    end
  end
  if spec.scoring == "logprobs" then extra.scoring = scoring end
  return score, table.concat(justs, " | "), extra
end

-- finish_rows for a metric judged here: the per-row columns and the count
-- of judges (or samples) that failed on rows that still got a score.
function M.finish_rows(m, spec)
  return function(mv)
    local n = mv.scores.n
    local scores, dis, scoring = { n = n }, { n = n }, { n = n }
    local judge_failures = 0
    for i = 1, n do
      local e = mv.extras and mv.extras[i]
      if type(e) == "table" then
        scores[i], dis[i], scoring[i] = e.scores, e.disagreement, e.scoring
        if mv.scores[i] ~= nil then judge_failures = judge_failures + (e.judge_failures or 0) end
      end
    end
    local cols = {}
    if #spec.models > 1 or (spec.samples or 1) > 1 then
      cols[#cols + 1] = { m.key .. "/scores", scores }
      cols[#cols + 1] = { m.key .. "/disagreement", dis }
    end
    if spec.scoring == "logprobs" then cols[#cols + 1] = { m.key .. "/scoring", scoring } end
    mv.extra_columns = cols
    mv.aggregate_results = mv.aggregate_results or {}
    if #spec.models > 1 then mv.aggregate_results.judge_failures = judge_failures end
  end
end

return M
