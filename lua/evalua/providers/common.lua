-- evalua.providers.common: helpers the pure adapters share: JSON with a
-- stable shape, URL joining, credential scrubbing for URLs shown in errors.
local cjson = require "cjson"

local M = {}

M.null = cjson.null

-- Decodes JSON text; returns value or nil, err (never raises).
function M.decode(text)
  if type(text) ~= "string" then return nil, "no body" end
  local ok, v = pcall(cjson.decode, text)
  if not ok then return nil, "malformed JSON" end
  return v
end

-- The one encoder of request bodies: canonical JSON (evalua.json, in C),
-- byte-identical across processes; its text is what the cache key hashes.
M.encode = require("evalua.json").canonical

-- Integer value of a JSON number (cjson decodes numbers as floats), or nil.
function M.int(v)
  if type(v) ~= "number" or v ~= v then return nil end
  return math.tointeger(v) or math.floor(v)
end

-- Joins a base URL and a path with exactly one slash between them.
function M.join(base, path)
  return (base:gsub("/+$", "")) .. "/" .. (path:gsub("^/+", ""))
end

-- Query parameter names that carry credentials (Gemini-style ?key=, SAS tokens).
local secret_param = { key = true, ["api-key"] = true, api_key = true, apikey = true,
  token = true, access_token = true, sig = true, signature = true, code = true }

-- A URL without user:password@ and without credential query parameters:
-- what errors show and what the cache key hashes.
function M.scrub_url(url)
  if type(url) ~= "string" then return "?" end
  if not url:find("[@?]") then return url end
  url = url:gsub("^(%a[%w+.-]*://)[^/@]*@", "%1")
  local base, query = url:match("^([^?]*)%?(.*)$")
  if not base then return url end
  local kept = {}
  for pair in query:gmatch("[^&]+") do
    local name = pair:match("^([^=]*)") or pair
    if not secret_param[name:lower()] then kept[#kept + 1] = pair end
  end
  if #kept == 0 then return base end
  return base .. "?" .. table.concat(kept, "&")
end

-- Text of a message content: a string, or a list of parts whose text parts
-- are joined (OpenAI and Anthropic both use { type = "text", text = ... }).
function M.content_text(content)
  if type(content) == "string" then return content end
  if type(content) ~= "table" then return nil end
  local parts = {}
  for _, p in ipairs(content) do
    if type(p) == "string" then
      parts[#parts + 1] = p
    elseif type(p) == "table" and type(p.text) == "string" and (p.type == nil or p.type == "text") then
      parts[#parts + 1] = p.text
    end
  end
  if #parts == 0 then return nil end
  return table.concat(parts)
end

-- The server's own error text from an error body: OpenAI and Anthropic
-- { error = { message } }, { error = "text" }, { message = "text" }, or the
-- start of a non-JSON body.
function M.server_message(body)
  local v = M.decode(body)
  if type(v) == "table" then
    local e = v.error
    if type(e) == "table" and type(e.message) == "string" then return e.message end
    if type(e) == "string" then return e end
    if type(v.message) == "string" then return v.message end
    if type(v.detail) == "string" then return v.detail end
  end
  if type(body) ~= "string" or body == "" then return "empty body" end
  local s = body:gsub("%s+", " ")
  if #s > 200 then s = s:sub(1, 200) .. "..." end
  return s
end

-- The common HTTP failure message: "HTTP 401 from <url>: <server message>".
function M.http_error(response, request)
  local url = M.scrub_url(request and request.url)
  return string.format("HTTP %s from %s: %s", tostring(response.status), url,
    M.server_message(response.body))
end

-- The prologue every parse_response shares: a non-2xx status, a body that
-- is not a JSON object, or an error object in a 2xx body become nil, err;
-- otherwise the decoded body. is_error(v) (optional) adds a provider's own
-- error shape (Anthropic's { type = "error" }).
function M.response_json(response, request, is_error)
  local status = tonumber(response.status) or 0
  if status < 200 or status > 299 then return nil, M.http_error(response, request) end
  local v = M.decode(response.body)
  if type(v) ~= "table" then
    local s = tostring(response.body or ""):sub(1, 80)
    return nil, "malformed JSON in response: " .. string.format("%q", s)
  end
  if (v.error ~= nil and v.error ~= M.null) or (is_error and is_error(v)) then
    return nil, "error in response: " .. M.server_message(response.body)
  end
  return v
end

-- The request table every build_request returns: the caller's extra
-- headers over the provider's, the body in canonical JSON.
function M.post(url, headers, extra_headers, body, timeout_ms)
  for k, v in pairs(extra_headers or {}) do headers[k] = v end
  return { method = "POST", url = url, headers = headers, body = M.encode(body), timeout_ms = timeout_ms }
end

-- Usage normalised to prompt/completion/total token counts (integers).
function M.usage(prompt, completion, total)
  prompt, completion = M.int(prompt), M.int(completion)
  total = M.int(total)
  if total == nil and (prompt or completion) then total = (prompt or 0) + (completion or 0) end
  return { prompt_tokens = prompt or 0, completion_tokens = completion or 0, total_tokens = total or 0 }
end

-- Shallow copy of a table (nil -> {}).
function M.copy(t)
  local r = {}
  for k, v in pairs(t or {}) do r[k] = v end
  return r
end

return M
