-- evalua.providers.openai: the pure OpenAI chat-completions adapter (also
-- Azure OpenAI, the legacy completions shape, and every OpenAI-compatible
-- server). build_request(args) -> request; parse_response(response, request)
-- -> text, usage, detail | nil, err. No I/O and no environment reads here:
-- evalua.openai resolves keys and base URLs before calling build_request.
local common = require "evalua.providers.common"

local M = {}

M.name = "openai"
M.default_base_url = "https://api.openai.com/v1"
M.default_azure_api_version = "2024-06-01"

local function check_messages(api, messages)
  if type(messages) ~= "table" or messages[1] == nil then
    error(api .. ": 'messages' must be a non-empty list of { role =, content = }", 3)
  end
  for i, m in ipairs(messages) do
    if type(m) ~= "table" then
      error(string.format("%s: messages[%d] must be a table, got %s", api, i, type(m)), 3)
    end
    if type(m.role) ~= "string" then
      error(string.format("%s: messages[%d].role must be a string", api, i), 3)
    end
    local ct = type(m.content)
    if ct ~= "string" and ct ~= "table" then
      error(string.format("%s: messages[%d].content must be a string or a list of parts, got %s",
        api, i, ct), 3)
    end
  end
end

-- json_schema: a schema table, or { name =, schema =, strict = }
local function response_format_for(schema)
  if type(schema) ~= "table" then return nil end
  if type(schema.schema) == "table" then
    return { type = "json_schema", json_schema = { name = schema.name or "response",
      schema = schema.schema, strict = schema.strict } }
  end
  return { type = "json_schema", json_schema = { name = "response", schema = schema } }
end

-- Builds the HTTP request. args: model, messages (chat) or prompt
-- (kind = "completions"), params (sampling parameters merged into the body),
-- base_url, api_key, organization, api_type ("openai" | "azure"), azure_ad
-- (Azure with an Entra ID token: sent as a bearer token, not api-key),
-- deployment, api_version, url (a full URL that replaces the computed one),
-- extra_headers, json_schema, timeout_ms, api (name used in errors).
function M.build_request(args)
  local api = args.api or "openai.chat"
  local kind = args.kind or "chat"
  local azure = args.api_type == "azure"
  local body = common.copy(args.params)
  if body.stream then error(api .. ": stream = true is not supported (answers are read whole)", 2) end
  body.stream = nil
  if kind == "chat" then
    check_messages(api, args.messages)
    body.messages = args.messages
  elseif kind == "completions" then
    if type(args.prompt) ~= "string" then error(api .. ": 'prompt' must be a string", 2) end
    body.prompt = args.prompt
  else
    error(api .. ": unknown request kind '" .. tostring(kind) .. "'", 2)
  end
  if not azure then
    if type(args.model) ~= "string" or args.model == "" then
      error(api .. ": 'model' must be a non-empty string", 2)
    end
    body.model = args.model
  end
  if body.response_format == nil and args.json_schema ~= nil then
    body.response_format = response_format_for(args.json_schema)
  end

  local path = kind == "chat" and "chat/completions" or "completions"
  local url = args.url
  if url == nil then
    local base = args.base_url or M.default_base_url
    if azure then
      local dep = args.deployment or args.model
      if type(dep) ~= "string" or dep == "" then
        error(api .. ": azure needs a deployment (deployment= or OPENAI_DEPLOYMENT_NAME)", 2)
      end
      url = common.join(base, "openai/deployments/" .. dep .. "/" .. path) ..
        "?api-version=" .. (args.api_version or M.default_azure_api_version)
    else
      url = common.join(base, path)
    end
  end

  local headers = { ["Content-Type"] = "application/json" }
  if args.api_key and args.api_key ~= "" then
    if azure and not args.azure_ad then headers["api-key"] = args.api_key
    else headers["Authorization"] = "Bearer " .. args.api_key end
  end
  if args.organization and args.organization ~= "" then
    headers["OpenAI-Organization"] = args.organization
  end
  return common.post(url, headers, args.extra_headers, body, args.timeout_ms)
end

-- Parses a response ({ status, headers, body }). Returns text, usage, detail
-- where usage = { prompt_tokens, completion_tokens, total_tokens } and
-- detail = { finish_reason, logprobs, model, raw } (raw: the decoded body);
-- or nil, err with the server's message for HTTP errors.
function M.parse_response(response, request)
  local v, err = common.response_json(response, request)
  if v == nil then return nil, err end
  local choices = v.choices
  if type(choices) ~= "table" or choices[1] == nil then return nil, "response has no choices" end
  local choice = choices[1]
  if type(choice) ~= "table" then return nil, "response has no choices" end
  local text
  if type(choice.message) == "table" then
    local msg = choice.message
    text = common.content_text(msg.content)
    if text == nil then
      if type(msg.refusal) == "string" then return nil, "model refused: " .. msg.refusal end
      return nil, "response has no message content (finish_reason " ..
        tostring(choice.finish_reason) .. ")"
    end
  elseif type(choice.text) == "string" then
    text = choice.text
  else
    return nil, "response choice has neither message nor text"
  end
  local u = type(v.usage) == "table" and v.usage or {}
  local usage = common.usage(u.prompt_tokens, u.completion_tokens, u.total_tokens)
  local logprobs = choice.logprobs
  if logprobs == common.null then logprobs = nil end
  return text, usage, { finish_reason = choice.finish_reason, logprobs = logprobs,
    model = v.model, raw = v }
end

return M
