-- evalua.accounting: token usage and cost of a run. Every model or judge
-- call is recorded here (sent, replayed from the cache, failed, or only
-- counted under --dry-run); snapshot() gives the totals per run and per
-- model for the run store and the summary line printed at the end.
local config = require "evalua.config"

local M = {}

local models, order = {}, {}
local endpoints = {} -- base URL -> { requests, failures, ejections } (endpoint pools)
local dry = { requests = 0, prompt_tokens = 0, cost_usd = 0, unpriced = {} }
local prices
local price_memo = {} -- model name -> price entry, filled by M.price

local function zero()
  return { calls = 0, requests = 0, cache_hits = 0, failures = 0, prompt_tokens = 0, completion_tokens = 0,
    total_tokens = 0, cost_usd = 0, priced = true }
end

-- ---------------------------------------------------------------- prices

local function load_prices()
  if prices then return prices end
  local t = {}
  for k, v in pairs(require("evalua.prices")) do t[k] = v end
  local path = os.getenv("EVALUA_PRICES")
  if path and path ~= "" then
    local f, err = io.open(path, "rb")
    if not f then error("accounting: EVALUA_PRICES: " .. tostring(err), 0) end
    local text = f:read("a")
    f:close()
    local ok, user = pcall(require("cjson").decode, text)
    if not ok or type(user) ~= "table" then
      error("accounting: EVALUA_PRICES: " .. path .. ": not a JSON object of model prices", 0)
    end
    for name, p in pairs(user) do
      if type(p) ~= "table" or type(p.input) ~= "number" or type(p.output) ~= "number" then
        error(string.format("accounting: EVALUA_PRICES: %s: entry '%s' needs numeric input and output",
          path, tostring(name)), 0)
      end
      t[name] = { input = p.input, output = p.output }
    end
  end
  prices, price_memo = t, {}
  return t
end

-- The price entry { input, output } (USD per 1M tokens) of a model name:
-- the exact entry, else the longest entry the name starts with; nil if none.
function M.price(model)
  if type(model) ~= "string" then return nil end
  local t = load_prices()
  if t[model] then return t[model] end
  local memo = price_memo[model]
  if memo ~= nil then return memo or nil end
  local best, blen = nil, 0
  for name, p in pairs(t) do
    if #name > blen and model:sub(1, #name) == name then best, blen = p, #name end
  end
  price_memo[model] = best or false
  return best
end

-- Cost in USD of the given token counts for a model, or nil when unpriced.
function M.cost(model, prompt_tokens, completion_tokens)
  local p = M.price(model)
  if not p then return nil end
  return ((prompt_tokens or 0) * p.input + (completion_tokens or 0) * p.output) / 1e6
end

-- Drops the loaded price table (tests change EVALUA_PRICES).
function M.reload_prices()
  prices, price_memo = nil, {}
end

-- ---------------------------------------------------------------- tokens

local tokenize_ok, tokenize
local function count_text(text)
  if tokenize_ok == nil then
    tokenize_ok, tokenize = true, require "evalua.tokenize"
  end
  if tokenize_ok and tokenize.count then
    local ok, n = pcall(tokenize.count, text, "cl100k_base")
    if ok and type(n) == "number" then return n end
  end
  return math.ceil(#text / 4)
end

-- Rough prompt tokens of a message list (or a plain prompt string): the
-- cl100k_base count when evalua.tokenize is present, else bytes / 4; plus 4
-- per message and 2 for the reply priming, as OpenAI's cookbook counts.
function M.estimate_tokens(messages)
  if type(messages) == "string" then return count_text(messages) end
  local n = 2
  for _, m in ipairs(messages or {}) do
    local c = m.content
    if type(c) == "table" then c = require("evalua.providers.common").content_text(c) or "" end
    n = n + 4 + count_text(tostring(c or ""))
  end
  return n
end

-- ---------------------------------------------------------------- records

local function entry(provider, model)
  local name = tostring(provider) .. ":" .. tostring(model)
  local e = models[name]
  if not e then
    e = zero()
    e.provider, e.model = provider, model
    models[name] = e
    order[#order + 1] = name
  end
  return e
end

-- Records one call. r: provider, model, usage ({ prompt_tokens,
-- completion_tokens, total_tokens } or nil), cached (replayed from the
-- cache: no tokens billed), failed (no answer), unsent (failed before
-- anything was sent, as an --offline miss), batch (answered through a
-- provider batch API: priced at batch_discount of the list price).
function M.record(r)
  local e = entry(r.provider, r.model)
  e.calls = e.calls + 1
  if r.cached then
    e.cache_hits = e.cache_hits + 1
    return
  end
  if r.failed or r.unsent then e.failures = e.failures + 1 end
  if r.unsent then return end
  e.requests = e.requests + 1
  local u = r.usage
  if type(u) == "table" then
    local p, c = tonumber(u.prompt_tokens) or 0, tonumber(u.completion_tokens) or 0
    e.prompt_tokens = e.prompt_tokens + p
    e.completion_tokens = e.completion_tokens + c
    e.total_tokens = e.total_tokens + (tonumber(u.total_tokens) or (p + c))
    local cost = M.cost(r.model, p, c)
    if cost and r.batch then cost = cost * M.batch_discount end
    if cost then e.cost_usd = e.cost_usd + cost
    elseif p + c > 0 then e.priced = false end
  end
end

-- Batch prices: OpenAI Batch and Anthropic Message Batches cost half.
M.batch_discount = 0.5
local batch_counts -- evalua.batch: batches, requests, retried, failed, resumed

-- Counts n batch events (field: "batches" submitted, "requests" sent in
-- them, "retried" lines sent again, "failed" lines given up, "resumed"
-- batches picked up from an earlier process).
function M.record_batch(field, n)
  batch_counts = batch_counts or { batches = 0, requests = 0, retried = 0, failed = 0, resumed = 0 }
  batch_counts[field] = (batch_counts[field] or 0) + (n or 1)
end

-- Counts one event of an endpoint pool member: field is "requests",
-- "failures" (an attempt re-sent elsewhere or given up) or "ejections".
function M.record_endpoint(url, field)
  local e = endpoints[url]
  if not e then
    e = { requests = 0, failures = 0, ejections = 0 }
    endpoints[url] = e
  end
  e[field] = (e[field] or 0) + 1
end

-- Records a request counted but not sent (--dry-run) with its estimated
-- prompt tokens; cached: answered by the response cache (free); batch: it
-- would go through a batch API (batch prices).
function M.record_dry(provider, model, prompt_tokens, cached, batch)
  if cached then -- served from the response cache: free, nothing to send
    dry.cached = (dry.cached or 0) + 1
    return
  end
  dry.requests = dry.requests + 1
  dry.prompt_tokens = dry.prompt_tokens + prompt_tokens
  local cost = M.cost(model, prompt_tokens, 0)
  if batch then
    dry.batch_requests = (dry.batch_requests or 0) + 1
    if cost then cost = cost * M.batch_discount end
  end
  if cost then dry.cost_usd = dry.cost_usd + cost
  else dry.unpriced[tostring(provider) .. ":" .. tostring(model)] = true end
end

-- The numbers so far: { calls, requests (sent), cache_hits, failures, prompt_tokens,
-- completion_tokens, total_tokens, cost_usd, unpriced = { "provider:model" },
-- models = { ["provider:model"] = { same fields, provider, model } },
-- dry_run = { requests, prompt_tokens, cost_usd, unpriced },
-- endpoints = { [base URL] = { requests, failures, ejections } } (pools only) }.
-- cost_usd covers the priced models only; unpriced lists the others.
-- snapshot(before), with an earlier snapshot, gives only what happened
-- since then (one evaluate call in a script that runs several).
local function minus(now, before)
  for k, v in pairs(now) do
    local b = before[k]
    if type(v) == "number" and type(b) == "number" then now[k] = v - b
    elseif type(v) == "table" and type(b) == "table" then minus(v, b) end
  end
  if now.models then
    for name, e in pairs(now.models) do
      if e.calls == 0 then now.models[name] = nil end
    end
  end
  return now
end

function M.snapshot(before)
  if before then return minus(M.snapshot(), before) end
  local total = zero()
  total.priced = nil
  total.unpriced = {}
  total.models = {}
  for _, name in ipairs(order) do
    local e = models[name]
    local copy = {}
    for k, v in pairs(e) do copy[k] = v end
    total.models[name] = copy
    for _, k in ipairs({ "calls", "requests", "cache_hits", "failures", "prompt_tokens",
      "completion_tokens", "total_tokens", "cost_usd" }) do
      total[k] = total[k] + e[k]
    end
    if not e.priced then total.unpriced[#total.unpriced + 1] = name end
  end
  local du = {}
  for name in pairs(dry.unpriced) do du[#du + 1] = name end
  table.sort(du)
  if batch_counts then
    total.batch = {}
    for k, v in pairs(batch_counts) do total.batch[k] = v end
  end
  if next(endpoints) then
    total.endpoints = {}
    for url, e in pairs(endpoints) do
      total.endpoints[url] = { requests = e.requests, failures = e.failures, ejections = e.ejections }
    end
  end
  total.dry_run = { requests = dry.requests, prompt_tokens = dry.prompt_tokens,
    cost_usd = dry.cost_usd, unpriced = du, cached = dry.cached or 0,
    batch_requests = dry.batch_requests or 0 }
  return total
end

-- Forgets everything recorded (tests; a script running several evaluations
-- may also take a snapshot, then reset).
function M.reset()
  models, order, endpoints, batch_counts = {}, {}, {}, nil
  dry = { requests = 0, prompt_tokens = 0, cost_usd = 0, unpriced = {} }
end

local function money(x)
  if x >= 0.01 or x == 0 then return string.format("$%.2f", x) end
  return string.format("$%.4f", x)
end

-- The summary of the run in one line, or nil when no model was called.
-- Under --dry-run: "dry run: N requests, ~T prompt tokens, est. cost $X".
function M.summary_line()
  local s = M.snapshot()
  if config.dry_run or s.dry_run.requests > 0 or s.dry_run.cached > 0 then
    local line = string.format("dry run: %d requests, ~%d prompt tokens, est. cost %s",
      s.dry_run.requests, s.dry_run.prompt_tokens, money(s.dry_run.cost_usd))
    if s.dry_run.batch_requests > 0 then
      line = line .. string.format(" (%d at batch prices)", s.dry_run.batch_requests)
    end
    if s.dry_run.cached > 0 then
      line = line .. string.format("; %d more answered by the cache (free)", s.dry_run.cached)
    end
    if #s.dry_run.unpriced > 0 then
      line = line .. " (unpriced: " .. table.concat(s.dry_run.unpriced, ", ") .. ")"
    end
    return line
  end
  if s.calls == 0 then return nil end
  local line = string.format("models: %d calls (%d sent, %d cached, %d failed), %d prompt + %d completion tokens, cost %s",
    s.calls, s.requests, s.cache_hits, s.failures, s.prompt_tokens, s.completion_tokens,
    money(s.cost_usd))
  if #s.unpriced > 0 then line = line .. " (unpriced: " .. table.concat(s.unpriced, ", ") .. ")" end
  if s.batch then
    line = line .. string.format("; batch: %d batches, %d requests, %d retried, %d failed",
      s.batch.batches, s.batch.requests, s.batch.retried, s.batch.failed)
  end
  return line
end

-- Print the summary line on stderr when the script ends (unless --quiet or
-- print_at_finish is set to false by a part that prints its own summary).
M.print_at_finish = true
local registered = false
function M.register_finish()
  if registered then return end
  registered = true
  require("evalua.runtime").at_finish(function()
    if M.print_at_finish and not config.quiet then
      local line = M.summary_line()
      if line then io.stderr:write("evalua: ", line, "\n") end
    end
  end)
end

return M
