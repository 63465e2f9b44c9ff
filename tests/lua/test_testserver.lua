-- The loopback test server (contrib/testserver), driven with the curl CLI:
-- reply shapes, judge replies, replies rules, auth, stats, every fault kind,
-- deterministic fault sequences.
local h = require "helper"
local cjson = require "cjson"
local testserver = require "testserver"

local function chat(content, extra)
  local body = { model = "gpt-test", messages = { { role = "system", content = "be brief" },
    { role = "user", content = content } } }
  for k, v in pairs(extra or {}) do body[k] = v end
  return body
end

local ts = testserver.start{}

h.case("openai reply: echo, model, usage", function()
  local status, body = ts:curl{ body = chat("Hello world") }
  h.eq(status, 200, "status")
  local r = cjson.decode(body)
  h.eq(r.object, "chat.completion", "object")
  h.eq(r.model, "gpt-test", "model")
  h.eq(r.choices[1].message.role, "assistant", "role")
  h.eq(r.choices[1].message.content, "reply to: Hello world", "content")
  -- "be brief\nHello world\n" is 21 bytes -> 6 tokens; the reply is 22 bytes -> 6
  h.eq(r.usage.prompt_tokens, 6, "prompt_tokens")
  h.eq(r.usage.completion_tokens, 6, "completion_tokens")
  h.eq(r.usage.total_tokens, 12, "total_tokens")
end)

h.case("replies are deterministic and depend on the request", function()
  local _, a = ts:curl{ body = chat("same question") }
  local _, b = ts:curl{ body = chat("same question") }
  local _, c = ts:curl{ body = chat("other question") }
  h.eq(a, b, "same request, same reply")
  assert(a ~= c, "different requests gave the same reply")
end)

h.case("the echo is truncated on a UTF-8 boundary", function()
  local long = string.rep("é", 300)
  local _, body = ts:curl{ body = chat(long) }
  local text = cjson.decode(body).choices[1].message.content
  h.eq(#text, #"reply to: " + 200, "length")
  assert(utf8.len(text), "truncated echo is not valid UTF-8")
end)

h.case("content given as a list of text parts", function()
  local _, body = ts:curl{ body = { model = "m", messages = { { role = "user",
    content = { { type = "text", text = "part one, " }, { type = "text", text = "part two" } } } } } }
  h.eq(cjson.decode(body).choices[1].message.content, "reply to: part one, part two", "content")
end)

local judge_prompt = "Rate the output. Answer in this format:\nscore: <1-5>\njustification: <why>\n" ..
  "output: Patear el balde."

h.case("judge prompts get a score and a justification", function()
  local _, body = ts:curl{ body = chat(judge_prompt) }
  local text = cjson.decode(body).choices[1].message.content
  local score = tonumber(text:match("^score: (%d)\njustification: .+"))
  assert(score and score >= 1 and score <= 5, text)
  local _, again = ts:curl{ body = chat(judge_prompt) }
  h.eq(cjson.decode(again).choices[1].message.content, text, "deterministic")
  -- the score follows the prompt: over a handful of prompts more than one score shows up
  local seen, n = {}, 0
  for i = 1, 12 do
    local _, b = ts:curl{ body = chat(judge_prompt .. " variant " .. i) }
    local s = cjson.decode(b).choices[1].message.content:match("^score: (%d)")
    if not seen[s] then seen[s] = true; n = n + 1 end
  end
  assert(n >= 3, "scores do not vary with the prompt")
end)

h.case("judge prompts in JSON mode get a JSON object", function()
  for _, kind in ipairs({ "json_object", "json_schema" }) do
    local _, body = ts:curl{ body = chat(judge_prompt, { response_format = { type = kind } }) }
    local obj = cjson.decode(cjson.decode(body).choices[1].message.content)
    assert(obj.score == math.floor(obj.score) and obj.score >= 1 and obj.score <= 5, kind)
    h.eq(type(obj.justification), "string", kind .. " justification")
  end
end)

h.case("anthropic messages shape", function()
  local status, body = ts:curl{ path = "/v1/messages", body = { model = "claude-test",
    system = "be brief", max_tokens = 100, messages = { { role = "user", content = "Hi there" } } } }
  h.eq(status, 200, "status")
  local r = cjson.decode(body)
  h.eq(r.type, "message", "type")
  h.eq(r.model, "claude-test", "model")
  h.eq(r.content[1].type, "text", "content type")
  h.eq(r.content[1].text, "reply to: Hi there", "text")
  h.eq(r.usage.input_tokens, 5, "input_tokens")
  h.eq(r.usage.output_tokens, 5, "output_tokens")
end)

h.case("azure deployments path and bare /chat/completions", function()
  local status, body = ts:curl{ path = "/openai/deployments/my-dep/chat/completions?api-version=2024-02-01",
    body = { messages = { { role = "user", content = "x" } } } }
  h.eq(status, 200, "azure status")
  h.eq(cjson.decode(body).model, "my-dep", "deployment as model")
  status = ts:curl{ path = "/chat/completions", body = chat("y") }
  h.eq(status, 200, "bare path")
end)

h.case("bad requests: unknown path, bad JSON, wrong method", function()
  h.eq((ts:curl{ path = "/nope", body = chat("x") }), 404, "unknown path")
  local status, body = ts:curl{ body = "{not json" }
  h.eq(status, 400, "bad json")
  assert(cjson.decode(body).error.message:find("not a JSON object", 1, true), body)
  h.eq((ts:curl{ method = "GET" }), 405, "GET")
end)

h.case("chunked request bodies", function()
  local status, body = ts:curl{ body = chat("chunked body"), headers = { ["transfer-encoding"] = "chunked" } }
  h.eq(status, 200, "status")
  h.eq(cjson.decode(body).choices[1].message.content, "reply to: chunked body", "content")
end)

h.case("stats count requests, paths, statuses and repeated keys; reset clears", function()
  ts:reset()
  local s = ts:stats()
  h.eq(s.requests, 0, "after reset")
  ts:curl{ body = chat("k1") }
  ts:curl{ body = chat("k1") }
  ts:curl{ body = chat("k2") }
  ts:curl{ path = "/v1/messages", body = chat("k3") }
  s = ts:stats{ keys = true }
  h.eq(s.requests, 4, "requests")
  h.eq(s.paths["/v1/chat/completions"], 3, "chat path")
  h.eq(s.paths["/v1/messages"], 1, "messages path")
  h.eq(s.status["200"], 4, "status 200")
  h.eq(s.distinct_keys, 3, "distinct keys")
  h.eq(s.repeated_keys, 1, "repeated keys")
  h.eq(s.max_key_count, 2, "max key count")
  local twice = 0
  for _, k in pairs(s.keys) do if k.count == 2 then twice = twice + 1; assert(k.min_gap_ms >= 0) end end
  h.eq(twice, 1, "one key seen twice")
  h.eq(s.inflight, 0, "inflight")
  assert(s.inflight_peak >= 1, "inflight_peak")
end)

h.case("forced faults: 429 with Retry-After headers, 500, 503, malformed", function()
  local t2 = testserver.start{ retry_after = 3, retry_after_ms = 2500 }
  local status, body, head = t2:curl{ body = chat("a"), headers = { ["x-evalua-fault"] = "429" } }
  h.eq(status, 429, "429")
  assert(head:lower():find("retry%-after: 3\r\n"), head)
  assert(head:lower():find("retry%-after%-ms: 2500\r\n"), head)
  assert(cjson.decode(body).error.message:find("Rate limit", 1, true), body)
  h.eq((t2:curl{ body = chat("a"), headers = { ["x-evalua-fault"] = "500" } }), 500, "500")
  h.eq((t2:curl{ body = chat("a"), headers = { ["x-evalua-fault"] = "503" } }), 503, "503")
  status, body = t2:curl{ body = chat("a"), headers = { ["x-evalua-fault"] = "malformed" } }
  h.eq(status, 200, "malformed status")
  assert(not pcall(cjson.decode, body), "malformed body decoded: " .. body)
  local s = t2:stats()
  h.eq(s.faults["429"], 1, "429 count")
  h.eq(s.faults["500"], 1, "500 count")
  h.eq(s.faults["503"], 1, "503 count")
  h.eq(s.faults.malformed, 1, "malformed count")
  t2:stop()
end)

h.case("forced faults: reset, truncated, stall", function()
  local t2 = testserver.start{ stall_ms = 5000 }
  local status, body, _, rc = t2:curl{ body = chat("a"), headers = { ["x-evalua-fault"] = "reset" } }
  h.eq(status, 0, "reset status")
  h.eq(body, "", "reset body")
  assert(rc == 56 or rc == 52, "reset: curl exit " .. tostring(rc))
  status, body, _, rc = t2:curl{ body = chat("a"), headers = { ["x-evalua-fault"] = "truncated" } }
  h.eq(rc, 18, "truncated: curl exit (partial file)")
  status, body, _, rc = t2:curl{ body = chat("a"), max_time = 0.5,
    headers = { ["x-evalua-fault"] = "stall" } }
  h.eq(rc, 28, "stall: curl exit (timeout)")
  h.eq(status, 0, "stall status")
  local s = t2:stats()
  h.eq(s.faults.reset, 1, "reset count")
  h.eq(s.faults.truncated, 1, "truncated count")
  h.eq(s.faults.stall, 1, "stall count")
  h.eq(s.client_aborts, 1, "the stalled client gave up")
  h.eq(s.inflight, 0, "nothing left in flight")
  t2:stop()
end)

h.case("x-evalua-fault-count fails only the first receipts of a request", function()
  local t2 = testserver.start{}
  local hdr = { ["x-evalua-fault"] = "503", ["x-evalua-fault-count"] = "2" }
  h.eq((t2:curl{ body = chat("q"), headers = hdr }), 503, "first")
  h.eq((t2:curl{ body = chat("q"), headers = hdr }), 503, "second")
  h.eq((t2:curl{ body = chat("q"), headers = hdr }), 200, "third")
  h.eq((t2:curl{ body = chat("other"), headers = hdr }), 503, "another request")
  t2:stop()
end)

h.case("random faults follow the seed", function()
  local function sequence(seed)
    local t2 = testserver.start{ seed = seed, fault_rate = 0.5, faults = "500,503" }
    local seq = {}
    for i = 1, 30 do seq[i] = t2:curl{ body = chat("row " .. i) } end
    local s = t2:stats()
    local n500, n503, n200 = 0, 0, 0
    for _, st in ipairs(seq) do
      if st == 500 then n500 = n500 + 1 elseif st == 503 then n503 = n503 + 1 else n200 = n200 + 1 end
    end
    h.eq(s.faults["500"], n500, "500 counted")
    h.eq(s.faults["503"], n503, "503 counted")
    h.eq(s.status["200"] or 0, n200, "200 counted")
    assert(n200 > 3 and n500 + n503 > 3, "rate 0.5 gave " .. n200 .. " successes of 30")
    -- /reset restarts the sequence
    t2:reset()
    for i = 1, 5 do h.eq((t2:curl{ body = chat("row " .. i) }), seq[i], "after reset " .. i) end
    t2:stop()
    return table.concat(seq, ",")
  end
  local a, b, c = sequence(7), sequence(7), sequence(8)
  h.eq(a, b, "same seed")
  assert(a ~= c, "a different seed gave the same faults")
end)

h.case("--require-key: 401 without the key, accepted with it", function()
  local t2 = testserver.start{ require_key = "sk-test-123" }
  local status, body = t2:curl{ body = chat("a") }
  h.eq(status, 401, "no key")
  h.eq(cjson.decode(body).error.type, "invalid_request_error", "openai error body")
  h.eq((t2:curl{ body = chat("a"), headers = { authorization = "Bearer wrong" } }), 401, "wrong key")
  h.eq((t2:curl{ body = chat("a"), headers = { authorization = "Bearer sk-test-123" } }), 200, "bearer")
  status, body = t2:curl{ path = "/v1/messages", body = chat("a") }
  h.eq(status, 401, "anthropic no key")
  h.eq(cjson.decode(body).error.type, "authentication_error", "anthropic error body")
  h.eq((t2:curl{ path = "/v1/messages", body = chat("a"), headers = { ["x-api-key"] = "sk-test-123" } }),
    200, "x-api-key")
  h.eq((t2:curl{ path = "/openai/deployments/d/chat/completions", body = chat("a"),
    headers = { ["api-key"] = "sk-test-123" } }), 200, "azure api-key")
  t2:stop()
end)

h.case("replies rules: first match in the last user message wins", function()
  local t2 = testserver.start{ replies = {
    { match = "Kick the bucket", reply = "Estirar la pata." },
    { match = "bucket", reply = "Cubo." },
    { match = "score me", reply = "score: 5\njustification: scripted", judge = true },
  } }
  local function text(body) return cjson.decode(body).choices[1].message.content end
  h.eq(text(select(2, t2:curl{ body = chat("Kick the bucket.") })), "Estirar la pata.", "first rule")
  h.eq(text(select(2, t2:curl{ body = chat("A bucket.") })), "Cubo.", "second rule")
  h.eq(text(select(2, t2:curl{ body = chat("Nothing") })), "reply to: Nothing", "no rule")
  -- plain rules do not answer judge prompts; judge=true rules do
  local jp = judge_prompt .. " Kick the bucket"
  assert(text(select(2, t2:curl{ body = chat(jp) })):match("^score: %d"), "judge prompt")
  h.eq(text(select(2, t2:curl{ body = chat(judge_prompt .. " score me") })),
    "score: 5\njustification: scripted", "judge rule")
  t2:stop()
end)

h.case("bad replies file and bad flags are reported", function()
  local d = h.tmpdir()
  h.write(d .. "/r.jsonl", '{"match": "a", "reply": "b"}\n{"match": 1}\n')
  h.raises("r.jsonl:2: each line needs string fields", testserver.start, { replies = d .. "/r.jsonl" })
  h.raises("unknown fault 'boom'", testserver.start, { faults = "429,boom" })
end)

h.case("latency is applied (lower bound) and requests overlap", function()
  local t2 = testserver.start{ latency_ms = 800 }
  local _, _, _, _, secs = t2:curl{ body = chat("slow") }
  assert(secs >= 0.79, "answered in " .. secs .. " s")
  -- four concurrent clients: the server keeps them all in flight at once
  local cmd = {}
  for i = 1, 4 do
    cmd[#cmd + 1] = string.format("curl -s -o /dev/null -X POST --data-binary %s %s/v1/chat/completions &",
      h.quote(cjson.encode(chat("c" .. i))), t2.url)
  end
  os.execute(table.concat(cmd, " ") .. " wait")
  local s = t2:stats()
  h.eq(s.requests, 5, "requests")
  h.eq(s.inflight_peak, 4, "inflight peak")
  t2:stop()
end)

h.case("--log writes one line per request; --jitter-ms adds to the latency", function()
  local t2 = testserver.start{ log = true, latency_ms = 100, jitter_ms = 100, seed = 3 }
  local secs, delays, distinct = {}, {}, {}
  for i = 1, 4 do
    local status, _, head, _, s = t2:curl{ body = chat("logged " .. i),
      headers = i == 4 and { ["x-evalua-fault"] = "503" } or nil }
    secs[i] = s
    delays[i] = tonumber(head:match("x%-evalua%-delay%-ms: (%d+)"))
    distinct[delays[i]] = true
    h.eq(status, i == 4 and 503 or 200, "status " .. i)
  end
  local nd = 0
  for i = 1, 4 do
    assert(delays[i] >= 100 and delays[i] <= 200, "delay " .. delays[i])
    assert(secs[i] >= delays[i] / 1000 - 0.001, "answered in " .. secs[i] .. " s, before " .. delays[i] .. " ms")
  end
  for _ in pairs(distinct) do nd = nd + 1 end
  assert(nd >= 2, "jitter gave every request the same delay")
  local log = h.read(t2.log)
  local lines = {}
  for line in log:gmatch("[^\n]+") do lines[#lines + 1] = line end
  h.eq(#lines, 4, "log lines")
  assert(lines[1]:match("^[%d.]+ POST /v1/chat/completions 200 none key=%x+$"), lines[1])
  assert(lines[4]:match(" 503 503 key=%x+$"), lines[4])
  t2:stop()
end)

h.case("the server exits by itself after --max-seconds", function()
  local t2 = testserver.start{ max_seconds = 0.3 }
  assert(t2:running(), "server not running at start")
  os.execute("sleep 0.6")
  assert(not t2:running(), "server still running after --max-seconds")
  t2:stop()
end)

ts:stop()
h.done()
