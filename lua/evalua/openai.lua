-- evalua.openai: OpenAI chat completions (and Azure OpenAI, and any
-- OpenAI-compatible server through OPENAI_BASE_URL). chat{...} -> text,
-- usage, detail | nil, err, yielding inside a task; model{...} -> a model
-- object for evaluate whose messages carry {column} placeholders. Built on
-- evalua.provider, the base it shares with evalua.anthropic; every field of
-- chat{} that is not a call field is a body parameter (temperature,
-- max_tokens, top_p, seed, response_format, ...).
local provider = require "evalua.provider"
local adapter = require "evalua.providers.openai"

local env = provider.env

local AZURE = { azure = true, azure_ad = true, azuread = true }

-- the endpoint and key defaults; returns the variable to name when the key
-- a real service needs is missing
local function resolve(args, t, api)
  local api_type = (t.api_type or env("OPENAI_API_TYPE") or "openai"):lower()
  if AZURE[api_type] then
    args.api_type = "azure"
    args.azure_ad = t.azure_ad or api_type ~= "azure"
    args.base_url = t.base_url or env("AZURE_OPENAI_ENDPOINT") or env("OPENAI_API_BASE")
      or env("OPENAI_BASE_URL")
    if not args.base_url and not args.url then
      error(api .. ": azure needs AZURE_OPENAI_ENDPOINT or OPENAI_API_BASE (or base_url=)", 4)
    end
    args.deployment = t.deployment or env("OPENAI_DEPLOYMENT_NAME") or t.model
    args.api_version = t.api_version or env("OPENAI_API_VERSION")
    args.api_key = t.api_key or env("AZURE_OPENAI_API_KEY") or env("OPENAI_API_KEY")
    if not args.api_key then return "OPENAI_API_KEY (or AZURE_OPENAI_API_KEY)" end
    return nil
  end
  args.api_type = "openai"
  args.base_url = t.base_url or env("OPENAI_BASE_URL") or env("OPENAI_API_BASE")
    or adapter.default_base_url
  args.api_key = t.api_key or env("OPENAI_API_KEY")
  args.organization = t.organization or env("OPENAI_ORGANIZATION")
  -- only the real service insists on a key; local servers often need none
  if provider.needs_key(args, "^https?://api%.openai%.com[:/]?") then return "OPENAI_API_KEY" end
end

return provider.new{
  name = "openai",
  adapter = adapter,
  fields = { "organization", "api_type", "deployment", "api_version", "azure_ad" },
  resolve = resolve,
  route = function(args)
    if args.api_type == "azure" then return "azure", args.model or args.deployment end
    return "openai", args.model
  end,
}
