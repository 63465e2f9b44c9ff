-- evalua.anthropic: the Anthropic Messages API. chat{...} -> text, usage,
-- detail | nil, err (yields inside a task); model{...} -> a template model
-- for evaluate. ANTHROPIC_API_KEY and ANTHROPIC_BASE_URL configure it.
-- Built on evalua.provider, the base it shares with evalua.openai.
local provider = require "evalua.provider"
local adapter = require "evalua.providers.anthropic"

local env = provider.env

return provider.new{
  name = "anthropic",
  adapter = adapter,
  resolve = function(args, t)
    args.json_schema = nil -- no structured output here: plain text
    args.base_url = t.base_url or env("ANTHROPIC_BASE_URL") or adapter.default_base_url
    args.api_key = t.api_key or env("ANTHROPIC_API_KEY")
    if provider.needs_key(args, "^https?://api%.anthropic%.com[:/]?") then return "ANTHROPIC_API_KEY" end
  end,
  route = function(args) return "anthropic", args.model end,
}
