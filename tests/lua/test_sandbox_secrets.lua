-- Attack 8 of issue 12: a server that echoes the API key (and a URL with
-- user:password@) in 200 answers, to the model and to the judge. After a
-- run, neither reaches the store file, the cache file, the jsonl export, the
-- HTML report or the run's output; `***` stands in their place. Control: a
-- string that is not a configured secret, echoed the same way, is found by
-- the same checks in every one of those places.
local h = require "helper"
local testserver = require "testserver"

local KEY = "sk-echoed-key-4f9a1c77e2b04d"
local TOKEN = "tok-custom-var-91b2c3d4e5"
local PLAIN = "not-a-secret-7c1e5a"

local server = testserver.start{ replies = {
  { match = "bread", reply = "Sure. Your key is " .. KEY .. " and the docs are at https://bob:hunter2@docs.example.com/x; token " .. TOKEN .. "; marker " .. PLAIN },
  { match = "bread", judge = true, reply = "score: 4\njustification: I was called with " .. KEY .. " (token " .. TOKEN .. ", marker " .. PLAIN .. ")" },
} }

local SCRIPT = [[
local evalua = require "evalua"
local model = evalua.openai.model{ model = "gpt-x", messages = { { role = "user", content = "{inputs}" } } }
local judge = evalua.metrics.genai.make_genai_metric{ name = "j", definition = "d", grading_prompt = "g",
  model = "openai:/judge-x" }
local data = evalua.table.from_rows({ { inputs = "bake bread" }, { inputs = "bread again" } }, { columns = { "inputs" } })
local r = evalua.evaluate{ model = model, data = data, model_type = "text", extra_metrics = { judge } }
io.write("RUN ", r.run_id, "\n")
]]

local function files_text(d)
  local p = io.popen("cat " .. h.quote(d) .. "/evalua.db* " .. h.quote(d) .. "/cache.db* 2>/dev/null")
  local s = p:read("a")
  p:close()
  return s
end

h.case("8: echoed keys and URL passwords never reach disk or output", function()
  local d = h.tmpdir()
  h.write(d .. "/run.lua", SCRIPT)
  local env = "OPENAI_API_KEY=" .. h.quote(KEY) .. " MY_TOKEN=" .. h.quote(TOKEN) ..
    " EVALUA_SECRET_VARS=MY_TOKEN OPENAI_BASE_URL=" .. h.quote(server.url .. "/v1") .. " "
  local base = "cd " .. h.quote(d) .. " && " .. env .. h.quote(h.bin) .. " --store " .. h.quote(d .. "/evalua.db")
  local code, out, err = h.sh(base .. " --cache " .. h.quote(d .. "/cache.db") .. " run.lua")
  h.eq(code, 0, "run: " .. err)
  local id = out:match("RUN (%S+)")
  assert(id, out)
  -- a second run replays from the cache: the cached bodies are redacted too
  -- (--max-failures 1: an answer that echoed the key is not cached, so its
  -- rows fail offline, which would otherwise be exit 3)
  local code2, out2, err2 = h.sh(base .. " --cache " .. h.quote(d .. "/cache.db") .. " --offline --max-failures 1 run.lua")
  h.eq(code2, 0, "offline replay: " .. err2)
  local _, export = h.sh(base .. " runs export " .. id .. " --format jsonl")
  local _, show = h.sh(base .. " runs show " .. id)
  local rc = h.sh(base .. " report " .. id .. " -o " .. h.quote(d .. "/report.html"))
  h.eq(rc, 0, "report")
  local places = {
    ["store and cache files"] = files_text(d), ["jsonl export"] = export, ["runs show"] = show,
    ["HTML report"] = h.read(d .. "/report.html") or "", ["run output"] = out .. err .. out2 .. err2,
  }
  for what, text in pairs(places) do
    assert(not text:find(KEY, 1, true), "the key reached the " .. what)
    assert(not text:find(TOKEN, 1, true), "the EVALUA_SECRET_VARS value reached the " .. what)
    assert(not text:find("hunter2", 1, true), "the URL password reached the " .. what)
  end
  assert(export:find("Your key is ***", 1, true), "the export keeps the answer with ***: " .. export)
  assert(export:find("https://***@docs.example.com/x", 1, true), "URL user info: " .. export)
  assert(export:find("I was called with ***", 1, true), "the judge justification: " .. export)
  -- control: the same checks find an echoed value that is not a secret
  for what, text in pairs(places) do
    if what ~= "run output" and what ~= "runs show" then
      assert(text:find(PLAIN, 1, true), "control: the marker should be in the " .. what)
    end
  end
end)

h.case("8: the redaction step", function()
  local redact = require "evalua.redact"
  redact._reset()
  redact.add("sk-abcdefgh12345")
  redact.add("short")
  h.eq(redact.text("a sk-abcdefgh12345 b sk-abcdefgh12345"), "a *** b ***")
  h.eq(redact.text("short stays"), "short stays")
  h.eq(redact.text("see http://u:p@host/x and https://tok@h.io?q=1 and mail a@b.c"),
    "see http://***@host/x and https://***@h.io?q=1 and mail a@b.c")
  h.eq(redact.text("key=sk-abcdefgh12345%"), "key=***%")
  h.eq(redact.text(12), 12)
  h.same(redact.deep({ a = { "x sk-abcdefgh12345" }, ["sk-abcdefgh12345"] = 1 }), { a = { "x ***" }, ["***"] = 1 })
  -- a longer secret that contains a shorter one is replaced whole
  redact.add("sk-abcdefgh12345-and-more")
  h.eq(redact.text("[sk-abcdefgh12345-and-more]"), "[***]")
  redact._reset()
end)

server:stop()
h.done()
