-- test_adapters: the pure OpenAI/Azure/Anthropic adapters against fixed
-- requests and responses, model URIs, message templates, and the I/O path
-- (cache, offline, dry run, accounting, 401 abort) over a fake transport.
local h = require "helper"
local cjson = require "cjson"
local oa = require "evalua.providers.openai"
local an = require "evalua.providers.anthropic"
local common = require "evalua.providers.common"
local models = require "evalua.models"
local config = require "evalua.config"
local accounting = require "evalua.accounting"

local function resp(status, body) return { status = status, headers = {}, body = body } end

-- ------------------------------------------------------------ OpenAI build

h.case("openai build_request: url, headers, body", function()
  local req = oa.build_request{ model = "gpt-4o-mini", base_url = "http://127.0.0.1:9/v1/",
    api_key = "sk-abc", organization = "org-1",
    messages = { { role = "system", content = "be brief" }, { role = "user", content = "hi" } },
    params = { temperature = 0, max_tokens = 5, seed = 7, logprobs = true, top_logprobs = 2 },
    extra_headers = { ["X-Trace"] = "t1" }, timeout_ms = 1234 }
  h.eq(req.method, "POST")
  h.eq(req.url, "http://127.0.0.1:9/v1/chat/completions")
  h.eq(req.headers.Authorization, "Bearer sk-abc")
  h.eq(req.headers["OpenAI-Organization"], "org-1")
  h.eq(req.headers["Content-Type"], "application/json")
  h.eq(req.headers["X-Trace"], "t1")
  h.eq(req.timeout_ms, 1234)
  local b = cjson.decode(req.body)
  h.eq(b.model, "gpt-4o-mini")
  h.eq(b.messages[1].role, "system")
  h.eq(b.messages[2].content, "hi")
  h.eq(b.temperature, 0)
  h.eq(b.max_tokens, 5)
  h.eq(b.seed, 7)
  h.eq(b.logprobs, true)
  h.eq(b.top_logprobs, 2)
end)

h.case("openai build_request: no key means no Authorization; default base", function()
  local req = oa.build_request{ model = "m", messages = { { role = "user", content = "x" } } }
  h.eq(req.url, "https://api.openai.com/v1/chat/completions")
  h.eq(req.headers.Authorization, nil)
end)

h.case("openai build_request: json_schema becomes response_format", function()
  local schema = { type = "object", properties = { score = { type = "integer" } } }
  local b = cjson.decode(oa.build_request{ model = "m", messages = { { role = "user", content = "x" } },
    json_schema = schema }.body)
  h.eq(b.response_format.type, "json_schema")
  h.eq(b.response_format.json_schema.name, "response")
  h.eq(b.response_format.json_schema.schema.properties.score.type, "integer")
  -- a response_format the caller gave wins
  b = cjson.decode(oa.build_request{ model = "m", messages = { { role = "user", content = "x" } },
    json_schema = schema, params = { response_format = { type = "json_object" } } }.body)
  h.eq(b.response_format.type, "json_object")
end)

h.case("openai build_request: azure url, api-key header, no model in body", function()
  local req = oa.build_request{ api_type = "azure", base_url = "https://res.openai.azure.com/",
    deployment = "gpt4dep", api_version = "2024-02-01", api_key = "azkey", model = "gpt-4",
    messages = { { role = "user", content = "x" } } }
  h.eq(req.url, "https://res.openai.azure.com/openai/deployments/gpt4dep/chat/completions?api-version=2024-02-01")
  h.eq(req.headers["api-key"], "azkey")
  h.eq(req.headers.Authorization, nil)
  h.eq(cjson.decode(req.body).model, nil)
  req = oa.build_request{ api_type = "azure", azure_ad = true, base_url = "https://r.example/",
    deployment = "d", api_key = "entra-token", messages = { { role = "user", content = "x" } } }
  h.eq(req.headers.Authorization, "Bearer entra-token")
  h.eq(req.headers["api-key"], nil)
  req = oa.build_request{ api_type = "azure", base_url = "https://r.example", model = "dep2",
    messages = { { role = "user", content = "x" } } }
  h.eq(req.url, "https://r.example/openai/deployments/dep2/chat/completions?api-version=" .. oa.default_azure_api_version)
end)

h.case("openai build_request: completions shape and bad arguments", function()
  local req = oa.build_request{ kind = "completions", model = "m", prompt = "p", base_url = "http://h/v1" }
  h.eq(req.url, "http://h/v1/completions")
  h.eq(cjson.decode(req.body).prompt, "p")
  h.raises("openai.chat: 'messages' must be a non-empty list", oa.build_request, { model = "m", messages = {} })
  h.raises("openai.chat: messages[1].role must be a string", oa.build_request,
    { model = "m", messages = { { content = "x" } } })
  h.raises("openai.chat: messages[1].content must be a string or a list of parts, got number",
    oa.build_request, { model = "m", messages = { { role = "user", content = 5 } } })
  h.raises("openai.chat: stream = true is not supported (answers are read whole)", oa.build_request,
    { model = "m", messages = { { role = "user", content = "x" } }, params = { stream = true } })
  h.raises("anthropic.chat: stream = true is not supported", an.build_request,
    { model = "m", messages = { { role = "user", content = "x" } }, params = { stream = true } })
  h.raises("openai.chat: 'model' must be a non-empty string", oa.build_request,
    { messages = { { role = "user", content = "x" } } })
end)

-- ------------------------------------------------------------ OpenAI parse

local OK_BODY = [[{"id":"c1","object":"chat.completion","model":"gpt-4o-mini",
 "choices":[{"index":0,"message":{"role":"assistant","content":"Hola"},"finish_reason":"stop",
 "logprobs":{"content":[{"token":"Hola","logprob":-0.1}]}}],
 "usage":{"prompt_tokens":12,"completion_tokens":3,"total_tokens":15}}]]

local req0 = { url = "https://api.openai.com/v1/chat/completions" }

h.case("openai parse_response: text, usage, detail", function()
  local text, usage, detail = oa.parse_response(resp(200, OK_BODY), req0)
  h.eq(text, "Hola")
  h.same(usage, { prompt_tokens = 12, completion_tokens = 3, total_tokens = 15 })
  h.eq(math.type(usage.prompt_tokens), "integer")
  h.eq(detail.finish_reason, "stop")
  h.eq(detail.logprobs.content[1].token, "Hola")
end)

h.case("openai parse_response: failures", function()
  local cases = {
    { 401, [[{"error":{"message":"Incorrect API key provided","type":"invalid_request_error"}}]],
      "HTTP 401 from https://api.openai.com/v1/chat/completions: Incorrect API key provided" },
    { 500, "<html>upstream down</html>",
      "HTTP 500 from https://api.openai.com/v1/chat/completions: <html>upstream down</html>" },
    { 404, "", "HTTP 404 from https://api.openai.com/v1/chat/completions: empty body" },
    { 200, [[{"choices":[]}]], "response has no choices" },
    { 200, [[{"id":"x"}]], "response has no choices" },
    { 200, [[{"choices":[{"message":{"role":"assistant","content":null},"finish_reason":"length"}]}]],
      "response has no message content (finish_reason length)" },
    { 200, [[{"choices":[{"message":{"role":"assistant","content":null,"refusal":"no"}}]}]],
      "model refused: no" },
    { 200, [[{"choices":[{"mess]], 'malformed JSON in response: "{\\"choices\\":[{\\"mess"' },
    { 200, [[{"error":{"message":"overloaded"}}]], "error in response: overloaded" },
  }
  for _, c in ipairs(cases) do
    local text, err = oa.parse_response(resp(c[1], c[2]), req0)
    h.eq(text, nil, c[3])
    h.eq(err, c[3])
  end
end)

h.case("openai parse_response: list content, legacy text, missing usage", function()
  local text, usage = oa.parse_response(resp(200, [[{"choices":[{"message":{"content":
    [{"type":"text","text":"a"},{"type":"image_url","image_url":{}},{"type":"text","text":"b"}]}}]}]]))
  h.eq(text, "ab")
  h.same(usage, { prompt_tokens = 0, completion_tokens = 0, total_tokens = 0 })
  text = oa.parse_response(resp(200, [[{"choices":[{"text":"done"}]}]]))
  h.eq(text, "done")
end)

h.case("error urls lose credentials", function()
  h.eq(common.scrub_url("https://user:pw@h.example/v1/x?api-version=1&key=SECRET&api-key=S2"),
    "https://h.example/v1/x?api-version=1")
  h.eq(common.scrub_url("http://h/x?key=a"), "http://h/x")
  local _, err = oa.parse_response(resp(403, [[{"error":{"message":"denied"}}]]),
    { url = "https://u:p@h/v1/chat/completions?key=SECRET" })
  h.eq(err, "HTTP 403 from https://h/v1/chat/completions: denied")
end)

-- ------------------------------------------------------------ Anthropic

h.case("anthropic build_request: system messages move to the top", function()
  local req = an.build_request{ model = "claude-3-5-haiku-latest", api_key = "ak",
    base_url = "http://127.0.0.1:9",
    messages = { { role = "system", content = "rule one" }, { role = "user", content = "hi" },
      { role = "system", content = { { type = "text", text = "rule two" } } } },
    params = { temperature = 0.5, seed = 3, response_format = { type = "json_object" }, stop = "END" } }
  h.eq(req.url, "http://127.0.0.1:9/v1/messages")
  h.eq(req.headers["x-api-key"], "ak")
  h.eq(req.headers["anthropic-version"], "2023-06-01")
  h.eq(req.headers.Authorization, nil)
  local b = cjson.decode(req.body)
  h.eq(b.system, "rule one\n\nrule two")
  h.eq(#b.messages, 1)
  h.eq(b.messages[1].role, "user")
  h.eq(b.max_tokens, 1024)
  h.eq(b.temperature, 0.5)
  h.eq(b.seed, nil)
  h.eq(b.response_format, nil)
  h.eq(b.stop, nil)
  h.eq(b.stop_sequences[1], "END")
  req = an.build_request{ model = "c", base_url = "https://proxy.example/v1/",
    messages = { { role = "user", content = "x" } }, params = { max_tokens = 50 } }
  h.eq(req.url, "https://proxy.example/v1/messages")
  h.eq(cjson.decode(req.body).max_tokens, 50)
  h.eq(cjson.decode(req.body).system, nil)
  h.eq(req.headers["x-api-key"], nil)
  h.raises("anthropic.chat: 'messages' needs a user message besides the system ones", an.build_request,
    { model = "c", messages = { { role = "system", content = "x" } } })
end)

h.case("anthropic parse_response", function()
  local text, usage, detail = an.parse_response(resp(200, [[{"id":"m","type":"message","role":"assistant",
    "content":[{"type":"text","text":"Hel"},{"type":"text","text":"lo"}],"stop_reason":"end_turn",
    "usage":{"input_tokens":10,"output_tokens":2}}]]))
  h.eq(text, "Hello")
  h.same(usage, { prompt_tokens = 10, completion_tokens = 2, total_tokens = 12 })
  h.eq(detail.finish_reason, "end_turn")
  local _, err = an.parse_response(resp(400, [[{"type":"error","error":{"type":"invalid_request_error","message":"max_tokens: field required"}}]]),
    { url = "https://api.anthropic.com/v1/messages" })
  h.eq(err, "HTTP 400 from https://api.anthropic.com/v1/messages: max_tokens: field required")
  _, err = an.parse_response(resp(200, [[{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}]]))
  h.eq(err, "error in response: Overloaded")
  _, err = an.parse_response(resp(200, [[{"content":[],"stop_reason":"max_tokens"}]]))
  h.eq(err, "response has empty content (stop_reason max_tokens)")
  _, err = an.parse_response(resp(200, [[{"content":[{"type":"tool_use","id":"t"}]}]]))
  h.eq(err, "response has no text block")
end)

-- ------------------------------------------------------------ URIs

h.case("model URIs: errors name the URI", function()
  local cases = {
    { "openai:gpt-4", "models: bad model URI 'openai:gpt-4': expected 'openai:/<name>'" },
    { "openai:/", "models: bad model URI 'openai:/': the name after ':/' is empty" },
    { "openai://x", "models: bad model URI 'openai://x': expected 'openai:/<name>'" },
    { "gpt-4", "models: bad model URI 'gpt-4': expected '<provider>:/<name>', e.g. 'openai:/gpt-4o-mini'" },
    { "foo:/bar", "models: unknown model URI scheme 'foo' in 'foo:/bar' (known: anthropic, endpoints, openai)" },
    { "endpoints:/nope", "models: unknown endpoint 'nope' in 'endpoints:/nope' (register it with evalua.models.register_endpoint or list it in EVALUA_ENDPOINTS)" },
  }
  for _, c in ipairs(cases) do
    local ok, err = pcall(models.resolve, c[1])
    h.eq(ok, false, c[1])
    h.eq(err, c[2])
  end
  local s, n = models.parse_uri("anthropic:/claude-3-5-haiku-latest")
  h.eq(s, "anthropic"); h.eq(n, "claude-3-5-haiku-latest")
  h.raises("models.resolve: expected a model URI, a model object or a function, got number", models.resolve, 5)
  h.raises("models.register_endpoint: endpoint 'x' has type 'llm/v1/embeddings'", models.register_endpoint,
    "x", { base_url = "http://h", type = "llm/v1/embeddings" })
end)

-- ------------------------------------------------------------ templates

h.case("template parsing is single-pass and literal", function()
  h.same(models.parse_template("Q: {question} {{lit}} {not a name} {x"),
    { "Q: ", { name = "question" }, " {lit} {not a name} {x" })
  h.same(models.parse_template('{"a": 1} and {{x}}'), { '{"a": 1} and {x}' })
  h.same(models.parse_template("}"), { "}" })
end)

-- a fake transport that answers like an echo server and counts requests
local sent = {}
local function fake(req)
  sent[#sent + 1] = req
  local b = cjson.decode(req.body)
  if req.url:find("status401", 1, true) then
    return resp(401, [[{"error":{"message":"bad key ]] .. tostring(req.headers.Authorization) .. [["}}]])
  end
  if req.url:find("transportfail", 1, true) then return nil, "connection refused" end
  local last = b.messages and b.messages[#b.messages].content or b.prompt
  if type(last) == "table" then last = last[1].text end
  if req.url:find("/messages", 1, true) then
    return resp(200, cjson.encode{ type = "message", content = { { type = "text", text = "A:" .. last } },
      usage = { input_tokens = 1000, output_tokens = 10 } })
  end
  local choice = b.prompt and { text = "C:" .. last } or { message = { role = "assistant", content = "E:" .. last } }
  return resp(200, cjson.encode{ choices = { choice }, usage = { prompt_tokens = 1000, completion_tokens = 10, total_tokens = 1010 } })
end
models.transport = fake

local tmp = h.tmpdir()
local function fresh(name)
  sent = {}
  config.cache_path = tmp .. "/" .. name .. ".db"
  config.cache, config.offline, config.dry_run = true, false, false
  accounting.reset()
  require("evalua.cache").close()
end

local BASE = "http://127.0.0.1:1/v1"

h.case("template model fills placeholders; braces in data are sent as-is", function()
  fresh("tmpl")
  local m = require("evalua.openai").model{ model = "gpt-4o-mini", base_url = BASE, api_key = "k",
    messages = { { role = "system", content = "Translate {{literally}}" },
      { role = "user", content = "{question} / {context}" } },
    parameters = { temperature = 0 } }
  local preds, errors = m:predict({ question = { "what is {context}?", "q2" }, context = { "C1 {question}", "C2" } })
  h.eq(preds.n, 2)
  h.eq(preds[1], "E:what is {context}? / C1 {question}")
  h.eq(preds[2], "E:q2 / C2")
  h.eq(next(errors), nil)
  local b = cjson.decode(sent[1].body)
  h.eq(b.messages[1].content, "Translate {literally}")
  h.eq(b.temperature, 0)
  h.raises("openai.model: placeholder {context} names no column; the columns are: other, question",
    m.predict, m, { question = { "a" }, other = { "b" } })
end)

h.case("a single input column fills the only placeholder whatever its name", function()
  fresh("single")
  local m = require("evalua.openai").model{ model = "m", base_url = BASE,
    messages = { { role = "user", content = "Say: {user_input}" } } }
  local preds, errors = m:predict({ llm_inputs = { "one", 2, nil, 4.5, n = 4 } })
  h.eq(preds[1], "E:Say: one")
  h.eq(preds[2], "E:Say: 2")
  h.eq(preds[3], nil)
  h.eq(errors[3], "column 'llm_inputs' is empty in row 3")
  h.eq(preds[4], "E:Say: 4.5")
  -- no placeholder: the input is appended as a user message
  m = require("evalua.openai").model{ model = "m", base_url = BASE,
    messages = { { role = "system", content = "sys" } } }
  preds = m:predict({ "x" })
  h.eq(preds[1], "E:x")
  h.eq(#cjson.decode(sent[#sent].body).messages, 2)
end)

h.case("anthropic model and chat", function()
  fresh("anth")
  local m = require("evalua.anthropic").model{ model = "claude-x", base_url = "http://127.0.0.1:1",
    api_key = "k", messages = { { role = "system", content = "S" }, { role = "user", content = "{q}" } } }
  local preds = m:predict({ q = { "hi" } })
  h.eq(preds[1], "A:hi")
  h.eq(sent[1].url, "http://127.0.0.1:1/v1/messages")
  h.eq(cjson.decode(sent[1].body).system, "S")
end)

h.case("function models and model objects resolve", function()
  local obj = models.resolve(function(inputs) return { "a", "b" }, { [2] = "bad" } end)
  local p, e = obj:predict({})
  h.eq(p[1], "a"); h.eq(e[2], "bad")
  local m = { predict = function() end }
  h.eq(models.resolve(m), m)
end)

h.case("endpoints: chat and completions types", function()
  fresh("endpoints")
  models.register_endpoint("local-chat", { base_url = BASE, model = "llama" })
  models.register_endpoint("local-comp", { base_url = BASE, model = "llama", type = "llm/v1/completions" })
  local text = models.chat("endpoints:/local-chat", { { role = "user", content = "hey" } }, { temperature = 0 })
  h.eq(text, "E:hey")
  h.eq(sent[1].url, BASE .. "/chat/completions")
  h.eq(cjson.decode(sent[1].body).model, "llama")
  text = models.chat("endpoints:/local-comp", { { role = "user", content = "hey" } })
  h.eq(text, "C:hey")
  h.eq(sent[2].url, BASE .. "/completions")
  local preds = models.resolve("endpoints:/local-chat"):predict({ inputs = { "r1", "r2" } })
  h.eq(preds[2], "E:r2")
  h.raises("endpoints:/local-chat: needs exactly one input column, got 2 (a, b)",
    models.resolve("endpoints:/local-chat").predict, models.resolve("endpoints:/local-chat"),
    { a = { "1" }, b = { "2" } })
end)

h.case("models.chat: proxy_url, extra headers, json_schema", function()
  fresh("judge")
  local text = models.chat("openai:/gpt-4o-mini", { { role = "user", content = "judge me" } },
    { temperature = 0 }, { proxy_url = "http://127.0.0.1:1/proxy/path", extra_headers = { ["X-A"] = "1" },
      json_schema = { type = "object" }, purpose = "judge:x" })
  h.eq(text, "E:judge me")
  h.eq(sent[1].url, "http://127.0.0.1:1/proxy/path")
  h.eq(sent[1].headers["X-A"], "1")
  h.eq(cjson.decode(sent[1].body).response_format.type, "json_schema")
  text = models.chat("anthropic:/claude-x", { { role = "user", content = "j" } }, { temperature = 0 },
    { proxy_url = "http://127.0.0.1:1/v1/messages", json_schema = { type = "object" } })
  h.eq(text, "A:j")
  h.eq(cjson.decode(sent[2].body).response_format, nil)
end)

-- ------------------------------------------------------------ the I/O path

h.case("cache: a re-run sends nothing, offline replays, misses name the request", function()
  fresh("replay")
  local chat = require("evalua.openai").chat
  local msgs = { { role = "user", content = "cache me please" } }
  h.eq(chat{ model = "m", base_url = BASE, api_key = "k1", messages = msgs, temperature = 0 }, "E:cache me please")
  h.eq(#sent, 1)
  -- same request with another key: served from the cache
  local text, usage, detail = chat{ model = "m", base_url = BASE, api_key = "k2", messages = msgs, temperature = 0 }
  h.eq(text, "E:cache me please")
  h.eq(usage.total_tokens, 1010)
  h.eq(detail.cached, true)
  h.eq(#sent, 1)
  -- another parameter is another request
  chat{ model = "m", base_url = BASE, messages = msgs, temperature = 1 }
  h.eq(#sent, 2)
  config.offline = true
  h.eq(chat{ model = "m", base_url = BASE, messages = msgs, temperature = 0 }, "E:cache me please")
  local t2, err = chat{ model = "m", base_url = BASE, messages = { { role = "user",
    content = "never seen before, a long message that is cut in the error" } } }
  h.eq(t2, nil)
  h.eq(err, 'openai.chat: offline and no cached response for openai m at ' .. BASE ..
    '/chat/completions (last message: "never seen before, a long message that i...")')
  h.eq(#sent, 2)
  local s = accounting.snapshot()
  h.eq(s.calls, 5)
  h.eq(s.requests, 2) -- two sent; the offline miss is a failure that sent nothing
  h.eq(s.cache_hits, 2)
  h.eq(s.failures, 1)
  h.eq(s.prompt_tokens, 2000)
  -- --no-cache: always sends
  config.offline, config.cache = false, false
  chat{ model = "m", base_url = BASE, messages = msgs, temperature = 0 }
  h.eq(#sent, 3)
end)

h.case("dry run counts requests and prompt tokens, sends nothing", function()
  fresh("dry")
  config.dry_run = true
  local m = require("evalua.openai").model{ model = "gpt-4o-mini", base_url = BASE,
    messages = { { role = "user", content = "{q}" } } }
  local preds, errors = m:predict({ q = { string.rep("abcd", 100), "x" } })
  h.eq(preds[1], "(dry run)")
  h.eq(next(errors), nil)
  local text, err = require("evalua.anthropic").chat{ model = "claude-3-5-haiku-x",
    messages = { { role = "user", content = "hi" } } }
  h.eq(text, nil); h.eq(err, "dry run")
  h.eq(#sent, 0)
  local s = accounting.snapshot()
  h.eq(s.dry_run.requests, 3)
  local expect = accounting.estimate_tokens({ { role = "user", content = string.rep("abcd", 100) } })
    + accounting.estimate_tokens({ { role = "user", content = "x" } })
    + accounting.estimate_tokens({ { role = "user", content = "hi" } })
  h.eq(s.dry_run.prompt_tokens, expect)
  h.eq(s.requests, 0)
  h.eq(accounting.summary_line():match("^dry run: 3 requests, ~%d+ prompt tokens, est%. cost %$[%d.]+$") ~= nil, true,
    accounting.summary_line())
  config.dry_run = false
end)

h.case("accounting: per-model sums, prices, unpriced models", function()
  fresh("acct")
  config.cache = false
  local chat = require("evalua.openai").chat
  for _ = 1, 3 do chat{ model = "gpt-4o-mini-2024-07-18", base_url = BASE, messages = { { role = "user", content = "a" } } } end
  chat{ model = "my-local", base_url = BASE, messages = { { role = "user", content = "a" } } }
  chat{ model = "gpt-4o", base_url = "http://127.0.0.1:1/transportfail", messages = { { role = "user", content = "a" } } }
  local s = accounting.snapshot()
  local mini = s.models["openai:gpt-4o-mini-2024-07-18"]
  h.eq(mini.requests, 3)
  h.eq(mini.prompt_tokens, 3000)
  h.eq(mini.completion_tokens, 30)
  h.near(mini.cost_usd, (3000 * 0.15 + 30 * 0.60) / 1e6, 1e-12)
  h.eq(s.models["openai:gpt-4o"].failures, 1)
  h.eq(s.requests, 5)
  h.eq(s.failures, 1)
  h.same(s.unpriced, { "openai:my-local" })
  h.near(s.cost_usd, mini.cost_usd, 1e-12)
  local before = accounting.snapshot()
  chat{ model = "my-local", base_url = BASE, messages = { { role = "user", content = "b" } } }
  local since = accounting.snapshot(before)
  h.eq(since.calls, 1)
  h.eq(since.prompt_tokens, 1000)
  h.eq(since.models["openai:gpt-4o-mini-2024-07-18"], nil)
  h.eq(since.models["openai:my-local"].requests, 1)
  h.eq(accounting.snapshot().calls, 6)
  h.eq(accounting.price("claude-3-5-haiku-20241022").input, 0.80)
  h.eq(accounting.price("unknown-model"), nil)
  h.eq(accounting.summary_line(),
    "models: 6 calls (6 sent, 0 cached, 1 failed), 5000 prompt + 50 completion tokens, cost $0.0005 (unpriced: openai:my-local)")
end)

h.case("errors: transport failures, 401 aborts the run, keys never shown", function()
  fresh("errors")
  local chat = require("evalua.openai").chat
  local text, err = chat{ model = "m", base_url = "http://127.0.0.1:1/transportfail",
    messages = { { role = "user", content = "a" } } }
  h.eq(text, nil)
  h.eq(err, "openai.chat: http://127.0.0.1:1/transportfail/chat/completions: connection refused")
  local sched = require "evalua.sched"
  local saved, aborted = sched.abort, nil
  sched.abort = function(msg) aborted = msg end
  text, err = chat{ model = "m", base_url = "http://127.0.0.1:1/status401", api_key = "sk-test-SECRET",
    messages = { { role = "user", content = "a" } } }
  h.eq(text, nil)
  h.eq(err, "openai.chat: HTTP 401 from http://127.0.0.1:1/status401/chat/completions: bad key Bearer *** (check OPENAI_API_KEY)")
  h.eq(aborted, err)
  -- the real service without a key raises naming the variable, stops the
  -- run, and sends nothing
  local n = #sent
  aborted = nil
  h.raises("openai.chat: OPENAI_API_KEY is not set", chat, { model = "m", messages = { { role = "user", content = "zz" } } })
  h.eq(aborted, "openai.chat: OPENAI_API_KEY is not set")
  h.raises("anthropic.chat: ANTHROPIC_API_KEY is not set", require("evalua.anthropic").chat,
    { model = "c", messages = { { role = "user", content = "zz" } } })
  models.register_endpoint("needkey", { base_url = BASE, api_key_env = "EVALUA_TEST_UNSET_KEY" })
  h.raises("endpoints:/needkey: EVALUA_TEST_UNSET_KEY is not set", models.chat, "endpoints:/needkey",
    { { role = "user", content = "zz" } })
  sched.abort = saved
  h.eq(#sent, n)
end)

-- ------------------------------------------------------------ environment

h.case("environment: base URL, organization, azure", function()
  local code = [[
    local oa = require "evalua.openai"
    local a = oa.resolve_args({ model = "m", messages = {} })
    local r = require("evalua.providers.openai").build_request(setmetatable(
      { messages = { { role = "user", content = "x" } } }, { __index = a }))
    print(a.api_type, r.url, r.headers["api-key"] or r.headers.Authorization, r.headers["OpenAI-Organization"])
  ]]
  local rc, out, errout = h.evalua({ "-e", code }, { OPENAI_BASE_URL = "http://127.0.0.1:5/v1",
    OPENAI_API_KEY = "sk-x", OPENAI_ORGANIZATION = "org-9" })
  h.eq(rc, 0, errout)
  h.eq(out, "openai\thttp://127.0.0.1:5/v1/chat/completions\tBearer sk-x\torg-9\n")
  rc, out, errout = h.evalua({ "-e", code }, { OPENAI_API_TYPE = "azure", OPENAI_API_BASE = "https://r.openai.azure.com",
    OPENAI_DEPLOYMENT_NAME = "dep", OPENAI_API_VERSION = "2024-10-21", OPENAI_API_KEY = "azk" })
  h.eq(rc, 0, errout)
  h.eq(out, "azure\thttps://r.openai.azure.com/openai/deployments/dep/chat/completions?api-version=2024-10-21\tazk\tnil\n")
  rc, out, errout = h.evalua({ "-e", "require('evalua.openai').resolve_args({model='m'})" }, { OPENAI_API_TYPE = "azure" })
  h.eq(rc, 1)
  h.eq(errout:find("openai.chat: azure needs AZURE_OPENAI_ENDPOINT or OPENAI_API_BASE (or base_url=)", 1, true) ~= nil,
    true, errout)
end)

h.case("EVALUA_ENDPOINTS and EVALUA_PRICES files", function()
  local d = h.tmpdir()
  h.write(d .. "/ep.json", [[{"endpoints":[{"name":"vllm","base_url":"http://127.0.0.1:7/v1","model":"qwen","api_key_env":"VLLM_KEY"}]}]])
  h.write(d .. "/prices.json", [[{"qwen":{"input":1,"output":2},"gpt-4o-mini":{"input":100,"output":200}}]])
  local rc, out, errout = h.evalua({ "-e", [[
    local m = require "evalua.models"
    local ep = m.endpoint("vllm")
    local acc = require "evalua.accounting"
    print(ep.base_url, ep.model, ep.type, ("%g %g"):format(acc.price("qwen").output, acc.price("gpt-4o-mini-x").input))
  ]] }, { EVALUA_ENDPOINTS = d .. "/ep.json", EVALUA_PRICES = d .. "/prices.json" })
  h.eq(rc, 0, errout)
  h.eq(out, "http://127.0.0.1:7/v1\tqwen\tllm/v1/chat\t2 100\n")
  h.write(d .. "/bad.json", [[{"qwen":{"input":"cheap"}}]])
  rc, out, errout = h.evalua({ "-e", "require('evalua.accounting').price('x')" }, { EVALUA_PRICES = d .. "/bad.json" })
  h.eq(rc, 1)
  h.eq(errout:find("accounting: EVALUA_PRICES: " .. d .. "/bad.json: entry 'qwen' needs numeric input and output", 1, true) ~= nil,
    true, errout)
end)

h.done()
