-- evalua.models: model URIs, template models, and the one I/O path every
-- model and judge call takes: dry run -> cache -> HTTP -> parse -> account.
-- The adapters (evalua.providers.*) only build and parse; this module does
-- the sending, through evalua.http (retries and rate limits live there).
local config = require "evalua.config"
local common = require "evalua.providers.common"

local M = {}

-- ---------------------------------------------------------------- sending

-- The transport: request table -> response | nil, err. Inside a task it
-- yields to the HTTP loop; outside any task (a plain call at the top of a
-- script) it runs as a one-item map, so chat works anywhere. Tests may
-- replace it.
function M.transport(req)
  local sched = require "evalua.sched"
  if sched.in_task() then return require("evalua.http").request(req) end
  local results, errors = sched.map(1, function()
    return { require("evalua.http").request(req) }
  end, { progress = false })
  local r = results[1]
  if r == nil then return nil, tostring(errors[1]):match("^[^\n]*") end
  return r[1], r[2]
end

local function report_tokens(usage)
  if type(usage) == "table" then
    require("evalua.http").add_tokens(tonumber(usage.total_tokens) or 0)
  end
end

local function scrub_secret(msg, secret)
  if type(secret) == "string" and #secret >= 4 then
    msg = msg:gsub(secret:gsub("%W", "%%%0"), "***")
  end
  return msg
end

local function abort_run(msg)
  require("evalua.sched").abort(msg)
end

local function last_message_text(args)
  local text = args.prompt
  if text == nil and type(args.messages) == "table" then
    local m = args.messages[#args.messages]
    text = type(m) == "table" and common.content_text(m.content) or nil
  end
  text = tostring(text or ""):gsub("%s+", " ")
  if #text > 40 then text = text:sub(1, 40) .. "..." end
  return text
end

-- The variable holding each provider's key, for the message of a 401/403.
local KEY_VARS = { openai = "OPENAI_API_KEY", azure = "AZURE_OPENAI_API_KEY (or OPENAI_API_KEY)",
  anthropic = "ANTHROPIC_API_KEY" }

-- Models whose server refused structured output this run ("provider\0model"
-- -> true): their later requests go without it (see M.send).
local no_structured = {}

-- Whether a 400 answer is the server refusing response_format/json_schema
-- or tools (OpenAI: "'response_format' of type 'json_schema' is not
-- supported with this model"; vLLM and others answer 400 or 422 likewise).
local function refuses_structured(resp)
  local status = tonumber(resp.status)
  if status ~= 400 and status ~= 422 then return false end
  local msg = common.server_message(resp.body):lower()
  return msg:find("response_format", 1, true) ~= nil or msg:find("json_schema", 1, true) ~= nil
    or msg:find("structured output", 1, true) ~= nil or msg:find("tools", 1, true) ~= nil
end

-- Sends one request. call: api (name in errors, "openai.chat"), provider,
-- model (for accounting), adapter (a providers module), args (for
-- adapter.build_request), key_env (the variable to name when a required key
-- is missing, or nil when the call needs none / has one), key_var (the
-- variable to name on a 401/403; default by provider), accept (optional
-- function(text) -> true | nil, why: whether the answer is usable; only an
-- accepted answer is written to the cache or served from it, so a failed
-- answer is asked again next time instead of replayed).
-- A 400 refusing structured output (args.json_schema) is retried once
-- without it, and the model is remembered so later calls skip it.
-- Returns text, usage, detail | nil, err.
function M.send(call)
  local api, adapter, args = call.api, call.adapter, call.args
  local redact = require "evalua.redact"
  -- the key is known to the redaction step before anything can echo it
  redact.add(args.api_key)
  local accounting = require "evalua.accounting"
  accounting.register_finish()
  local fallback_key = tostring(call.provider) .. "\0" .. tostring(call.model)
  if args.json_schema ~= nil and no_structured[fallback_key] then
    args = common.copy(args)
    args.json_schema = nil
  end
  local accept = call.accept
  -- base_url = { url, url, ... }: an endpoint pool (evalua.pool); the cache
  -- key and the messages name its first member in sorted order
  local pool
  if type(args.base_url) == "table" and args.url == nil then
    pool = require("evalua.pool").get(args.base_url, api)
    args = common.copy(args)
    args.base_url = pool.key_url
  end
  local req = adapter.build_request(args)
  -- --batch: the call travels in a provider batch (evalua.batch), at batch prices
  local batched = config.batch and config.batch ~= false and pool == nil and
    require("evalua.batch").accepts(call, req) or false
  local cache = require "evalua.cache"
  local key
  if cache.enabled() then
    key = cache.key(req)
    local body = cache.get(key)
    if body ~= nil then
      local text, usage, detail = adapter.parse_response({ status = 200, headers = {}, body = body }, req)
      -- an answer the caller cannot use (written by an older evalua) is asked again
      if text ~= nil and (accept == nil or accept(text)) then
        if detail then detail.cached = true end
        -- a dry run replays the cache too: a cached answer costs nothing
        if config.dry_run then accounting.record_dry(call.provider, call.model, 0, true) end
        accounting.record{ provider = call.provider, model = call.model, usage = usage, cached = true }
        return redact.text(text), usage, detail
      end
      -- an entry that no longer parses is ignored and replaced below
    end
  end
  if config.dry_run then
    accounting.record_dry(call.provider, call.model,
      accounting.estimate_tokens(args.messages or args.prompt), false, batched)
    return nil, "dry run"
  end
  if config.offline then
    local msg = string.format("%s: offline and no cached response for %s %s at %s (last message: %q)",
      api, call.provider, tostring(call.model), common.scrub_url(req.url), last_message_text(args))
    accounting.record{ provider = call.provider, model = call.model, unsent = true }
    return nil, msg
  end
  if call.key_env then
    local msg = string.format("%s: %s is not set", api, call.key_env)
    abort_run(msg)
    error(msg, 0)
  end
  -- for the scheduler's per-provider tokens-per-minute bucket: the prompt
  -- plus the most the answer may take (15 when unbounded, as MLflow counts)
  local params = args.params or {}
  req.provider = call.provider
  req.tokens = accounting.estimate_tokens(args.messages or args.prompt) + (tonumber(params.max_tokens or params.max_completion_tokens) or 15)
  local resp, terr
  if pool then
    local function build(url)
      local a = common.copy(args)
      a.base_url = url
      local r = adapter.build_request(a)
      r.provider, r.tokens = req.provider, req.tokens
      return r
    end
    local sched = require "evalua.sched"
    if sched.in_task() then resp, terr = pool:send(build, M.transport)
    else
      local ok, r1, r2 = pcall(sched.run, function() return pool:send(build, M.transport) end)
      if ok then resp, terr = r1, r2 else resp, terr = nil, tostring(r1) end
    end
  elseif batched then
    resp, terr = require("evalua.batch").transport(call, req)
  else
    resp, terr = M.transport(req)
  end
  if resp == nil then
    local aborted = require("evalua.sched").aborted()
    if aborted and aborted == terr then -- the run was stopped: one message for every row
      accounting.record{ provider = call.provider, model = call.model, unsent = true }
      return nil, aborted
    end
    -- the engine's own message names the method and URL; it reads better
    -- under the adapter's name than under "http.request"
    local msg = tostring(terr):gsub("^http%.request: ", "")
    if not msg:find("https?://") then msg = common.scrub_url(req.url) .. ": " .. msg end
    accounting.record{ provider = call.provider, model = call.model, failed = true }
    return nil, redact.text(api .. ": " .. scrub_secret(msg, args.api_key))
  end
  local text, usage, detail = adapter.parse_response(resp, req)
  if text == nil then
    local msg = redact.text(api .. ": " .. scrub_secret(tostring(usage), args.api_key))
    accounting.record{ provider = call.provider, model = call.model, failed = true }
    local status = tonumber(resp.status)
    if args.json_schema ~= nil and refuses_structured(resp) then
      -- the server cannot do structured output: plain text from now on
      no_structured[fallback_key] = true
      local again = common.copy(call)
      again.args = common.copy(args)
      again.args.json_schema = nil
      return M.send(again)
    end
    if status == 401 or status == 403 then
      -- an authentication error is not a bad row: it stops the run
      local var = call.key_var or KEY_VARS[call.provider]
      if var then msg = msg .. " (check " .. var .. ")" end
      abort_run(msg)
    end
    return nil, msg
  end
  accounting.record{ provider = call.provider, model = call.model, usage = usage, batch = batched }
  report_tokens(usage)
  -- a server that echoes the key back does not get it written to the cache
  local echoed = type(args.api_key) == "string" and #args.api_key >= 8 and
    resp.body:find(args.api_key, 1, true)
  if key and not echoed and (accept == nil or accept(text)) then
    cache.put(key, call.provider, call.model, redact.text(resp.body), usage)
  end
  return redact.text(text), usage, detail
end

-- ---------------------------------------------------------------- endpoints

local endpoints = {}
local endpoints_loaded = false
local ENDPOINT_TYPES = { ["llm/v1/chat"] = true, ["llm/v1/completions"] = true }

-- Registers an OpenAI-compatible endpoint for `endpoints:/name`. cfg:
-- base_url (required, e.g. "http://localhost:8000/v1", or a list of such
-- URLs: an endpoint pool, see evalua.pool), model (sent as the
-- body's model), api_key_env (a variable holding the key, optional),
-- type ("llm/v1/chat", default, or "llm/v1/completions"), extra_headers.
function M.register_endpoint(name, cfg)
  if type(name) ~= "string" or name == "" then
    error("models.register_endpoint: name must be a non-empty string", 2)
  end
  local bu = type(cfg) == "table" and cfg.base_url
  if not ((type(bu) == "string" and bu ~= "") or (type(bu) == "table" and type(bu[1]) == "string")) then
    error("models.register_endpoint: endpoint '" .. name .. "' needs a base_url (a URL or a list of URLs)", 2)
  end
  if type(bu) == "table" then
    for i, u in ipairs(bu) do
      if type(u) ~= "string" or u == "" then
        error(string.format("models.register_endpoint: endpoint '%s': base_url[%d] must be a URL", name, i), 2)
      end
    end
  end
  local ty = cfg.type or cfg.endpoint_type or cfg.task or "llm/v1/chat"
  if not ENDPOINT_TYPES[ty] then
    error(string.format("models.register_endpoint: endpoint '%s' has type '%s' (expected llm/v1/chat or llm/v1/completions)",
      name, tostring(ty)), 2)
  end
  endpoints[name] = { name = name, base_url = cfg.base_url, model = cfg.model,
    api_key_env = cfg.api_key_env, type = ty, extra_headers = cfg.extra_headers }
end

-- Loads EVALUA_ENDPOINTS (a JSON file: { "name": { base_url, ... } } or
-- { "endpoints": [ { "name": ..., ... } ] }) once; registered ones win.
local function load_endpoint_file()
  if endpoints_loaded then return end
  endpoints_loaded = true
  local path = os.getenv("EVALUA_ENDPOINTS")
  if not path or path == "" then return end
  local f, err = io.open(path, "rb")
  if not f then error("models: EVALUA_ENDPOINTS: " .. tostring(err), 0) end
  local text = f:read("a")
  f:close()
  local v = common.decode(text)
  if type(v) ~= "table" then error("models: EVALUA_ENDPOINTS: " .. path .. ": not a JSON object", 0) end
  local list = {}
  if type(v.endpoints) == "table" then
    for _, e in ipairs(v.endpoints) do list[#list + 1] = e end
  else
    for name, e in pairs(v) do
      if type(e) == "table" then e.name = e.name or name end
      list[#list + 1] = e
    end
  end
  for _, e in ipairs(list) do
    if type(e) ~= "table" or type(e.name) ~= "string" then
      error("models: EVALUA_ENDPOINTS: " .. path .. ": every endpoint needs a name", 0)
    end
    if not endpoints[e.name] then
      local ok, perr = pcall(M.register_endpoint, e.name, e)
      if not ok then error("models: EVALUA_ENDPOINTS: " .. path .. ": " .. tostring(perr):gsub("^[^:]+: ", ""), 0) end
    end
  end
end

function M.endpoint(name)
  load_endpoint_file()
  return endpoints[name]
end

-- ---------------------------------------------------------------- inputs

local function render_value(v)
  local t = type(v)
  if t == "string" then return v end
  if t == "number" then return require("evalua.util").number_text(v) end
  if t == "boolean" then return tostring(v) end
  if t == "table" then
    local ok, s = pcall(require("cjson").encode, v)
    if ok then return s end
  end
  return tostring(v)
end

local function has_method(x, name)
  local ok, v = pcall(function() return x[name] end)
  return ok and type(v) == "function"
end

-- An inputs value as names, n, column(name) -> list. Accepts an evalua
-- table, a Lua table of columns { name = list }, a list of strings, or one
-- string.
function M.input_columns(inputs)
  if type(inputs) == "string" then
    return { "inputs" }, 1, function() return { inputs } end
  end
  if (type(inputs) == "userdata" or type(inputs) == "table") and has_method(inputs, "columns")
      and has_method(inputs, "column") then
    local names = inputs:columns()
    local n = #inputs
    local cache = {}
    return names, n, function(name)
      cache[name] = cache[name] or inputs:column(name)
      return cache[name]
    end
  end
  if type(inputs) ~= "table" then
    error("models: inputs must be an evalua table, a table of columns or a list, got " .. type(inputs), 3)
  end
  if inputs.n ~= nil or inputs[1] ~= nil then
    local n = inputs.n or #inputs
    return { "inputs" }, n, function() return inputs end
  end
  local names, n = {}, 0
  for k, col in pairs(inputs) do
    if type(k) == "string" and type(col) == "table" then
      names[#names + 1] = k
      n = math.max(n, col.n or #col)
    end
  end
  table.sort(names)
  return names, n, function(name) return inputs[name] end
end

-- ---------------------------------------------------------------- templates

-- Splits a template into literal strings and { name = } placeholders.
-- `{name}` (an identifier) is a placeholder, `{{` and `}}` are literal
-- braces, any other brace is kept as written.
function M.parse_template(s)
  local parts, buf = {}, {}
  local i, n = 1, #s
  local function flush()
    if #buf > 0 then parts[#parts + 1] = table.concat(buf); buf = {} end
  end
  while i <= n do
    local j = s:find("[{}]", i)
    if not j then buf[#buf + 1] = s:sub(i); break end
    if j > i then buf[#buf + 1] = s:sub(i, j - 1) end
    local c, c2 = s:sub(j, j), s:sub(j + 1, j + 1)
    if c == "{" and c2 == "{" then
      buf[#buf + 1] = "{"; i = j + 2
    elseif c == "}" and c2 == "}" then
      buf[#buf + 1] = "}"; i = j + 2
    elseif c == "{" then
      local name, after = s:match("^{%s*([%a_][%w_]*)%s*}()", j)
      if name then
        flush()
        parts[#parts + 1] = { name = name }
        i = after
      else
        buf[#buf + 1] = "{"; i = j + 1
      end
    else
      buf[#buf + 1] = "}"; i = j + 1
    end
  end
  flush()
  return parts
end

-- Renders parsed parts in one pass: values are inserted literally.
local function render(parts, values)
  local out = {}
  for k, p in ipairs(parts) do
    if type(p) == "string" then out[k] = p else out[k] = values[p.name] end
  end
  return table.concat(out)
end

-- Compiles message templates: a list of { role, content = parsed } and the
-- sorted list of distinct placeholder names.
local function compile_messages(api, messages)
  if type(messages) ~= "table" or messages[1] == nil then
    error(api .. ": 'messages' must be a non-empty list of { role =, content = }", 3)
  end
  local compiled, seen, names = {}, {}, {}
  local function note(parts)
    for _, p in ipairs(parts) do
      if type(p) == "table" and not seen[p.name] then seen[p.name] = true; names[#names + 1] = p.name end
    end
  end
  for i, m in ipairs(messages) do
    if type(m) ~= "table" or type(m.role) ~= "string" then
      error(string.format("%s: messages[%d] must be { role = <string>, content = ... }", api, i), 3)
    end
    local c = { role = m.role }
    if type(m.content) == "string" then
      c.parts = M.parse_template(m.content)
      note(c.parts)
    elseif type(m.content) == "table" then
      c.list = {}
      for k, part in ipairs(m.content) do
        if type(part) == "table" and type(part.text) == "string" then
          local parsed = M.parse_template(part.text)
          note(parsed)
          c.list[k] = { part = part, parts = parsed }
        else
          c.list[k] = { part = part }
        end
      end
    else
      error(string.format("%s: messages[%d].content must be a string or a list of parts", api, i), 3)
    end
    compiled[i] = c
  end
  table.sort(names)
  return compiled, names
end

local function fill_messages(compiled, values)
  local out = {}
  for i, c in ipairs(compiled) do
    if c.parts then
      out[i] = { role = c.role, content = render(c.parts, values) }
    else
      local list = {}
      for k, item in ipairs(c.list) do
        if item.parts then
          local p = common.copy(item.part)
          p.text = render(item.parts, values)
          list[k] = p
        else
          list[k] = item.part
        end
      end
      out[i] = { role = c.role, content = list }
    end
  end
  return out
end

-- One row's prediction: function(i) -> text | nil, err, from the row's
-- messages and the chat call. A dry run predicts "(dry run)".
local function row_predictor(messages_for, chat_fn)
  return function(i)
    local messages, merr = messages_for(i)
    if not messages then return nil, merr end
    local text, err = chat_fn(messages)
    if text == nil then
      if err == "dry run" then return "(dry run)" end
      return nil, tostring(err)
    end
    return text
  end
end

-- Runs one chat call per row concurrently; returns predictions (column list)
-- and errors ({ [row] = message }).
local function predict_rows(n, predict_row)
  local sched = require "evalua.sched"
  local preds, errors = { n = n }, {}
  local times = M.row_seconds -- set by the latency metric: each row's call time
  local clock = require("evalua.core").clock
  local results, raised = sched.map(n, function(i)
    local t0 = times and clock()
    local text, err = predict_row(i)
    if times then times[i] = clock() - t0 end
    return { text = text, err = err }
  end)
  for i = 1, n do
    local r = results[i]
    if type(r) == "table" and r.text ~= nil then
      preds[i] = r.text
    elseif type(r) == "table" and r.err then
      errors[i] = r.err
    else
      errors[i] = tostring(raised and raised[i] or "no result"):match("^[^\n]*")
    end
  end
  return preds, errors
end

-- Builds the per-row messages function of a template over the inputs, or
-- raises a clear error for a placeholder that names no column.
local function row_messages(api, compiled, names, inputs)
  local cols, n, column = M.input_columns(inputs)
  local single = #cols == 1
  local sources = {}
  if #names == 0 then
    if not single then
      error(string.format("%s: the messages have no {placeholder} and the data has %d columns (%s); add a placeholder naming one",
        api, #cols, table.concat(cols, ", ")), 3)
    end
  else
    local have = {}
    for _, c in ipairs(cols) do have[c] = true end
    for _, name in ipairs(names) do
      if have[name] then sources[name] = name
      elseif single and #names == 1 then sources[name] = cols[1]
      else
        error(string.format("%s: placeholder {%s} names no column; the columns are: %s", api, name,
          table.concat(cols, ", ")), 3)
      end
    end
  end
  local data = {}
  for name, col in pairs(sources) do data[name] = column(col) end
  local only = #names == 0 and column(cols[1]) or nil
  return n, function(i)
    if only then
      local v = only[i]
      if v == nil then return nil, string.format("column '%s' is empty in row %d", cols[1], i) end
      local msgs = fill_messages(compiled, {})
      msgs[#msgs + 1] = { role = "user", content = render_value(v) }
      return msgs
    end
    local values = {}
    for name, list in pairs(data) do
      local v = list[i]
      if v == nil then return nil, string.format("column '%s' is empty in row %d", sources[name], i) end
      values[name] = render_value(v)
    end
    return fill_messages(compiled, values)
  end
end

-- A model object from a message template. spec: api (name in errors),
-- chat (function(args) -> text, usage | nil, err), model, messages (with
-- {column} placeholders), parameters, and connection fields passed through
-- to chat (base_url, api_key, extra_headers, timeout_ms, ...).
function M.template_model(spec)
  local api = spec.api or "model"
  local compiled, names = compile_messages(api, spec.messages)
  local obj = { model = spec.model, messages = spec.messages, parameters = spec.parameters,
    placeholders = names }
  local base = {}
  for k, v in pairs(spec) do
    if k ~= "api" and k ~= "chat" and k ~= "messages" and k ~= "parameters" and k ~= "task" then
      base[k] = v
    end
  end
  -- rows one at a time, for evaluate's pipeline: n, function(i) -> text | nil, err
  function obj.row_predictor(_, inputs)
    local n, messages_for = row_messages(api, compiled, names, inputs)
    return n, row_predictor(messages_for, function(messages)
      local args = common.copy(base)
      for k, v in pairs(spec.parameters or {}) do args[k] = v end
      args.messages = messages
      return spec.chat(args)
    end)
  end
  function obj.predict(self, inputs)
    return predict_rows(self:row_predictor(inputs))
  end
  return obj
end

-- ---------------------------------------------------------------- URIs

local SCHEMES = { openai = true, anthropic = true, endpoints = true, gateway = true }

-- Parses "<scheme>:/<name>"; returns scheme, name or raises naming the URI.
function M.parse_uri(uri)
  local scheme, rest = uri:match("^([%a][%w+.-]*):(.*)$")
  if not scheme then
    error(string.format("models: bad model URI '%s': expected '<provider>:/<name>', e.g. 'openai:/gpt-4o-mini'", uri), 0)
  end
  scheme = scheme:lower()
  if not SCHEMES[scheme] then
    error(string.format("models: unknown model URI scheme '%s' in '%s' (known: anthropic, endpoints, openai)",
      scheme, uri), 0)
  end
  if rest:sub(1, 1) ~= "/" or rest:sub(2, 2) == "/" then
    error(string.format("models: bad model URI '%s': expected '%s:/<name>'", uri, scheme), 0)
  end
  local name = rest:sub(2)
  if name == "" then
    error(string.format("models: bad model URI '%s': the name after ':/' is empty", uri), 0)
  end
  return scheme, name
end

-- The chat function of a URI: function(messages, params, opts) -> text, usage | nil, err
local function uri_chat(uri, scheme, name)
  if scheme == "openai" then
    return function(messages, params, opts)
      local args = common.copy(params)
      opts = opts or {}
      args.model, args.messages = name, messages
      args.extra_headers, args.timeout_ms, args.json_schema = opts.extra_headers, opts.timeout_ms, opts.json_schema
      args.url, args.accept = opts.proxy_url, opts.accept
      return require("evalua.openai").chat(args)
    end
  elseif scheme == "anthropic" then
    return function(messages, params, opts)
      local args = common.copy(params)
      opts = opts or {}
      args.model, args.messages = name, messages
      args.extra_headers, args.timeout_ms = opts.extra_headers, opts.timeout_ms
      args.url, args.accept = opts.proxy_url, opts.accept
      return require("evalua.anthropic").chat(args)
    end
  end
  -- endpoints:/name and gateway:/name
  local ep = M.endpoint(name)
  if not ep then
    error(string.format("models: unknown endpoint '%s' in '%s' (register it with evalua.models.register_endpoint or list it in EVALUA_ENDPOINTS)",
      name, uri), 0)
  end
  return function(messages, params, opts)
    opts = opts or {}
    local args = { params = params, messages = messages, model = ep.model or name,
      base_url = ep.base_url, url = opts.proxy_url, timeout_ms = opts.timeout_ms,
      json_schema = opts.json_schema, api = "endpoints:/" .. name }
    local headers = common.copy(ep.extra_headers)
    for k, v in pairs(opts.extra_headers or {}) do headers[k] = v end
    args.extra_headers = headers
    local key_env
    if ep.api_key_env then
      local key = os.getenv(ep.api_key_env)
      if key and key ~= "" then args.api_key = key else key_env = ep.api_key_env end
    end
    if ep.type == "llm/v1/completions" then
      args.kind = "completions"
      local texts = {}
      for _, m in ipairs(messages) do texts[#texts + 1] = common.content_text(m.content) or "" end
      args.prompt = table.concat(texts, "\n\n")
      args.messages = nil
      args.json_schema = nil
    end
    return M.send{ api = args.api, provider = "endpoints", model = args.model,
      adapter = require "evalua.providers.openai", args = args, key_env = key_env,
      key_var = ep.api_key_env, accept = opts.accept }
  end
end

local resolved = {}

-- Resolves a model spec: a URI string, a model object (returned as is), or
-- a Lua function (fn(inputs) -> results, errors). The result has
-- :predict(inputs) -> predictions, errors, and for URIs :chat(messages,
-- params, opts) -> text, usage | nil, err.
function M.resolve(spec)
  local t = type(spec)
  if t == "function" then
    return { fn = spec, predict = function(_, inputs)
      local results, errors = spec(inputs)
      return results, errors
    end }
  end
  if t == "table" and type(spec.predict) == "function" then return spec end
  if t ~= "string" then
    error("models.resolve: expected a model URI, a model object or a function, got " .. t, 2)
  end
  if resolved[spec] then return resolved[spec] end
  local scheme, name = M.parse_uri(spec)
  local chat = uri_chat(spec, scheme, name)
  local obj = { uri = spec, provider = scheme, model = name }
  function obj.chat(_, messages, params, opts) return chat(messages, params, opts) end
  -- as an evaluate model: the single input column becomes the user message
  function obj.row_predictor(_, inputs, params)
    local cols, n, column = M.input_columns(inputs)
    if #cols ~= 1 then
      error(string.format("%s: needs exactly one input column, got %d (%s)", spec, #cols,
        table.concat(cols, ", ")), 2)
    end
    local list = column(cols[1])
    return n, row_predictor(function(i)
      local v = list[i]
      if v == nil then return nil, string.format("column '%s' is empty in row %d", cols[1], i) end
      if type(v) == "table" and type(v.messages) == "table" then return v.messages end
      return { { role = "user", content = render_value(v) } }
    end, function(messages) return chat(messages, params) end)
  end
  function obj.predict(self, inputs, params)
    return predict_rows(self:row_predictor(inputs, params))
  end
  resolved[spec] = obj
  return obj
end

-- One judge or model call by URI: text, usage | nil, err. opts:
-- extra_headers, proxy_url (the full URL to post to), timeout_ms,
-- json_schema (structured output where the provider supports it; dropped
-- for the rest of the run when the server refuses it), accept (see M.send).
function M.chat(uri, messages, params, opts)
  local obj = M.resolve(uri)
  if type(obj.chat) ~= "function" then
    error("models.chat: expected a model URI, got " .. type(uri), 2)
  end
  return obj:chat(messages, params, opts)
end

-- Forgets resolved URIs, endpoints and structured-output refusals (tests).
function M._reset()
  resolved, endpoints, endpoints_loaded, no_structured = {}, {}, false, {}
end

return M
