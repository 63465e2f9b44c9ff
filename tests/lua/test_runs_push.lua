-- `evalua runs push`: a stored run copied to an MLflow tracking server. The
-- server is a small fake of MLflow's REST API (Python's http.server on
-- 127.0.0.1) that records every request.
local h = require "helper"
local cjson = require "cjson"
local core = require "evalua.core"

local d = h.tmpdir()
local db = d .. "/push.db"

local fake = h.write(d .. "/fake_mlflow.py", [=[
import json, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse, parse_qs
log_path, port_path = sys.argv[1], sys.argv[2]
experiments = {"existing": "7"}
lock = threading.Lock()
class H(BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def answer(self, code, obj):
        body = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def handle_any(self, method):
        n = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(n).decode("utf-8", "replace") if n else ""
        u = urlparse(self.path)
        with lock, open(log_path, "a") as f:
            f.write(json.dumps({"method": method, "path": u.path, "query": u.query, "body": body,
                "auth": self.headers.get("authorization"), "type": self.headers.get("content-type")}) + "\n")
        p = u.path
        if p == "/api/2.0/mlflow/experiments/get-by-name":
            name = parse_qs(u.query).get("experiment_name", [""])[0]
            if name == "forbidden":
                return self.answer(403, {"error_code": "PERMISSION_DENIED", "message": "no access to forbidden"})
            if name in experiments:
                return self.answer(200, {"experiment": {"experiment_id": experiments[name], "name": name}})
            return self.answer(404, {"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "no experiment"})
        if p == "/api/2.0/mlflow/experiments/create":
            name = json.loads(body)["name"]
            experiments[name] = str(100 + len(experiments))
            return self.answer(200, {"experiment_id": experiments[name]})
        if p == "/api/2.0/mlflow/runs/create":
            j = json.loads(body)
            rid = "run%d" % int(time.time() * 1000000)
            return self.answer(200, {"run": {"info": {"run_id": rid, "experiment_id": j["experiment_id"],
                "artifact_uri": "mlflow-artifacts:/%s/%s/artifacts" % (j["experiment_id"], rid)}}})
        if p in ("/api/2.0/mlflow/runs/log-batch", "/api/2.0/mlflow/runs/update") or \
           p.startswith("/api/2.0/mlflow-artifacts/artifacts/"):
            return self.answer(200, {})
        return self.answer(404, {"message": "unknown endpoint " + p})
    def do_GET(self): self.handle_any("GET")
    def do_POST(self): self.handle_any("POST")
    def do_PUT(self): self.handle_any("PUT")
srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
with open(port_path + ".tmp", "w") as f: f.write(str(srv.server_address[1]))
import os; os.rename(port_path + ".tmp", port_path)
threading.Timer(120, srv.shutdown).start()
srv.serve_forever()
]=])

local log, portfile, pidfile = d .. "/requests.jsonl", d .. "/port", d .. "/pid"
h.sh(string.format("{ python3 %s %s %s >/dev/null 2>&1 & echo $! > %s; }", h.quote(fake), h.quote(log),
  h.quote(portfile), h.quote(pidfile)))
local pid = tonumber(h.read(pidfile))
local port
for _ = 1, 300 do
  port = tonumber(h.read(portfile) or "")
  if port then break end
  core.sleep(0.02)
end
assert(port, "the fake MLflow server did not start")
local url = "http://127.0.0.1:" .. port

local setup = h.write(d .. "/setup.lua", [[
local evalua = require "evalua"
evalua.set_experiment("translation")
local run <close> = evalua.start_run{ run_name = "pushed", tags = { team = "nlp" } }
run:log_table("eval_results_table", { columns = { "inputs", "outputs", "judge/v1/score" },
  data = { { "q1", "é", 5 }, { "q2", "b", nil } } })
run:log_metrics({ ["judge/v1/mean"] = 5, ["judge/v1/variance"] = 0 / 0 }, { ["judge/v1"] = true })
run:log_param("model", "gpt-4o-mini")
evalua.log_artifact("plot.svg", "<svg/>", "image/svg+xml")
]])
local code, _, err = h.evalua({ "--store", db, setup })
assert(code == 0, err)

local function requests()
  local out = {}
  for line in (h.read(log) or ""):gmatch("[^\n]+") do out[#out + 1] = cjson.decode(line) end
  return out
end

h.case("push a run: experiment, run, batch, artifacts, status", function()
  local c, out, e = h.evalua({ "--store", db, "runs", "push", "pushed", "--mlflow", url },
    { MLFLOW_TRACKING_TOKEN = "sekret-token" })
  h.eq(c, 0, "exit: " .. e)
  assert(out:find("^pushed run pushed %(%x+%) to http://127%.0%.0%.1:%d+ as MLflow run run%d+ in experiment 101, 2 artifact%(s%)\n$"), out)
  assert(not (out .. e):find("sekret", 1, true), "the token is never printed")
  local reqs = requests()
  local paths = {}
  for i, r in ipairs(reqs) do paths[i] = r.method .. " " .. r.path end
  h.same(paths, {
    "GET /api/2.0/mlflow/experiments/get-by-name", "POST /api/2.0/mlflow/experiments/create",
    "POST /api/2.0/mlflow/runs/create", "POST /api/2.0/mlflow/runs/log-batch",
    paths[5], paths[6], "POST /api/2.0/mlflow/runs/update" }, "calls")
  for _, r in ipairs(reqs) do h.eq(r.auth, "Bearer sekret-token", "bearer token on " .. r.path) end
  h.eq(reqs[1].query, "experiment_name=translation", "experiment by name")
  h.eq(cjson.decode(reqs[2].body).name, "translation", "created")
  local create = cjson.decode(reqs[3].body)
  h.eq(create.experiment_id, "101", "experiment id") h.eq(create.run_name, "pushed", "run name")
  local batch = cjson.decode(reqs[4].body)
  local m = {}
  for _, x in ipairs(batch.metrics) do m[x.key] = x.value end
  h.eq(m["judge/v1/mean"], 5, "metric") h.eq(m["judge/v1/variance"], "NaN", "NaN as proto3 JSON")
  h.eq(batch.params[1].key, "model", "param") h.eq(batch.params[1].value, "gpt-4o-mini", "param value")
  local tags = {}
  for _, x in ipairs(batch.tags) do tags[x.key] = x.value end
  h.eq(tags.team, "nlp", "user tag") h.eq(tags["mlflow.source.type"], "LOCAL", "source type")
  h.eq(tags["mlflow.loggedArtifacts"], '[{"path": "eval_results_table.json", "type": "table"}]', "table tag")
  assert(tags["evalua.run_id"]:match("^%x+$"), "evalua run id tag")
  local puts = {}
  for _, r in ipairs(reqs) do if r.method == "PUT" then puts[r.path:match("[^/]+$")] = r end end
  assert(reqs[5].path:match("^/api/2%.0/mlflow%-artifacts/artifacts/101/run%d+/artifacts/"), reqs[5].path)
  local _, table_json = h.evalua({ "--store", db, "runs", "export", "pushed", "--format", "mlflow-json" })
  h.eq(puts["eval_results_table.json"].body, table_json, "the table artifact is the mlflow-json export")
  h.eq(puts["plot.svg"].body, "<svg/>", "artifact bytes") h.eq(puts["plot.svg"].type, "image/svg+xml", "mime")
  local upd = cjson.decode(reqs[7].body)
  h.eq(upd.status, "FINISHED", "status") assert(upd.end_time > 0, "end time")
end)

h.case("log-batch limits and artifact roots", function()
  local ml = require "evalua.mlflow"
  local function list(n, p) local t = {} for i = 1, n do t[i] = p .. i end return t end
  local b = ml._batches(list(2500, "m"), list(150, "p"), list(30, "t"))
  local shape = {}
  for i, x in ipairs(b) do
    shape[i] = string.format("%d/%d/%d", x.metrics and #x.metrics or 0, x.params and #x.params or 0, x.tags and #x.tags or 0)
  end
  h.same(shape, { "870/100/30", "950/50/0", "680/0/0" }, "batches")
  h.eq(b[2].metrics[1], "m871", "metrics in order")
  h.same(ml._batches({}, {}, {}), {}, "nothing to send")
  h.eq(ml._artifact_root("mlflow-artifacts:/1/abc/artifacts"), "1/abc/artifacts", "plain")
  h.eq(ml._artifact_root("mlflow-artifacts://host:5000/1/abc/artifacts"), "1/abc/artifacts", "with netloc")
  h.eq(ml._artifact_root("s3://bucket/1/abc"), nil, "not proxied")
  h.eq(ml._b64("ann:pw"), "YW5uOnB3", "base64")
end)

h.case("push into an existing experiment, basic auth, errors", function()
  os.remove(log)
  local c, out, e = h.evalua({ "--store", db, "runs", "push", "pushed", "--mlflow", url .. "/", "--experiment", "existing" },
    { MLFLOW_TRACKING_USERNAME = "ann", MLFLOW_TRACKING_PASSWORD = "pw" })
  h.eq(c, 0, "exit: " .. e)
  assert(out:find("in experiment 7,", 1, true), out)
  local reqs = requests()
  h.eq(reqs[2].path, "/api/2.0/mlflow/runs/create", "no create of an existing experiment")
  h.eq(reqs[1].auth, "Basic YW5uOnB3", "basic auth")
  c, _, e = h.evalua({ "--store", db, "runs", "push", "pushed", "--mlflow", url, "--experiment", "forbidden" })
  h.eq(c, 1, "exit")
  h.eq(e, "evalua: runs push: experiment 'forbidden': HTTP 403 from " .. url
    .. "/api/2.0/mlflow/experiments/get-by-name?experiment_name=forbidden: no access to forbidden\n", "message")
  c, _, e = h.evalua({ "--store", db, "runs", "push", "pushed" }, { MLFLOW_TRACKING_URI = "" })
  h.eq(c, 2, "no url")
  h.eq(e, "evalua: runs push: give the tracking server with --mlflow URL (or set MLFLOW_TRACKING_URI)\n", "message")
  c, _, e = h.evalua({ "--store", db, "runs", "push", "pushed", "--mlflow", "ftp://x" })
  h.eq(c, 1, "bad url")
  h.eq(e, "evalua: runs push: the MLflow URL must start with http:// or https:// (--mlflow URL or MLFLOW_TRACKING_URI)\n", "message")
  c, _, e = h.evalua({ "--store", db, "runs", "push", "nope", "--mlflow", url })
  h.eq(c, 2, "unknown run")
  h.eq(e, "evalua: runs push: no run matches 'nope' in " .. db .. "\n", "message")
end)

os.execute("kill " .. pid .. " 2>/dev/null")
h.done()
