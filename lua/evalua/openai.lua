-- evalua.openai: OpenAI chat completions (and Azure OpenAI, and any
-- OpenAI-compatible server through OPENAI_BASE_URL). chat{...} -> text,
-- usage, detail | nil, err, yielding inside a task; model{...} -> a model
-- object for evaluate whose messages carry {column} placeholders.
local adapter = require "evalua.providers.openai"
local models = require "evalua.models"

local M = {}

M.adapter = adapter

-- Fields of chat{} that configure the call; every other field is a body
-- parameter (temperature, max_tokens, top_p, seed, response_format, ...).
local CALL_FIELDS = { model = true, messages = true, base_url = true, api_key = true,
  extra_headers = true, timeout_ms = true, organization = true, api_type = true,
  deployment = true, api_version = true, url = true, proxy_url = true, json_schema = true, accept = true,
  azure_ad = true,
  params = true, parameters = true }

local function env(name)
  local v = os.getenv(name)
  if v == nil or v == "" then return nil end
  return v
end

local AZURE = { azure = true, azure_ad = true, azuread = true }

-- Resolves environment defaults into adapter args; returns args, key_env
-- (the variable to name when the key a real service needs is missing).
function M.resolve_args(t, api)
  api = api or "openai.chat"
  local args = { api = api, params = {} }
  for k, v in pairs(t) do
    if k == "params" then -- merged below; never aliased (it is the caller's table)
    elseif CALL_FIELDS[k] then args[k] = v else args.params[k] = v end
  end
  for _, extra in ipairs({ t.params, t.parameters }) do
    if type(extra) == "table" then
      for k, v in pairs(extra) do if args.params[k] == nil then args.params[k] = v end end
    end
  end
  args.parameters = nil
  args.url = t.url or t.proxy_url
  args.proxy_url = nil
  local api_type = (t.api_type or env("OPENAI_API_TYPE") or "openai"):lower()
  local key_env
  if AZURE[api_type] then
    args.api_type = "azure"
    args.azure_ad = t.azure_ad or api_type ~= "azure"
    args.base_url = t.base_url or env("AZURE_OPENAI_ENDPOINT") or env("OPENAI_API_BASE")
      or env("OPENAI_BASE_URL")
    if not args.base_url and not args.url then
      error(api .. ": azure needs AZURE_OPENAI_ENDPOINT or OPENAI_API_BASE (or base_url=)", 3)
    end
    args.deployment = t.deployment or env("OPENAI_DEPLOYMENT_NAME") or t.model
    args.api_version = t.api_version or env("OPENAI_API_VERSION")
    args.api_key = t.api_key or env("AZURE_OPENAI_API_KEY") or env("OPENAI_API_KEY")
    if not args.api_key then key_env = "OPENAI_API_KEY (or AZURE_OPENAI_API_KEY)" end
  else
    args.api_type = "openai"
    args.base_url = t.base_url or env("OPENAI_BASE_URL") or env("OPENAI_API_BASE")
      or adapter.default_base_url
    args.api_key = t.api_key or env("OPENAI_API_KEY")
    args.organization = t.organization or env("OPENAI_ORGANIZATION")
    -- only the real service insists on a key; local servers often need none
    local target = args.url or args.base_url
    if type(target) == "table" then target = tostring(target[1]) end -- a pool
    if not args.api_key and target:match("^https?://api%.openai%.com[:/]?") then
      key_env = "OPENAI_API_KEY"
    end
  end
  return args, key_env
end

-- chat{ model=, messages=, <parameters>, base_url=, api_key=,
-- extra_headers=, timeout_ms=, json_schema=, url= } -> text, usage, detail
-- | nil, err.
function M.chat(t)
  if type(t) ~= "table" then error("openai.chat: expected a table argument, got " .. type(t), 2) end
  local args, key_env = M.resolve_args(t, t.api or "openai.chat")
  args.params.api = nil
  return models.send{ api = args.api, provider = args.api_type == "azure" and "azure" or "openai",
    model = args.api_type == "azure" and (args.model or args.deployment) or args.model,
    adapter = adapter, args = args, key_env = key_env, accept = args.accept }
end

-- model{ model=, messages={ ..., { role = "user", content = "{user_input}" } },
-- parameters={...}, base_url=, api_key=, ... } -> model object with
-- :predict(inputs) -> predictions, errors.
function M.model(t)
  if type(t) ~= "table" then error("openai.model: expected a table argument, got " .. type(t), 2) end
  local spec = {}
  for k, v in pairs(t) do spec[k] = v end
  if spec.messages == nil then
    spec.messages = { { role = "user", content = "{input}" } }
  end
  spec.api = "openai.model"
  spec.chat = M.chat
  local obj = models.template_model(spec)
  obj.provider = "openai"
  return obj
end

return M
