-- evalua.providers.anthropic: the pure Anthropic Messages adapter.
-- build_request(args) -> request; parse_response(response, request) ->
-- text, usage, detail | nil, err. System messages move to the top-level
-- `system` field; max_tokens, which the API requires, defaults to 1024.
local common = require "evalua.providers.common"

local M = {}

M.name = "anthropic"
M.default_base_url = "https://api.anthropic.com"
M.api_version = "2023-06-01"
M.default_max_tokens = 1024

-- OpenAI-only sampling parameters a shared judge configuration may carry;
-- the Messages API rejects unknown fields, so they are left out.
local openai_only = { seed = true, response_format = true, logprobs = true, top_logprobs = true,
  presence_penalty = true, frequency_penalty = true, n = true, logit_bias = true, user = true }

-- Builds the HTTP request. args: model, messages, params, base_url, api_key,
-- url (full URL override), extra_headers, timeout_ms, api (name in errors).
function M.build_request(args)
  local api = args.api or "anthropic.chat"
  if type(args.model) ~= "string" or args.model == "" then
    error(api .. ": 'model' must be a non-empty string", 2)
  end
  local messages = args.messages
  if type(messages) ~= "table" or messages[1] == nil then
    error(api .. ": 'messages' must be a non-empty list of { role =, content = }", 2)
  end
  local system, msgs = {}, {}
  for i, m in ipairs(messages) do
    if type(m) ~= "table" or type(m.role) ~= "string" then
      error(string.format("%s: messages[%d].role must be a string", api, i), 2)
    end
    local ct = type(m.content)
    if ct ~= "string" and ct ~= "table" then
      error(string.format("%s: messages[%d].content must be a string or a list of parts, got %s",
        api, i, ct), 2)
    end
    if m.role == "system" then
      local text = common.content_text(m.content)
      if text == nil then error(string.format("%s: messages[%d] (system) has no text", api, i), 2) end
      system[#system + 1] = text
    else
      msgs[#msgs + 1] = { role = m.role, content = m.content }
    end
  end
  if msgs[1] == nil then error(api .. ": 'messages' needs a user message besides the system ones", 2) end

  if args.params and args.params.stream then
    error(api .. ": stream = true is not supported (answers are read whole)", 2)
  end
  local body = {}
  for k, v in pairs(args.params or {}) do
    if not openai_only[k] then body[k] = v end
  end
  if body.stop ~= nil then
    if body.stop_sequences == nil then
      body.stop_sequences = type(body.stop) == "string" and { body.stop } or body.stop
    end
    body.stop = nil
  end
  if body.max_completion_tokens ~= nil then
    if body.max_tokens == nil then body.max_tokens = body.max_completion_tokens end
    body.max_completion_tokens = nil
  end
  if body.max_tokens == nil then body.max_tokens = M.default_max_tokens end
  body.stream = nil
  body.model = args.model
  body.messages = msgs
  if #system > 0 then body.system = table.concat(system, "\n\n") end

  local url = args.url
  if url == nil then
    local base = (args.base_url or M.default_base_url):gsub("/+$", "")
    -- both "https://api.anthropic.com" and ".../v1" are accepted as the base
    url = base:match("/v1$") and common.join(base, "messages") or common.join(base, "v1/messages")
  end
  local headers = { ["Content-Type"] = "application/json", ["anthropic-version"] = M.api_version }
  if args.api_key and args.api_key ~= "" then headers["x-api-key"] = args.api_key end
  return common.post(url, headers, args.extra_headers, body, args.timeout_ms)
end

-- Parses a Messages response: the text blocks of `content` joined, usage
-- from input_tokens/output_tokens; detail = { finish_reason, model, raw }.
function M.parse_response(response, request)
  local v, err = common.response_json(response, request, function(x) return x.type == "error" end)
  if v == nil then return nil, err end
  if type(v.content) ~= "table" then return nil, "response has no content" end
  local text = common.content_text(v.content)
  if text == nil then
    if v.content[1] == nil then
      return nil, "response has empty content (stop_reason " .. tostring(v.stop_reason) .. ")"
    end
    return nil, "response has no text block"
  end
  local u = type(v.usage) == "table" and v.usage or {}
  local usage = common.usage(u.input_tokens, u.output_tokens)
  return text, usage, { finish_reason = v.stop_reason, model = v.model, raw = v }
end

return M
