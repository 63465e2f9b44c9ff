-- evalua models pull against contrib/fakehub (a local stand-in for the
-- Hugging Face hub serving a small random RoBERTa written by
-- tests/roberta_ref.py): resume after a cut connection (in one run and
-- across runs), a wrong sha256 refused, 401 explained, the token sent to the
-- hub only, the pulled model used by toxicity{ backend = "roberta" } and
-- `evalua score --toxicity roberta`.
local h = require "helper"
local cjson = require "cjson"

local PY = io.open("/usr/bin/python3") and "/usr/bin/python3" or "python3"
local MLFLOW_ID = "facebook/roberta-hate-speech-dynabench-r4-target"

-- the random model and its numpy reference, once
local ref = h.tmpdir()
do
  local code, _, err = h.sh(PY .. " " .. h.quote(h.source_dir .. "/tests/roberta_ref.py") .. " " .. h.quote(ref))
  h.eq(code, 0, "tests/roberta_ref.py (needs python3-numpy, python3-regex): " .. err)
end
local expected = cjson.decode(h.read(ref .. "/expected.json")).f32
local FILES = { "config.json", "vocab.json", "merges.txt", "model.safetensors" }

-- a hub root holding the model under the given ids
local function hub_root(ids)
  local root = h.tmpdir()
  for _, id in ipairs(ids) do
    local d = root .. "/" .. id
    assert(h.sh("mkdir -p " .. h.quote(d) .. " && cp " .. h.quote(ref .. "/f32") .. "/* " .. h.quote(d)) == 0)
  end
  return root
end

-- starts contrib/fakehub/fakehub.py; returns { url, log = path, stop = fn }
local servers = {}
local function start_hub(root, flags)
  local d = h.tmpdir()
  local cmd = PY .. " " .. h.quote(h.source_dir .. "/contrib/fakehub/fakehub.py") .. " --root " ..
    h.quote(root) .. " --port-file " .. h.quote(d .. "/port") .. " --pid-file " .. h.quote(d .. "/pid") ..
    " --log " .. h.quote(d .. "/log") .. " " .. (flags or "") .. " >/dev/null 2>&1 &"
  assert(os.execute(cmd))
  local port
  for _ = 1, 200 do
    local s = h.read(d .. "/port")
    if s and s:match("%d+") then port = s:match("%d+") break end
    os.execute("sleep 0.05")
  end
  assert(port, "fakehub did not start")
  local srv = { url = "http://127.0.0.1:" .. port, log = d .. "/log" }
  function srv.stop()
    local pid = h.read(d .. "/pid")
    if pid then os.execute("kill " .. pid:match("%d+") .. " 2>/dev/null") end
  end
  function srv.requests()
    local out = {}
    for line in (h.read(srv.log) or ""):gmatch("[^\n]+") do out[#out + 1] = cjson.decode(line) end
    return out
  end
  servers[#servers + 1] = srv
  return srv
end
local stopper = setmetatable({}, { __gc = function() for _, s in ipairs(servers) do s.stop() end end })
_G.__fakehub_stopper = stopper

local function pull(srv, cache, args, extra_env)
  local env = { HF_ENDPOINT = srv.url, EVALUA_MODELS_DIR = cache, HF_TOKEN = "", HUGGING_FACE_HUB_TOKEN = "" }
  for k, v in pairs(extra_env or {}) do env[k] = v end
  local a = { "models", "pull" }
  for _, x in ipairs(args) do a[#a + 1] = x end
  return h.evalua(a, env)
end

local function sha(path)
  return require("evalua.hfhub").sha256_file(path)
end

h.case("pull: the MLflow model by its bare name, resumed after a cut connection", function()
  local root = hub_root { MLFLOW_ID }
  local srv = start_hub(root, "--cut-after 5000 --cdn-host localhost")
  local cache = h.tmpdir()
  local code, out, err = pull(srv, cache, { "roberta-hate-speech-dynabench-r4-target" })
  h.eq(code, 0, "exit: " .. err)
  local dir = cache .. "/facebook--roberta-hate-speech-dynabench-r4-target"
  h.eq(out, dir .. "\n", "prints the directory")
  for _, f in ipairs(FILES) do
    h.eq(sha(dir .. "/" .. f), sha(root .. "/" .. MLFLOW_ID .. "/" .. f), f .. " identical")
  end
  h.eq(h.read(dir .. "/model.safetensors.part"), nil, "no partial file left")
  assert(err:find("model.safetensors: transfer cut after 5000 of", 1, true), err)
  assert(err:find("resuming at byte 5000", 1, true), err)
  assert(err:find("model.safetensors: 100%", 1, true), err)
  -- the second request for the weights asked for the rest only (on the CDN host too)
  local ranges = {}
  for _, r in ipairs(srv.requests()) do
    if r.path:find("model.safetensors", 1, true) then ranges[#ranges + 1] = r.range ~= cjson.null and r.range or "none" end
  end
  h.same(ranges, { "none", "none", "bytes=5000-", "bytes=5000-" })
  local m = cjson.decode(h.read(dir .. "/evalua-model.json"))
  h.eq(m.id, MLFLOW_ID, "manifest id")
  h.eq(m.files["model.safetensors"].sha256, sha(dir .. "/model.safetensors"), "manifest sha256")
  h.eq(m.files["model.safetensors"].resumed, true, "manifest: resumed")

  -- a second pull downloads nothing
  local n0 = #srv.requests()
  code, _, err = pull(srv, cache, { MLFLOW_ID })
  h.eq(code, 0, "second pull: " .. err)
  assert(err:find("model.safetensors: up to date", 1, true), err)
  h.eq(#srv.requests(), n0 + 1, "only the file list was fetched")

  -- toxicity{ backend = "roberta" } now uses it, without a path
  local script = h.write(h.tmpdir() .. "/s.lua", [[
    local cjson = require "cjson"
    local exp = cjson.decode(io.open(arg[1]):read("a")).f32
    local m = require("evalua.metrics").toxicity { backend = "roberta" }
    local col = { n = #exp }
    for i, c in ipairs(exp) do col[i] = c.text end
    local mv = m.eval_fn(col)
    local worst = 0
    for i, c in ipairs(exp) do worst = math.max(worst, math.abs(mv.scores[i] - c.prob)) end
    print(mv.info.backend, worst < 1e-5, mv.info.path)
  ]])
  code, out, err = h.evalua({ script, ref .. "/expected.json" }, { EVALUA_MODELS_DIR = cache })
  h.eq(code, 0, "script: " .. err)
  h.eq(out, "roberta\ttrue\t" .. dir .. "\n", "the pulled model scores like the numpy reference")

  -- evalua score --toxicity roberta
  local csv = h.tmpdir() .. "/p.csv"
  local lines, sum = { "answer" }, 0
  for i = 1, 3 do
    lines[#lines + 1] = '"' .. expected[i].text:gsub('"', '""') .. '"'
    sum = sum + expected[i].prob
  end
  h.write(csv, table.concat(lines, "\n") .. "\n")
  code, out, err = h.evalua({ "score", "--data", csv, "--predictions", "answer", "--metrics", "toxicity",
    "--toxicity", "roberta" }, { EVALUA_MODELS_DIR = cache })
  h.eq(code, 0, "score: " .. err)
  local mean = tonumber(out:match('"toxicity/v1/mean": ([%d.e%-]+)'))
  h.near(mean, sum / 3, 1e-5, "score --toxicity roberta: mean of the reference probabilities")
  code, out = h.evalua({ "score", "--data", csv, "--predictions", "answer", "--metrics", "toxicity" },
    { EVALUA_MODELS_DIR = cache })
  h.eq(code, 0, "score embedded")
  assert(math.abs(tonumber(out:match('"toxicity/v1/mean": ([%d.e%-]+)')) - sum / 3) > 1e-3,
    "without --toxicity the embedded model scores")
  code, _, err = h.evalua({ "score", "--data", csv, "--predictions", "answer", "--metrics", "toxicity",
    "--toxicity", "bert" })
  h.eq(code, 2, "bad --toxicity")
  assert(err:find("--toxicity must be", 1, true), err)
  srv.stop()
end)

h.case("pull: a partial file from an earlier run is resumed", function()
  local root = hub_root { "test/tiny-roberta" }
  local srv = start_hub(root)
  local cache = h.tmpdir()
  local dir = cache .. "/test--tiny-roberta"
  assert(os.execute("mkdir -p " .. h.quote(dir)))
  local full = h.read(root .. "/test/tiny-roberta/model.safetensors")
  h.write(dir .. "/model.safetensors.part", full:sub(1, 12345))
  local code, _, err = pull(srv, cache, { "test/tiny-roberta", "--no-progress" })
  h.eq(code, 0, "exit: " .. err)
  h.eq(h.read(dir .. "/model.safetensors"), full, "whole file")
  local ranges = {}
  for _, r in ipairs(srv.requests()) do
    if r.path:find("model.safetensors", 1, true) then ranges[#ranges + 1] = r.range ~= cjson.null and r.range or "none" end
  end
  h.same(ranges, { "bytes=12345-" })
  srv.stop()
end)

h.case("pull: a wrong sha256 is refused and nothing is kept", function()
  local root = hub_root { "test/tiny-roberta" }
  local srv = start_hub(root, "--bad-sha model.safetensors")
  local cache = h.tmpdir()
  local code, out, err = pull(srv, cache, { "test/tiny-roberta" })
  h.eq(code, 1, "exit")
  h.eq(out, "", "no directory printed")
  assert(err:find("model.safetensors: refused, sha256 " .. sha(root .. "/test/tiny-roberta/model.safetensors")
    .. ", the hub says ", 1, true), err)
  local dir = cache .. "/test--tiny-roberta"
  h.eq(h.read(dir .. "/model.safetensors"), nil, "no weights")
  h.eq(h.read(dir .. "/model.safetensors.part"), nil, "no partial file")
  h.eq(h.read(dir .. "/evalua-model.json"), nil, "no manifest")
  -- and the metric says it is not pulled
  code, _, err = h.evalua({ "-e", "require('evalua.metrics').toxicity{ backend = 'roberta', path = 'test/tiny-roberta' }" },
    { EVALUA_MODELS_DIR = cache })
  assert(code ~= 0 and err:find("neither a model directory nor a pulled model", 1, true), err)
  srv.stop()
end)

h.case("pull: 401 explained; the token goes to the hub only, never to the CDN or to disk", function()
  local root = hub_root { "acme/gated-roberta" }
  local srv = start_hub(root, "--gated acme/gated-roberta --token hf_right_one --cdn-host localhost")
  local cache = h.tmpdir()
  local code, out, err = pull(srv, cache, { "acme/gated-roberta" })
  h.eq(code, 1, "exit without a token")
  assert(err:find("HTTP 401 from the hub: acme/gated-roberta is gated or private", 1, true), err)
  assert(err:find("Set HF_TOKEN", 1, true), err)
  assert(err:find("[hub: Access to model acme/gated-roberta is restricted", 1, true), err)
  code, out, err = pull(srv, cache, { "acme/gated-roberta" }, { HF_TOKEN = "hf_wrong" })
  h.eq(code, 1, "exit with a wrong token")
  assert(err:find("HF_TOKEN is set but the hub refused it", 1, true), err)
  assert(not err:find("hf_wrong", 1, true), "the token is not printed")
  local n0 = #srv.requests()
  code, out, err = pull(srv, cache, { "acme/gated-roberta" }, { HF_TOKEN = "hf_right_one" })
  h.eq(code, 0, "exit with the token: " .. err)
  local hub_auth, cdn_auth = 0, 0
  for i, r in ipairs(srv.requests()) do
    if i <= n0 then goto continue end
    if r.host:match("^localhost") then
      assert(not r.auth, "no Authorization header on the CDN host")
      cdn_auth = cdn_auth + 1
    elseif r.auth then
      hub_auth = hub_auth + 1
    end
    ::continue::
  end
  h.eq(hub_auth, 5, "tree + 4 files with the token")
  h.eq(cdn_auth, 1, "the weights from the CDN host")
  local dir = cache .. "/acme--gated-roberta"
  local _, grep = h.sh("grep -rl hf_right_one " .. h.quote(cache) .. " || true")
  h.eq(grep, "", "the token is in no cached file")
  assert(not (out .. err):find("hf_right_one", 1, true), "the token is not printed")
  h.eq(sha(dir .. "/model.safetensors"), sha(root .. "/acme/gated-roberta/model.safetensors"), "weights")
  srv.stop()
end)

h.case("pull: errors of the command line and the hub", function()
  local root = hub_root { "test/tiny-roberta" }
  local srv = start_hub(root)
  local cache = h.tmpdir()
  local code, _, err = pull(srv, cache, { "nobody/nothing" })
  h.eq(code, 1, "unknown model")
  assert(err:find("HTTP 404: no such model or file", 1, true), err)
  code, _, err = pull(srv, cache, { "not an id" })
  h.eq(code, 2, "bad id")
  assert(err:find("is not a Hugging Face model id", 1, true), err)
  code, _, err = pull(srv, cache, {})
  h.eq(code, 2, "no id")
  -- a repository without safetensors
  os.remove(root .. "/test/tiny-roberta/model.safetensors")
  h.write(root .. "/test/tiny-roberta/pytorch_model.bin", "x")
  code, _, err = pull(srv, cache, { "test/tiny-roberta" })
  h.eq(code, 1, "no safetensors")
  assert(err:find("has no model.safetensors at revision main (only pytorch_model.bin)", 1, true), err)
  -- list and path
  code, _, err = h.evalua({ "models", "path", "a/b" }, { EVALUA_MODELS_DIR = cache })
  h.eq(code, 0, err)
  srv.stop()
  local d = hub_root { "x/y" }
  local s2 = start_hub(d)
  code = pull(s2, cache, { "x/y", "--no-progress" })
  h.eq(code, 0, "pull x/y")
  local out
  code, out = h.evalua({ "models", "list" }, { EVALUA_MODELS_DIR = cache })
  h.eq(out, "x/y\tmain\t" .. cache .. "/x--y\n", "list")
  s2.stop()
end)

h.done()
