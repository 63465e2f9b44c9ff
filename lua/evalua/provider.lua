-- evalua.provider: the one base of the provider modules (evalua.openai,
-- evalua.anthropic). A provider is made from a spec and gets
--   P.resolve_args(t [, api]) -> args, key_env   call fields apart from body
--       parameters (params= and parameters= merged in), url/proxy_url, then
--       the provider's own endpoint and key defaults (spec.resolve)
--   P.chat{...} -> text, usage, detail | nil, err   (yields inside a task)
--   P.model{...} -> a template model for evaluate ({column} placeholders)
-- spec: name ("openai"), adapter (the pure build/parse module), fields (call
-- fields beyond the common ones), resolve(args, t, api) -> key_env, route(args)
-- -> provider, model (what accounting and the cache call the call).
local models = require "evalua.models"

local M = {}

local COMMON_FIELDS = { "model", "messages", "base_url", "api_key", "extra_headers", "timeout_ms",
  "url", "proxy_url", "json_schema", "accept", "params", "parameters" }

-- The value of an environment variable, nil when unset or empty.
function M.env(name)
  local v = os.getenv(name)
  if v == nil or v == "" then return nil end
  return v
end

-- Whether args reach the real service at host (a Lua pattern of the URL
-- start) with no key: then the caller names the variable to set.
function M.needs_key(args, host)
  if args.api_key then return false end
  local target = args.url or args.base_url
  if type(target) == "table" then target = tostring(target[1]) end -- a pool
  return type(target) == "string" and target:match(host) ~= nil
end

function M.new(spec)
  local P = { adapter = spec.adapter }
  local fields = {}
  for _, k in ipairs(COMMON_FIELDS) do fields[k] = true end
  for _, k in ipairs(spec.fields or {}) do fields[k] = true end

  function P.resolve_args(t, api)
    api = api or spec.name .. ".chat"
    local args = { api = api, params = {} }
    for k, v in pairs(t) do
      if k == "params" then -- merged below; never aliased (it is the caller's table)
      elseif fields[k] then args[k] = v else args.params[k] = v end
    end
    for _, extra in ipairs({ t.params, t.parameters }) do
      if type(extra) == "table" then
        for k, v in pairs(extra) do if args.params[k] == nil then args.params[k] = v end end
      end
    end
    args.parameters = nil
    args.url = t.url or t.proxy_url
    args.proxy_url = nil
    return args, spec.resolve(args, t, api)
  end

  function P.chat(t)
    if type(t) ~= "table" then error(spec.name .. ".chat: expected a table argument, got " .. type(t), 2) end
    local args, key_env = P.resolve_args(t, t.api or spec.name .. ".chat")
    args.params.api = nil
    local provider, model = spec.route(args)
    return models.send{ api = args.api, provider = provider, model = model, adapter = spec.adapter,
      args = args, key_env = key_env, accept = args.accept }
  end

  function P.model(t)
    if type(t) ~= "table" then error(spec.name .. ".model: expected a table argument, got " .. type(t), 2) end
    local m = {}
    for k, v in pairs(t) do m[k] = v end
    if m.messages == nil then m.messages = { { role = "user", content = "{input}" } } end
    m.api = spec.name .. ".model"
    m.chat = P.chat
    local obj = models.template_model(m)
    obj.provider = spec.name
    return obj
  end

  return P
end

return M
