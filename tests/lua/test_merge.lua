-- `evalua runs merge`: shards run with separate store files (as on machines
-- with no shared file system) merge into one run equal to the unsharded
-- one, assembled with no request sent; merge refuses a shard given twice, a
-- missing shard, shards of another evaluation (data, judges, N) and a shard
-- that did not finish.
local h = require "helper"

local ts = require("testserver").start{ latency_ms = 5 }
local d = h.tmpdir()
local N = 12

local script = h.write(d .. "/ev.lua", [[
local evalua = require "evalua"
local genai = evalua.metrics.genai
local n = tonumber(os.getenv("NROWS"))
local inputs = { n = n }
for i = 1, n do inputs[i] = "sentence number " .. i end
local data = evalua.table.from({ { "user_input", inputs } })
local quality = genai.make_genai_metric{ name = "quality", definition = "How good the answer is.",
  grading_prompt = "Score 1-5: 1 bad, 5 good.", model = os.getenv("JUDGE") or "openai:/gpt-4",
  greater_is_better = true }
local model = evalua.openai.model{ model = "gpt-3.5-turbo",
  messages = { { role = "user", content = "{user_input}" } } }
evalua.set_experiment("merge")
local r = evalua.evaluate{ model = model, data = data, model_type = "text", extra_metrics = { quality },
  evaluator_config = { col_mapping = { inputs = "user_input" } } }
print("RUN " .. tostring(r.run_id) .. " " .. tostring(r.metrics["quality/v1/mean"]))
]])

local env = { OPENAI_API_KEY = "test-key", OPENAI_BASE_URL = ts.url .. "/v1", NROWS = tostring(N) }

local function with(extra)
  local e = {}
  for k, v in pairs(env) do e[k] = v end
  for k, v in pairs(extra or {}) do e[k] = v end
  return e
end

local function run(args, extra)
  local a = { "--no-cache", "--quiet" }
  for _, x in ipairs(args) do a[#a + 1] = x end
  return h.evalua(a, with(extra))
end

local function export(db, id)
  local code, out, err = h.evalua({ "--store", db, "runs", "export", id, "--format", "jsonl" })
  assert(code == 0, err)
  return out
end

-- the reference: one process, all rows
local code, out, err = run({ "--store", d .. "/ref.db", script })
h.eq(code, 0, err)
local ref_id, ref_mean = out:match("RUN (%x+) (%S+)")
local reference = export(d .. "/ref.db", ref_id)

-- three shards, three store files
local function shard(i, n, extra, db)
  db = db or string.format("%s/shard%d-%d.db", d, i, n)
  local c, o, e = run({ "--store", db, "--shard", i .. "/" .. n, script }, extra)
  h.eq(c, 0, e)
  return db
end
ts:reset()
local s1, s2, s3 = shard(1, 3), shard(2, 3), shard(3, 3)
h.eq(ts:stats().requests, 2 * N, "each row asked once over the three shards")

h.case("three shard files merge into the unsharded run, no request sent", function()
  ts:reset()
  local c, o, e = h.evalua({ "runs", "merge", s3, s1, s2, "-o", d .. "/run.db" }, with())
  h.eq(c, 0, e)
  local id = o:match("^(%x+)\n$")
  assert(id, o)
  assert(e:find("merged 3 shards of run", 1, true), e)
  h.eq(ts:stats().requests, 0, "assembling sent nothing")
  h.eq(export(d .. "/run.db", id), reference, "the merged table equals the unsharded one")
  local c2, o2 = h.evalua({ "--store", d .. "/run.db", "runs", "show", id, "--json" })
  h.eq(c2, 0, o2)
  local show = require("cjson").decode(o2)
  h.eq(show.info.status, "FINISHED", "assembled")
  h.eq(show.info.shard_n, 3, "shards")
  h.eq(show.accounting.requests, 2 * N, "the shards' accounting summed")
  h.eq(tostring(show.metrics["quality/v1/mean"]), ref_mean, "the judge mean")
end)

h.case("--no-assemble prints the command; the user's run of it assembles", function()
  local c, o, e = h.evalua({ "runs", "merge", s1, s2, s3, "-o", d .. "/run2.db", "--no-assemble" }, with())
  h.eq(c, 0, e)
  local cmd = e:match("assemble it with: ([^\n]+)")
  assert(cmd and cmd:find("--shard 1/3", 1, true) and cmd:find("--offline", 1, true), e)
  local id = o:match("^(%x+)")
  local c2, _, e2 = h.sh("NROWS=" .. N .. " " .. cmd)
  h.eq(c2, 0, e2)
  h.eq(export(d .. "/run2.db", id), reference, "the table")
end)

h.case("refusals: twice, duplicate shard, missing shard, existing output", function()
  local function refused(args, want)
    local a = { "runs", "merge" }
    for _, x in ipairs(args) do a[#a + 1] = x end
    local c, _, e = h.evalua(a, with())
    h.eq(c, 1, "exit code for " .. want)
    assert(e:find(want, 1, true), "expected " .. want .. ", got " .. e)
  end
  refused({ s1, s1, s2, "-o", d .. "/x.db" }, "given twice")
  local copy = d .. "/copy-of-2.db"
  h.sh("cp " .. h.quote(s2) .. " " .. h.quote(copy))
  refused({ s1, s2, copy, s3, "-o", d .. "/x.db" }, "shard 2/3 is in both")
  refused({ s1, s3, "-o", d .. "/x.db" }, "shard 2 of 3 is missing")
  refused({ s1, s2, s3, "-o", d .. "/run.db" }, "exists (pick a new file, or --force)")
  local f = io.open(d .. "/x.db", "rb")
  h.eq(f, nil, "no output left behind by a refused merge")
end)

h.case("refusals: shards of another evaluation", function()
  local function refused(other, want)
    local c, _, e = h.evalua({ "runs", "merge", s1, other, s3, "-o", d .. "/y.db" }, with())
    h.eq(c, 1, "exit code for " .. want)
    assert(e:find(want, 1, true), "expected " .. want .. ", got " .. e)
  end
  refused(shard(2, 3, { NROWS = "13" }, d .. "/other-data.db"), "the data differ")
  refused(shard(2, 3, { JUDGE = "openai:/gpt-4o" }, d .. "/other-judge.db"), "the judges differ")
  refused(shard(2, 4, nil, d .. "/other-n.db"), "a different shard count")
end)

h.case("a shard that did not finish is refused with the missing rows", function()
  local cut = d .. "/cut.db"
  h.sh("cp " .. h.quote(s2) .. " " .. h.quote(cut))
  local st = require("evalua.store").open(cut)
  st:run("DELETE FROM cells WHERE key = 'quality/v1' AND row = 5")
  st:close()
  local c, _, e = h.evalua({ "runs", "merge", s1, cut, s3, "-o", d .. "/z.db" }, with())
  h.eq(c, 1, e)
  assert(e:find("'quality/v1' has 11 of 12 rows (missing rows 5)", 1, true), e)
end)

h.done()
