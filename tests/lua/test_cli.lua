-- The command line as a person meets it: every command's --help (usage,
-- flags, an example, exit 0), usage and input errors as one line with exit
-- 2 and no traceback, judge --print-prompt with no request and no side
-- effect, and --dry-run counting cache hits as free.
local h = require "helper"
local testserver = require "testserver"

local src = h.source_dir

local function in_dir(d, cmd, env)
  local parts = { "cd " .. h.quote(d) .. " &&" }
  for k, v in pairs(env or {}) do parts[#parts + 1] = k .. "=" .. h.quote(v) end
  parts[#parts + 1] = h.quote(h.bin) .. " " .. cmd
  return h.sh(table.concat(parts, " "))
end

local function workdir()
  local d = h.tmpdir()
  os.execute("ln -s " .. h.quote(src .. "/scripts") .. " " .. h.quote(d .. "/scripts"))
  return d
end

-- the commands `evalua --help` lists
local function commands()
  local code, out = h.evalua { "--help" }
  h.eq(code, 0, "evalua --help")
  local list = {}
  local after = out:match("\ncommands:\n(.*)$")
  assert(after, out)
  for line in after:gmatch("[^\n]+") do list[#list + 1] = line:match("^  (%S+)") end
  assert(#list >= 6, out)
  return list
end

h.case("every command's --help: usage, flags, an example, exit 0", function()
  local helps = { { "--help" }, { "-h" }, { "run", "--help" } }
  for _, c in ipairs(commands()) do
    helps[#helps + 1] = { c, "--help" }
    helps[#helps + 1] = { c, "-h" }
  end
  helps[#helps + 1] = { "runs", "show", "--help" }
  helps[#helps + 1] = { "cache", "stats", "--help" }
  for _, args in ipairs(helps) do
    local code, out, err = h.evalua(args)
    local what = "evalua " .. table.concat(args, " ")
    h.eq(code, 0, what .. " exit (" .. err .. ")")
    h.eq(err, "", what .. " stderr")
    assert(out:find("usage: evalua", 1, true), what .. ": no usage line:\n" .. out)
    assert(out:find("\n  %-%-?%a"), what .. ": no flags listed:\n" .. out)
    assert(out:find("examples?:\n  evalua ") or out:find("examples?:\n  printf"), what .. ": no example:\n" .. out)
  end
  -- run --help shows the run's flags, not the command list
  local _, out = h.evalua { "run", "--help" }
  assert(out:find("--dry-run", 1, true) and out:find("--concurrency N", 1, true), out)
end)

h.case("usage and input errors: one line, exit 2, no traceback", function()
  local d = h.tmpdir()
  h.write(d .. "/d.csv", "q,a,t\nhi,hello,hello\nx,y,z\n")
  h.write(d .. "/d.txt", "not a table\n")
  h.write(d .. "/bad.csv", 'q,a\n"unclosed,1\n')
  h.write(d .. "/s.lua", "local evalua = require 'evalua'\n")
  local cases = {
    { "score --data d.csv --predictions a --model-type qa", "score: unknown --model-type 'qa'" },
    { "score --data d.csv --predictions a --inputs nope --model-type text", "score: --inputs: no column 'nope'" },
    { "score --data d.csv --predictions nope --model-type text", "score: --predictions: no column 'nope'" },
    { "score --data d.csv --predictions a --targets nope --model-type text", "score: --targets: no column 'nope'" },
    { "score --data d.txt --predictions a --model-type text", "unknown file type" },
    { "score --data bad.csv --predictions a --model-type text", "bad.csv" },
    { "score --data d.csv --predictions a --metrics no_such_metric", "unknown metric 'no_such_metric'" },
    { "score --data nofile.csv --predictions a --model-type text", "cannot open 'nofile.csv'" },
    { "score --data d.csv --predictions a --bogus", "unknown option '--bogus'" },
    { "score --data d.csv", "--predictions is required" },
    { "judge --print-prompt s.lua --row 0", "--row needs a positive integer" },
    { "judge s.lua", "give --print-prompt" },
    { "judge --print-prompt nofile.lua", "cannot open 'nofile.lua'" },
    { "report", "expected one run id or two" },
    { "report a b c", "expected one run id or two" },
    { "runs bogus", "unknown command 'bogus'" },
    { "cache bogus", "unknown command 'bogus'" },
    { "tokens --encoding nope", "unknown encoding 'nope'" },
    { "run", "'run' needs a script" },
    { "runs show nosuch", "runs: no run store at" },
    { "report nosuch", "report: no run store at" },
    { "tokens nofile.txt", "tokens: cannot open nofile.txt" },
    { "--concurrency x s.lua", "--concurrency needs a positive integer" },
    { "nofile.lua", "cannot open 'nofile.lua'" },
  }
  for _, c in ipairs(cases) do
    local code, out, err = in_dir(d, "--store " .. h.quote(d .. "/e.db") .. " " .. c[1])
    h.eq(code, 2, c[1] .. " exit (" .. err .. ")")
    assert(err:find(c[2], 1, true), c[1] .. ": expected '" .. c[2] .. "' in: " .. err)
    assert(not err:find("stack traceback", 1, true), c[1] .. ": traceback:\n" .. err)
    assert(not err:find("%.lua:%d+:"), c[1] .. ": a source position in the message: " .. err)
    local first = err:match("^[^\n]*\n")
    assert(first and (err == first or err:sub(#first + 1):match("^%(run 'evalua %-%-help' for usage%)\n$")),
      c[1] .. ": more than one line:\n" .. err)
    h.eq(out, "", c[1] .. " stdout")
  end
  -- a bug (a Lua runtime error) keeps its traceback and exits 1
  local code, _, err = h.evalua { "-e", "local x; return x.y" }
  h.eq(code, 1, "runtime error exit")
  assert(err:find("stack traceback", 1, true), err)
end)

local function server()
  return testserver.start{ replies = src .. "/tests/data/scripts/replies.jsonl" }
end

local function env_for(ts)
  return { OPENAI_BASE_URL = ts.url .. "/v1", OPENAI_API_KEY = "sk-test-cli" }
end

local function listing(d)
  local p = io.popen("cd " .. h.quote(d) .. " && find . -newer " .. h.quote(d .. "/.stamp") .. " -print | sort")
  local s = p:read("a")
  p:close()
  return s
end

h.case("judge --print-prompt: no request, no side effect, a placeholder, --row range", function()
  local ts = server()
  local d = workdir()
  h.write(d .. "/.stamp", "")
  local flags = "--store " .. h.quote(d .. "/e.db") .. " --cache " .. h.quote(d .. "/c.db")
  local code, out, err = in_dir(d, flags .. " judge --print-prompt scripts/translation.lua --row 2", env_for(ts))
  h.eq(code, 0, "exit: " .. err)
  assert(out:find("===== cultural_sensitivity, row 2 =====", 1, true), out)
  assert(out:find("Model input:\nSpill the beans.", 1, true), out)
  assert(out:find("Model output:\n<model output of row 2: not cached, not sent>", 1, true), out)
  assert(not out:find("row 1 =====", 1, true), "only row 2")
  h.eq(ts:stats().requests, 0, "no model and no judge request")
  assert(not out:find("Cultural Sensitivity", 1, true) and not err:find("Cultural Sensitivity", 1, true),
    "the script's prints are swallowed")
  assert(not out:find("nan", 1, true), out)
  h.eq(listing(d), "", "nothing written (no out/, no store, no cache)")
  -- out of range
  code, out, err = in_dir(d, flags .. " judge --print-prompt scripts/translation.lua --row 99", env_for(ts))
  h.eq(code, 2, "row 99: " .. err)
  h.eq(err, "evalua: judge: --row 99 is out of range: the data has 4 rows\n")
  h.eq(out, "")
  -- --all: every row
  code, out = in_dir(d, flags .. " judge --print-prompt scripts/translation.lua --all", env_for(ts))
  h.eq(code, 0)
  local n = 0
  for _ in out:gmatch("===== cultural_sensitivity, row %d =====") do n = n + 1 end
  h.eq(n, 4, "rows printed by --all")
  -- with the cache warm from a real run, the cached output is in the prompt
  code, _, err = in_dir(d, flags .. " --quiet scripts/translation.lua", env_for(ts))
  h.eq(code, 0, "real run: " .. err)
  local before = ts:stats().requests
  code, out, err = in_dir(d, flags .. " judge --print-prompt scripts/translation.lua --row 2", env_for(ts))
  h.eq(code, 0, err)
  assert(out:find("Model output:\nRevela el secreto.", 1, true), out)
  h.eq(ts:stats().requests, before, "no request with a warm cache either")
  -- with no cache, the stored run's prediction of the same data and model
  code, out, err = in_dir(d, "--store " .. h.quote(d .. "/e.db") .. " --no-cache judge --print-prompt "
    .. "scripts/translation.lua --row 3", env_for(ts))
  h.eq(code, 0, err)
  assert(out:find("Model input:\nBite the bullet.\n\nModel output:\nMorder la bala.", 1, true), out)
  -- a fresh store and no cache: the placeholder again
  code, out = in_dir(d, "--store " .. h.quote(d .. "/other.db") .. " --no-cache judge --print-prompt "
    .. "scripts/translation.lua --row 3", env_for(ts))
  h.eq(code, 0)
  assert(out:find("Model output:\n<model output of row 3: not cached, not sent>", 1, true), out)
  h.eq(ts:stats().requests, before, "still no request")
  ts:stop()
end)

h.case("--dry-run counts cache hits as free", function()
  local ts = server()
  local d = workdir()
  local flags = "--store " .. h.quote(d .. "/e.db") .. " --cache " .. h.quote(d .. "/c.db")
  local code, _, err = in_dir(d, flags .. " --dry-run scripts/translation.lua", env_for(ts))
  h.eq(code, 0, err)
  local cold = err:match("dry run: (%d+) requests")
  h.eq(cold, "8", "cold cache: " .. err)
  h.eq(ts:stats().requests, 0, "a dry run sends nothing")
  code, _, err = in_dir(d, flags .. " --quiet scripts/translation.lua", env_for(ts))
  h.eq(code, 0, err)
  h.eq(ts:stats().requests, 8)
  code, _, err = in_dir(d, flags .. " --dry-run scripts/translation.lua", env_for(ts))
  h.eq(code, 0, err)
  assert(err:find("dry run: 0 requests, ~0 prompt tokens, est. cost $0.00; 8 more answered by the cache (free)", 1, true), err)
  h.eq(ts:stats().requests, 8, "still nothing sent")
  ts:stop()
end)

h.done()
