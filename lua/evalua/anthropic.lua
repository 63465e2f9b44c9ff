-- evalua.anthropic: the Anthropic Messages API. chat{...} -> text, usage,
-- detail | nil, err (yields inside a task); model{...} -> a template model
-- for evaluate. ANTHROPIC_API_KEY and ANTHROPIC_BASE_URL configure it.
local adapter = require "evalua.providers.anthropic"
local models = require "evalua.models"

local M = {}

M.adapter = adapter

local CALL_FIELDS = { model = true, messages = true, base_url = true, api_key = true,
  extra_headers = true, timeout_ms = true, url = true, proxy_url = true, params = true,
  parameters = true, json_schema = true, accept = true }

local function env(name)
  local v = os.getenv(name)
  if v == nil or v == "" then return nil end
  return v
end

-- Resolves environment defaults into adapter args; returns args, key_env.
function M.resolve_args(t, api)
  local args = { api = api or "anthropic.chat", params = {} }
  for k, v in pairs(t) do
    if k == "params" then -- merged below; never aliased (it is the caller's table)
    elseif CALL_FIELDS[k] then args[k] = v else args.params[k] = v end
  end
  for _, extra in ipairs({ t.params, t.parameters }) do
    if type(extra) == "table" then
      for k, v in pairs(extra) do if args.params[k] == nil then args.params[k] = v end end
    end
  end
  args.parameters, args.json_schema = nil, nil -- no structured output here: plain text
  args.url = t.url or t.proxy_url
  args.proxy_url = nil
  args.base_url = t.base_url or env("ANTHROPIC_BASE_URL") or adapter.default_base_url
  args.api_key = t.api_key or env("ANTHROPIC_API_KEY")
  local key_env
  local target = args.url or args.base_url
  if type(target) == "table" then target = tostring(target[1]) end -- a pool
  if not args.api_key and target:match("^https?://api%.anthropic%.com[:/]?") then
    key_env = "ANTHROPIC_API_KEY"
  end
  return args, key_env
end

-- chat{ model=, messages=, <parameters>, base_url=, api_key=,
-- extra_headers=, timeout_ms=, url= } -> text, usage, detail | nil, err.
function M.chat(t)
  if type(t) ~= "table" then error("anthropic.chat: expected a table argument, got " .. type(t), 2) end
  local args, key_env = M.resolve_args(t, t.api or "anthropic.chat")
  args.params.api = nil
  return models.send{ api = args.api, provider = "anthropic", model = args.model, adapter = adapter,
    args = args, key_env = key_env, accept = args.accept }
end

-- model{ model=, messages=, parameters= } -> model object for evaluate.
function M.model(t)
  if type(t) ~= "table" then error("anthropic.model: expected a table argument, got " .. type(t), 2) end
  local spec = {}
  for k, v in pairs(t) do spec[k] = v end
  if spec.messages == nil then spec.messages = { { role = "user", content = "{input}" } } end
  spec.api = "anthropic.model"
  spec.chat = M.chat
  local obj = models.template_model(spec)
  obj.provider = "anthropic"
  return obj
end

return M
