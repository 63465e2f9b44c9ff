-- evalua.mlflow: copies a stored run to an MLflow tracking server through
-- its REST API (`evalua runs push RUN --mlflow URL`): the experiment (found
-- by name or created), a new run with the run's name and tags, its params,
-- metrics and tags in log-batch calls, eval_results_table.json (MLflow's
-- "split" table, tagged mlflow.loggedArtifacts so the UI shows it) and the
-- other artifacts when the server proxies artifacts (mlflow-artifacts:/),
-- then the run's status and end time.
--   push(ref, { url =, experiment = }) -> { run_id =, experiment_id =,
--     artifacts = n, skipped_artifacts = reason or nil } | nil, err
-- Credentials: MLFLOW_TRACKING_TOKEN (bearer) or MLFLOW_TRACKING_USERNAME
-- and MLFLOW_TRACKING_PASSWORD (basic); they go in headers only, never in
-- a message.
local M = {}

local cjson = require "cjson"
local tracking = require "evalua.tracking"

-- MLflow's per-request limits of log-batch
local MAX_METRICS, MAX_PARAMS, MAX_TAGS, MAX_ITEMS = 1000, 100, 100, 1000
local MAX_PARAM_LEN = 6000

local B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

-- RFC 4648 base64 with padding
local function b64(s)
  local out = {}
  for i = 1, #s, 3 do
    local a, b, c = s:byte(i, i + 2)
    local n = (a << 16) | ((b or 0) << 8) | (c or 0)
    local q = {}
    for k = 1, 4 do
      local idx = (n >> (6 * (4 - k))) & 63
      q[k] = B64:sub(idx + 1, idx + 1)
    end
    if not b then q[3], q[4] = "=", "=" elseif not c then q[4] = "=" end
    out[#out + 1] = table.concat(q)
  end
  return table.concat(out)
end
M._b64 = b64

local function auth_headers()
  local h = { ["content-type"] = "application/json" }
  local token = os.getenv("MLFLOW_TRACKING_TOKEN")
  local user, pass = os.getenv("MLFLOW_TRACKING_USERNAME"), os.getenv("MLFLOW_TRACKING_PASSWORD")
  if token and token ~= "" then
    h.authorization = "Bearer " .. token
  elseif user and user ~= "" then
    h.authorization = "Basic " .. b64(user .. ":" .. (pass or ""))
  end
  return h
end

-- one REST call; returns the decoded answer, or nil, "push: <what>: <why>"
local function call(base, method, path, body, headers, what)
  local http = require "evalua.http"
  local resp, err = http.request{ method = method, url = base .. path, headers = headers,
    body = body, timeout_ms = 30000 }
  if not resp then return nil, string.format("push: %s: %s", what, tostring(err)), nil end
  if resp.status < 200 or resp.status >= 300 then
    local msg = resp.body or ""
    local ok, j = pcall(cjson.decode, msg)
    if ok and type(j) == "table" and j.message then msg = tostring(j.message) end
    if #msg > 300 then msg = msg:sub(1, 300) .. "..." end
    return nil, string.format("push: %s: HTTP %d from %s%s: %s", what, resp.status, base, path, msg), resp
  end
  if resp.body == nil or resp.body == "" then return {} end
  local ok, j = pcall(cjson.decode, resp.body)
  if not ok then return nil, string.format("push: %s: the answer is not JSON", what) end
  return j
end

-- proto3 JSON numbers: NaN and infinities as strings
local function metric_value(v)
  if v ~= v then return "NaN" end
  if v == math.huge then return "Infinity" end
  if v == -math.huge then return "-Infinity" end
  return v
end

local function urlencode(s)
  return (s:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", c:byte()) end))
end

-- log-batch bodies within MLflow's limits: at most 1000 metrics, 100
-- params and 100 tags, and 1000 items in all, per request
local function batches(metrics, params, tags)
  local out = {}
  local mi, pi, ti = 1, 1, 1
  while mi <= #metrics or pi <= #params or ti <= #tags do
    local b, room = {}, MAX_ITEMS
    local function take(list, i, cap, field)
      local n = math.min(cap, room, #list - i + 1)
      if n > 0 then
        b[field] = { table.unpack(list, i, i + n - 1) }
        room = room - n
      end
      return i + math.max(n, 0)
    end
    ti = take(tags, ti, MAX_TAGS, "tags")
    pi = take(params, pi, MAX_PARAMS, "params")
    mi = take(metrics, mi, MAX_METRICS, "metrics")
    out[#out + 1] = b
  end
  return out
end
M._batches = batches

-- the upload path under /api/2.0/mlflow-artifacts/artifacts/ for a run's
-- artifact_uri, when the server proxies artifacts (mlflow-artifacts:)
local function artifact_root(uri)
  local rest = type(uri) == "string" and uri:match("^mlflow%-artifacts:(.*)$")
  if not rest then return nil end
  if rest:sub(1, 2) == "//" then rest = rest:match("^//[^/]*(.*)$") end -- mlflow-artifacts://host:port/path
  return (rest:gsub("^/+", ""))
end
M._artifact_root = artifact_root

local function do_push(ref, opts)
  local base = (opts.url or ""):gsub("/+$", "")
  if not base:match("^https?://") then
    return nil, "push: the MLflow URL must start with http:// or https:// (--mlflow URL or MLFLOW_TRACKING_URI)"
  end
  local r, err = tracking.get_run(ref)
  if not r then return nil, "push: " .. err end
  local info = r.info
  local headers = auth_headers()
  local exp_name = opts.experiment or info.experiment

  -- the experiment
  local j, e, resp = call(base, "GET", "/api/2.0/mlflow/experiments/get-by-name?experiment_name=" .. urlencode(exp_name),
    nil, headers, "experiment '" .. exp_name .. "'")
  local exp_id
  if j and j.experiment then
    exp_id = j.experiment.experiment_id
  elseif resp and resp.status == 404 then
    j, e = call(base, "POST", "/api/2.0/mlflow/experiments/create", cjson.encode{ name = exp_name }, headers,
      "create experiment '" .. exp_name .. "'")
    if not j then return nil, e end
    exp_id = j.experiment_id
  else
    return nil, e or "push: no experiment id in the answer"
  end

  -- the run
  local start_ms = math.floor((info.start_time or 0) * 1000)
  local tags = {
    { key = "mlflow.runName", value = info.name },
    { key = "mlflow.source.type", value = "LOCAL" },
    { key = "evalua.run_id", value = info.id },
    { key = "evalua.version", value = info.evalua_version or "" },
  }
  if info.script then tags[#tags + 1] = { key = "mlflow.source.name", value = info.script } end
  for k, v in pairs(r.tags) do
    if not k:match("^evalua%.") and not k:match("^mlflow%.") then tags[#tags + 1] = { key = k, value = tostring(v) } end
  end
  if r.tags["evalua.user"] then tags[#tags + 1] = { key = "mlflow.user", value = r.tags["evalua.user"] } end
  j, e = call(base, "POST", "/api/2.0/mlflow/runs/create", cjson.encode{ experiment_id = exp_id,
    run_name = info.name, start_time = start_ms, tags = { tags[1] } }, headers, "create run")
  if not j then return nil, e end
  local run = j.run and j.run.info
  local run_id = run and (run.run_id or run.run_uuid)
  if not run_id then return nil, "push: create run: no run id in the answer" end

  -- params, metrics, tags
  local ts = math.floor((info.end_time or info.start_time or 0) * 1000)
  local metrics, params = {}, {}
  local keys = {}
  for k in pairs(r.metrics) do keys[#keys + 1] = k end
  table.sort(keys)
  for _, k in ipairs(keys) do
    metrics[#metrics + 1] = { key = k, value = metric_value(r.metrics[k]), timestamp = ts, step = 0 }
  end
  keys = {}
  for k in pairs(r.params) do keys[#keys + 1] = k end
  table.sort(keys)
  for _, k in ipairs(keys) do
    local v = tostring(r.params[k])
    if #v > MAX_PARAM_LEN then v = v:sub(1, MAX_PARAM_LEN) end
    params[#params + 1] = { key = k, value = v }
  end
  local table_info = tracking.load_table_columns(info.id, "eval_results_table")
  local root = artifact_root(run.artifact_uri)
  local skipped
  if table_info then
    if root then
      tags[#tags + 1] = { key = "mlflow.loggedArtifacts", value = '[{"path": "eval_results_table.json", "type": "table"}]' }
    else
      skipped = "the server does not proxy artifacts (artifact_uri " .. tostring(run.artifact_uri) .. ")"
    end
  end
  for _, batch in ipairs(batches(metrics, params, tags)) do
    batch.run_id = run_id -- empty lists are left out (cjson would write {} for them)
    j, e = call(base, "POST", "/api/2.0/mlflow/runs/log-batch", cjson.encode(batch), headers, "log-batch")
    if not j then return nil, e end
  end

  -- artifacts
  local sent = 0
  if root then
    local path = "/api/2.0/mlflow-artifacts/artifacts/" .. root
    local files = {}
    if table_info then
      files[#files + 1] = { "eval_results_table.json", require("evalua.export").text(table_info, "mlflow-json") }
    end
    for _, a in ipairs(r.artifacts) do
      files[#files + 1] = { a.name, (tracking.artifact(info.id, a.name)), a.mime }
    end
    for _, f in ipairs(files) do
      local h = {}
      for k, v in pairs(headers) do h[k] = v end
      h["content-type"] = f[3] or "application/json"
      j, e = call(base, "PUT", path .. "/" .. urlencode(f[1]), f[2], h, "upload " .. f[1])
      if not j then return nil, e end
      sent = sent + 1
    end
  elseif #r.artifacts > 0 then
    skipped = skipped or ("the server does not proxy artifacts (artifact_uri " .. tostring(run.artifact_uri) .. ")")
  end

  -- status
  local status = info.status == "RUNNING" and "RUNNING" or info.status
  local upd = { run_id = run_id, status = status }
  if info.end_time then upd.end_time = math.floor(info.end_time * 1000) end
  j, e = call(base, "POST", "/api/2.0/mlflow/runs/update", cjson.encode(upd), headers, "update run")
  if not j then return nil, e end
  return { run_id = run_id, experiment_id = exp_id, artifacts = sent, skipped_artifacts = skipped }
end

function M.push(ref, opts)
  local sched = require "evalua.sched"
  local res, errs = sched.map(1, function() return { do_push(ref, opts or {}) } end, { progress = false })
  if not res[1] then return nil, "push: " .. tostring(errs[1]):gsub("\nstack traceback:.*", "") end
  return res[1][1], res[1][2]
end

return M
