-- Every walkthrough in scripts/ run end to end by the evalua binary: the
-- static ones with no network, the model ones against the loopback test
-- server (deterministic translations and judge answers), each in a fresh
-- directory with its own store and cache.
local h = require "helper"
local testserver = require "testserver"

local src = h.source_dir

local function workdir()
  local d = h.tmpdir()
  os.execute("ln -s " .. h.quote(src .. "/scripts") .. " " .. h.quote(d .. "/scripts"))
  return d
end

local function run_script(d, script, env, extra_args)
  local parts = { "cd " .. h.quote(d) .. " &&" }
  for k, v in pairs(env or {}) do parts[#parts + 1] = k .. "=" .. h.quote(v) end
  parts[#parts + 1] = h.quote(h.bin)
  parts[#parts + 1] = "--store " .. h.quote(d .. "/evalua.db")
  parts[#parts + 1] = "--cache " .. h.quote(d .. "/cache.db")
  parts[#parts + 1] = "--quiet"
  parts[#parts + 1] = script
  for _, a in ipairs(extra_args or {}) do parts[#parts + 1] = h.quote(a) end
  return h.sh(table.concat(parts, " "))
end

local function png_size(path)
  local s = h.read(path)
  assert(s and s:sub(1, 8) == "\137PNG\r\n\26\n", path .. " is not a PNG")
  return string.unpack(">I4I4", s, 17)
end

h.case("quickstart (no network)", function()
  local d = workdir()
  local code, out, err = run_script(d, "scripts/quickstart.lua")
  h.eq(code, 0, "exit: " .. err)
  assert(out:find("toxicity/v1/mean", 1, true), out)
  assert(out:find("length_ratio/v1/mean", 1, true), out)
  assert(out:find("[4 rows x", 1, true), out)
  assert(h.read(d .. "/out/quickstart.csv"):find("flesch_kincaid_grade_level/v1/score", 1, true))
end)

h.case("static (no network)", function()
  local d = workdir()
  local code, out, err = run_script(d, "scripts/static.lua")
  h.eq(code, 0, "exit: " .. err)
  assert(out:find("exact match: 0.50", 1, true), out)
end)

local function server()
  return testserver.start{ replies = src .. "/tests/data/scripts/replies.jsonl" }
end

local function env_for(ts)
  return { OPENAI_BASE_URL = ts.url .. "/v1", OPENAI_API_KEY = "sk-test-walkthrough" }
end

h.case("translation against the test server, then fully cached", function()
  local ts = server()
  local d = workdir()
  local code, out, err = run_script(d, "scripts/translation.lua", env_for(ts))
  h.eq(code, 0, "exit: " .. err .. out)
  assert(out:find("¡Estoy feliz por la noticia!", 1, true), out)
  assert(out:find("Cultural Sensitivity Score: ", 1, true), out)
  assert(out:find("Non-Toxicity Score: ", 1, true), out)
  local st = ts:stats()
  h.eq(st.requests, 8, "4 model + 4 judge requests")
  local w = png_size(d .. "/out/gauges.png")
  assert(w > 0)
  -- the same eval again: everything from the cache, no request
  code, out, err = run_script(d, "scripts/translation.lua", env_for(ts))
  h.eq(code, 0, "exit: " .. err)
  h.eq(ts:stats().requests, 8, "no new request on a re-run")
  -- the key never reaches the store or the cache
  for _, f in ipairs({ "evalua.db", "cache.db", "evalua.db-wal", "cache.db-wal" }) do
    local s = h.read(d .. "/" .. f)
    if s then assert(not s:find("sk-test-walkthrough", 1, true), f .. " holds the key") end
  end
  ts:stop()
end)

h.case("rag_faithfulness against the test server", function()
  local ts = server()
  local d = workdir()
  local code, out, err = run_script(d, "scripts/rag_faithfulness.lua", env_for(ts))
  h.eq(code, 0, "exit: " .. err .. out)
  assert(out:find("custom faithfulness mean: ", 1, true), out)
  assert(out:find("built-in faithfulness mean: ", 1, true), out)
  -- 3 answers (the second evaluate replays them from the cache) + 3 + 3 judge requests
  h.eq(ts:stats().requests, 9, "requests")
  ts:stop()
end)

h.case("compare_models against the test server", function()
  local ts = server()
  local d = workdir()
  local code, out, err = run_script(d, "scripts/compare_models.lua", env_for(ts))
  h.eq(code, 0, "exit: " .. err .. out)
  assert(out:find("cultural_sensitivity/v1/mean", 1, true), out)
  assert(out:find("rows whose cultural_sensitivity score differs between the judges: 4 of 4", 1, true), out)
  png_size(d .. "/out/compare.png")
  -- 4 translations (second run from cache) + 4 judge requests per judge model
  h.eq(ts:stats().requests, 12, "requests")
  ts:stop()
end)

h.case("evalua judge --print-prompt shows the judge prompt without sending it", function()
  local ts = server()
  local d = workdir()
  local parts = { "cd " .. h.quote(d) .. " &&" }
  for k, v in pairs(env_for(ts)) do parts[#parts + 1] = k .. "=" .. h.quote(v) end
  parts[#parts + 1] = h.quote(h.bin) .. " --store " .. h.quote(d .. "/e.db") .. " --cache " ..
    h.quote(d .. "/c.db") .. " judge --print-prompt scripts/translation.lua --row 2"
  local code, out, err = h.sh(table.concat(parts, " "))
  h.eq(code, 0, "exit: " .. err)
  assert(out:find("===== cultural_sensitivity, row 2 =====", 1, true), out)
  assert(out:find("Model input:\nSpill the beans.", 1, true), out)
  -- nothing cached yet: the model is not asked, its output is a placeholder
  assert(out:find("Model output:\n<model output of row 2: not cached, not sent>", 1, true), out)
  h.eq(ts:stats().requests, 0, "no model or judge request")
  h.eq(h.read(d .. "/e.db"), nil, "no run stored")
  assert(not out:find("Cultural Sensitivity Score", 1, true), "the script's prints are swallowed")
  ts:stop()
end)

h.done()
