-- --batch: model and judge calls through the test server's OpenAI Batch and
-- Anthropic Message Batches endpoints give the table a direct run gives;
-- files are split at the request and byte limits; failed lines are retried
-- in later batches and counted; a run killed while its batch is at the
-- provider resumes by polling that batch and never submits its rows again;
-- --dry-run --batch prices at half; no key reaches the store.
local h = require "helper"
local cjson = require "cjson"

local ts = require("testserver").start{ latency_ms = 2 }
local d = h.tmpdir()
local N = 30
local KEY = "sk-batch-secret-key-0123456789"

local script = h.write(d .. "/ev.lua", [[
local evalua = require "evalua"
local genai = evalua.metrics.genai
local n = tonumber(os.getenv("NROWS"))
local inputs = { n = n }
for i = 1, n do inputs[i] = "sentence number " .. i end
local data = evalua.table.from({ { "user_input", inputs } })
local anthropic = os.getenv("PROVIDER") == "anthropic"
local quality = genai.make_genai_metric{ name = "quality", definition = "How good the answer is.",
  grading_prompt = "Score 1-5: 1 bad, 5 good.", greater_is_better = true,
  model = anthropic and "anthropic:/claude-3-5-haiku" or "openai:/gpt-4o-mini" }
local model = (anthropic and evalua.anthropic or evalua.openai).model{
  model = anthropic and "claude-3-5-haiku" or "gpt-4o-mini",
  messages = { { role = "user", content = "{user_input}" } } }
evalua.set_experiment("batch")
local r = evalua.evaluate{ model = model, data = data, model_type = "text", extra_metrics = { quality },
  evaluator_config = { col_mapping = { inputs = "user_input" } },
  batch = os.getenv("EVAL_BATCH") and require("cjson").decode(os.getenv("EVAL_BATCH")) or nil }
print("RUN " .. tostring(r.run_id) .. " " .. #r.errors)
]])

-- a batch server per case, so its counters are the case's own
local function server(opts)
  opts = opts or {}
  local bin = os.getenv("EVALUA_TESTSERVER") or (h.build_dir .. "/evalua-testserver")
  local dir = h.tmpdir()
  os.execute(string.format("%s --port 0 --port-file %s/port --pid-file %s/pid --batch-ms %d --batch-fail-rate %s --max-seconds 300 >/dev/null 2>&1 &",
    h.quote(bin), dir, dir, opts.batch_ms or 150, tostring(opts.fail_rate or 0)))
  local port
  for _ = 1, 200 do
    port = tonumber(h.read(dir .. "/port") or "")
    if port then break end
    os.execute("sleep 0.02")
  end
  assert(port, "batch test server did not start")
  local srv = { url = "http://127.0.0.1:" .. port, pid = tonumber(h.read(dir .. "/pid")) }
  function srv.get(path)
    local p = io.popen("curl -s " .. srv.url .. path)
    local body = p:read("a")
    p:close()
    return cjson.decode(body)
  end
  function srv.stop() if srv.pid then os.execute("kill " .. srv.pid .. " 2>/dev/null") end end
  return srv
end

local function env_for(srv, extra)
  local e = { OPENAI_API_KEY = KEY, OPENAI_BASE_URL = srv.url .. "/v1", ANTHROPIC_API_KEY = KEY,
    ANTHROPIC_BASE_URL = srv.url, NROWS = tostring(N), EVALUA_BATCH_POLL_S = "0.05",
    EVALUA_BATCH_POLL_MAX_S = "0.2", EVALUA_BATCH_GATHER_S = "0.1" }
  for k, v in pairs(extra or {}) do e[k] = v end
  return e
end

local function export(db, id)
  local code, out, err = h.evalua({ "--store", db, "runs", "export", id, "--format", "jsonl" })
  assert(code == 0, err)
  return out
end

local function run(db, args, env)
  local a = { "--no-cache", "--store", db }
  for _, x in ipairs(args) do a[#a + 1] = x end
  a[#a + 1] = script
  local c, o, e = h.evalua(a, env)
  assert(c == 0, "exit " .. tostring(c) .. ": " .. e)
  local id, nerr = o:match("RUN (%x+) (%d+)")
  assert(id, o .. e)
  return id, tonumber(nerr), e
end

-- the direct run, for reference
local reference = {}
for _, provider in ipairs({ "openai", "anthropic" }) do
  local db = d .. "/ref-" .. provider .. ".db"
  local id = run(db, { "--quiet" }, { OPENAI_API_KEY = KEY, OPENAI_BASE_URL = ts.url .. "/v1",
    ANTHROPIC_API_KEY = KEY, ANTHROPIC_BASE_URL = ts.url, NROWS = tostring(N), PROVIDER = provider })
  reference[provider] = export(db, id)
end

local function no_key_in(db)
  local f = assert(io.open(db, "rb"))
  local bytes = f:read("a")
  f:close()
  for _, ext in ipairs({ "-wal" }) do
    local g = io.open(db .. ext, "rb")
    if g then bytes = bytes .. g:read("a") g:close() end
  end
  assert(not bytes:find(KEY, 1, true), "the API key reached the store")
end

h.case("openai: split at the request limit, failed lines retried, same table as a direct run", function()
  local srv = server{ fail_rate = 0.2 }
  local db = d .. "/openai.db"
  local id, nerr, err = run(db, { "--batch" }, env_for(srv, { EVALUA_BATCH_MAX_REQUESTS = "8" }))
  h.eq(nerr, 0, "failed rows")
  h.eq(export(db, id), reference.openai, "the table equals the direct run's")
  local bs = srv.get("/batch-stats")
  h.eq(srv.get("/stats").requests, 0, "no direct chat request")
  assert(bs.max_lines <= 8, "a batch file held " .. bs.max_lines .. " lines")
  assert(bs.batches >= 8, "2 x 30 requests in files of 8: " .. bs.batches)
  assert(bs.failed_lines > 0, "some lines failed")
  h.eq(bs.lines, 2 * N + bs.failed_lines, "each failed line sent once more, nothing else twice")
  assert(err:find("retry 1) submitted", 1, true), err)
  assert(err:find(string.format("batch: %d batches, %d requests, %d retried, 0 failed", bs.batches, bs.lines,
    bs.failed_lines), 1, true), err)
  local c, o = h.evalua({ "--store", db, "runs", "show", id, "--json" })
  h.eq(c, 0, o)
  local acc = cjson.decode(o).accounting
  h.eq(acc.batch.retried, bs.failed_lines, "retries in the run's accounting")
  local c2, text = h.evalua({ "--store", db, "runs", "show", id })
  h.eq(c2, 0, text)
  assert(text:find(string.format("batch%%s+%d batches, %d requests, %d retried, 0 failed, 0 resumed", bs.batches,
    bs.lines, bs.failed_lines)), text)
  no_key_in(db)
  srv.stop()
end)

h.case("openai: split at the byte limit", function()
  local srv = server{}
  local db = d .. "/bytes.db"
  local id, nerr = run(db, { "--batch", "--quiet" }, env_for(srv, { EVAL_BATCH = '{"max_bytes": 3000}' }))
  h.eq(nerr, 0, "failed rows")
  h.eq(export(db, id), reference.openai, "the table")
  local bs = srv.get("/batch-stats")
  -- every file (with its multipart framing) stays near the limit
  assert(bs.batches >= math.ceil(bs.upload_bytes / 3000), string.format("%d batches for %d bytes",
    bs.batches, bs.upload_bytes))
  assert(bs.max_lines < N, "split: " .. bs.max_lines)
  srv.stop()
end)

h.case("anthropic message batches, with retried lines", function()
  local srv = server{ fail_rate = 0.2 }
  local db = d .. "/anthropic.db"
  local id, nerr = run(db, { "--batch", "--quiet" }, env_for(srv, { PROVIDER = "anthropic" }))
  h.eq(nerr, 0, "failed rows")
  h.eq(export(db, id), reference.anthropic, "the table equals the direct run's")
  local bs = srv.get("/batch-stats")
  h.eq(bs.uploads, 0, "no file upload for Anthropic")
  assert(bs.failed_lines > 0, "some lines failed")
  h.eq(bs.lines, 2 * N + bs.failed_lines, "each failed line sent once more")
  no_key_in(db)
  srv.stop()
end)

h.case("lines failing beyond max_tries fail their rows with the provider's message", function()
  local srv = server{ fail_rate = 1 }
  local db = d .. "/fail.db"
  -- every row fails on purpose: --max-failures 1 keeps the exit status 0
  local _, nerr = run(db, { "--batch", "--quiet", "--max-failures", "1" }, env_for(srv, { EVALUA_BATCH_MAX_TRIES = "1", NROWS = "5" }))
  h.eq(nerr, 5, "every prediction failed")
  local st = require("evalua.store").open(db)
  local cell = st:first("SELECT value FROM cells WHERE key = 'predictions' AND row = 1")
  st:close()
  assert(tostring(cell.value):find("HTTP 500 in batch batch_1: The server had an error processing your request (after 1 batch)", 1, true),
    tostring(cell.value))
  srv.stop()
end)

h.case("killed while the batch is at the provider: the rerun polls it, submits nothing again", function()
  local srv = server{ batch_ms = 2500 }
  local db = d .. "/kill.db"
  local env = env_for(srv)
  local parts = {}
  for k, v in pairs(env) do parts[#parts + 1] = k .. "=" .. h.quote(v) end
  h.sh(string.format("{ %s %s --batch --no-cache --quiet --store %s %s >/dev/null 2>&1 & echo $! > %s; }",
    table.concat(parts, " "), h.quote(h.bin), h.quote(db), h.quote(script), h.quote(d .. "/pid")))
  local pid = tonumber(h.read(d .. "/pid"))
  -- wait until the predictions' batch is submitted and recorded
  local recorded
  for _ = 1, 200 do
    os.execute("sleep 0.05")
    local ok, n = pcall(function()
      local st = require("evalua.store").open(db)
      local r = st:first("SELECT count(*) AS n FROM cells WHERE key = '_batch'")
      st:close()
      return r.n
    end)
    if ok and n and n > 0 then recorded = true break end
  end
  assert(recorded, "a batch was recorded")
  os.execute("kill -9 " .. pid)
  os.execute("sleep 0.2")
  local before = srv.get("/batch-stats")
  h.eq(before.batches, 1, "one batch submitted before the kill")
  h.eq(before.lines, 0, "not processed yet")
  local id, nerr, err = run(db, { "--batch" }, env)
  h.eq(nerr, 0, "failed rows")
  assert(err:find("batch_1: resuming (recorded by an earlier process)", 1, true), err)
  local after = srv.get("/batch-stats")
  h.eq(after.batches, 2, "only the judges' batch was submitted by the rerun")
  h.eq(after.lines, 2 * N, "every line answered once")
  h.eq(export(db, id), reference.openai, "the table equals the direct run's")
  srv.stop()
end)

h.case("--dry-run --batch prices at batch rates", function()
  local env = { OPENAI_API_KEY = KEY, OPENAI_BASE_URL = ts.url .. "/v1", NROWS = tostring(N) }
  local c1, _, e1 = h.evalua({ "--dry-run", script }, env)
  local c2, _, e2 = h.evalua({ "--dry-run", "--batch", script }, env)
  h.eq(c1, 0, e1) h.eq(c2, 0, e2)
  local n1, cost1 = e1:match("dry run: (%d+) requests, ~%d+ prompt tokens, est%. cost %$([%d.]+)")
  local n2, cost2, nb = e2:match("dry run: (%d+) requests, ~%d+ prompt tokens, est%. cost %$([%d.]+) %((%d+) at batch prices%)")
  assert(n1 and n2, e1 .. e2)
  h.eq(n2, n1, "same requests")
  h.eq(nb, n2, "all at batch prices")
  h.near(tonumber(cost2), tonumber(cost1) / 2, 0.00011, "half the price")
end)

h.done()
