-- evalua.tracking: the run store API (experiments, runs, params, metrics,
-- per-row cells, result tables, artifacts, accounting) over one SQLite file.
--
-- THE STORE
--   config.store_path (--store PATH), else $EVALUA_STORE, else ./evalua.db.
--   Opened on first write, so a script that never logs creates no file;
--   reading functions never create it. Several processes may write at once.
--
-- USER API (also exposed as evalua.set_experiment, evalua.start_run, ...)
--   set_experiment(name)                 runs made after this go to `name`
--   start_run{ run_name=, tags={}, experiment=, run_id= } -> run
--       `local run <close> = evalua.start_run{...}` ends it FINISHED when the
--       scope ends, FAILED when an error leaves the scope. One run at a time:
--       a nested start_run raises. run_id= (or --resume) reopens a run.
--   end_run([status])  active_run() -> run | nil
--   log_param(k, v)  log_metric(k, v [, {greater_is_better=, step=}])
--   log_table(name, table_or_rows)  log_artifact(path_or_name [, bytes [, mime]])
--   A log_* call with no active run starts one (FINISHED at script end).
--
-- API FOR evaluate (a run object; every write is committed before it returns)
--   run_for_evaluate{ data_hash=, params={}, n_rows=, run_name= } -> run
--       the active run if there is one (left open: evaluate_done keeps it;
--       a 2nd, 3rd... evaluate into the same active run gets a view whose
--       cell keys are stored as "eval<k>/<key>", so calls do not share rows);
--       else the run named by --resume (config.resume; its data hash must
--       match); else, with --shard i/n, the unfinished run of this experiment,
--       script, data, params and n (found or made inside one write
--       transaction, so every shard process gets the same id); else an
--       unfinished run (RUNNING whose process is gone, FAILED or KILLED) of
--       the same experiment with the same script hash, data hash, params,
--       script arguments and evaluate ordinal (the k-th evaluate call of the
--       process) (run.resumed = true); else a fresh run.
--   run.id, run.name, run.resumed, run.experiment
--   run:cells(key) -> { [row] = value }, present     rows already stored for
--       key; `present[row] = true` also for rows whose stored value is nil
--   run:put_cell(key, row, value)   one row's value for key, in its own
--       transaction: once it returns, a kill -9 of the process cannot lose
--       it. Values: nil, booleans, numbers (integers stay integers, NaN and
--       infinities kept), strings, and tables of those (kept as JSON).
--   run:put_cells(key, values)      many rows ({[row]=v} or a column list
--       with n) in one transaction; run:put_row(row, {key = value}) likewise
--   run:log_params{k = v}  run:log_metrics({key = number}, gib)
--       gib: { [metric key prefix] = boolean } e.g. { ["toxicity/v1"] = false }
--       (the longest prefix of the metric name wins), or a boolean for all;
--       */failures are always lower-is-better, */variance has no direction
--   run:log_table(name, t)  (replaces a table of that name)
--   run:set_accounting(tbl)  (a plain table; per shard, summed when read)
--   run:evaluate_done()  ends a run that run_for_evaluate made or resumed
--       (FINISHED); a shard that did not log eval_results_table (rows were
--       missing, so another shard assembles) records its accounting and
--       leaves the run RUNNING for the others; keeps a run the script started
--   run:finish([status])  ends it now (FINISHED unless given)
--   shard_rows(nrows) -> the sorted row indexes of this process's shard
--       (config.shard = {i, n}; row r belongs to shard ((r - 1) % n) + 1);
--       all rows 1..nrows when not sharded
--   run:missing_rows(key, nrows) -> rows 1..nrows with no cell for key
--
-- READING API (the CLI, the report and the plots use these; `ref` is a run
-- id, a unique id prefix, or a run name (the newest run of that name))
--   resolve(ref) -> id | nil, err
--   list_runs{ experiment=, status=, limit= } -> { info, ... } newest first
--   get_run(ref) -> { info=, params=, metrics=, greater_is_better=, tags=,
--                     accounting=, tables={names}, artifacts={...} } | nil, err
--     info = { id, name, experiment, status, status_note ("stopped" when a
--       RUNNING run's process is gone, "waiting for shards"), start_time,
--       end_time (epoch seconds), script, script_hash, data_hash,
--       evalua_version, n_rows, shard_n, resumes }
--   load_table(ref [, name]) -> an evalua table (name default
--       "eval_results_table"), or the plain form below when evalua.table is
--       not available; nil, err when missing
--   load_table_columns(ref [, name]) -> { names = {...},
--       columns = { [name] = column list with n }, n_rows = n } | nil, err
--   tables(ref) -> { { name =, n_rows =, columns = {names} }, ... } (no data)
--   load_cells(ref, key) -> { [row] = value }, present;  cell_keys(ref)
--   artifacts(ref) -> { {name=, mime=, size=, path=}, ... }
--   artifact(ref, name) -> bytes, mime | nil, err
--   row_errors(ref [, limit]) -> { {row=, key=, error=}, ... }, total
--   delete_run(ref) -> id | nil, err   (the run and all its rows)
--   last_run_id() -> the run the CI gates check, and whether this process
--       only did a shard of it
--   json_encode(value [, {ascii=true, decimals=10}]) -> string
local M = {}

local config = require "evalua.config"
local core = require "evalua.core"
local runtime = require "evalua.runtime"

local cjson = require "cjson"
local store -- evalua.store, loaded with the database

local json = require "evalua.json"

-- Encodes value as JSON (see evalua.json): exact numbers by default;
-- opts.ascii for \uXXXX escapes, opts.decimals for MLflow's table format.
M.json_encode = json.encode
-- Decodes JSON text, keeping integers as integers; null becomes nil.
M.json_decode = json.decode

-- ------------------------------------------------------------- the file ---

local db, db_path

function M.store_path()
  local p = config.store_path
  if p == nil or p == "" then p = os.getenv("EVALUA_STORE") end
  if p == nil or p == "" then p = "evalua.db" end
  return p
end

local function file_exists(p)
  local f = io.open(p, "rb")
  if f then f:close() return true end
  return false
end

-- The open database; creates the file unless readonly (then nil when absent).
local function get_db(readonly)
  local path = M.store_path()
  if db and db_path == path then return db end
  if db then db:close() db = nil end
  if readonly and not file_exists(path) then return nil end
  store = store or require "evalua.store"
  local h, err = store.open(path)
  if not h then error(err, 0) end
  -- every string written to the store passes the one redaction step
  db, db_path = require("evalua.redact").store(h), path
  return db
end

-- Closes the database (it reopens on the next use).
function M.close()
  if db then db:close() end
  db, db_path = nil, nil
end

local function now() return core.time() end

-- runs f(d) inside a write transaction; rolls back and re-raises on error
local function transaction(f)
  local d = get_db()
  d:begin()
  local ok, a, b = pcall(f, d)
  if not ok then
    d:rollback()
    error(a, 0)
  end
  d:commit()
  return a, b
end

-- -------------------------------------------------------------- naming ---

local adjectives = {
  "able", "amber", "bold", "brave", "bright", "calm", "clever", "crisp", "dapper", "eager",
  "fair", "fast", "gentle", "glad", "golden", "grand", "happy", "honest", "jolly", "keen",
  "kind", "lively", "lucky", "merry", "mighty", "neat", "nimble", "noble", "polite", "proud",
  "quick", "quiet", "rare", "sharp", "shy", "silver", "smart", "steady", "swift", "tidy",
  "upbeat", "vivid", "warm", "wise", "witty", "zesty",
}
local nouns = {
  "ant", "badger", "bee", "bison", "crane", "crow", "deer", "dove", "eel", "falcon",
  "finch", "fox", "gull", "hare", "hawk", "heron", "ibis", "jay", "koala", "lark",
  "lemur", "lion", "lynx", "mole", "moth", "newt", "otter", "owl", "panda", "quail",
  "raven", "robin", "seal", "shrew", "sloth", "snail", "stork", "swan", "tapir", "toad",
  "trout", "vole", "wasp", "whale", "wren", "yak",
}

local function random_name()
  store = store or require "evalua.store"
  local r = tonumber(store.random_hex(6), 16)
  local a = adjectives[r % #adjectives + 1]
  r = r // #adjectives
  local b = nouns[r % #nouns + 1]
  r = r // #nouns
  return string.format("%s-%s-%d", a, b, r % 1000)
end

local function new_id()
  store = store or require "evalua.store"
  return store.random_hex(16)
end

local hostname_cache
local function hostname()
  if not hostname_cache then
    local f = io.open("/proc/sys/kernel/hostname") or io.open("/etc/hostname")
    hostname_cache = f and (f:read("l") or "") or ""
    if f then f:close() end
  end
  return hostname_cache
end

-- ------------------------------------------------------------ experiments

local experiment_name

function M.set_experiment(name)
  if type(name) ~= "string" or name == "" then
    error("set_experiment: expected a non-empty name, got " .. tostring(name), 2)
  end
  experiment_name = name
end

function M.experiment()
  return experiment_name or os.getenv("EVALUA_EXPERIMENT") or "Default"
end

local function experiment_id(d, name)
  local row = d:first("SELECT id FROM experiments WHERE name = ?", name)
  if row then return row.id end
  d:run("INSERT OR IGNORE INTO experiments(name, created) VALUES (?, ?)", name, now())
  return d:first("SELECT id FROM experiments WHERE name = ?", name).id
end

-- ------------------------------------------------------------- the run ---

local Run = {}
Run.__index = Run

local active       -- the run log_* calls go to
local last_run_partial = false -- this process left the last run to other shards
local last_run_id  -- the run the CI gates look at
local resume_pending = true -- config.resume not yet used

local script_hash_cache
local function script_hash()
  if script_hash_cache == nil then
    script_hash_cache = false
    local p = config.script
    if p and p ~= "-" then
      local f = io.open(p, "rb")
      if f then
        script_hash_cache = core.sha256(f:read("a"))
        f:close()
      end
    end
  end
  return script_hash_cache or nil
end

local function make_run(row, experiment)
  return setmetatable({ id = row.id, name = row.name, experiment = experiment,
    resumed = false, owned = false, shard = nil, finished = false }, Run)
end

local function load_run_row(d, id)
  return d:first("SELECT r.*, e.name AS experiment FROM runs r JOIN experiments e"
    .. " ON e.id = r.experiment_id WHERE r.id = ?", id)
end

-- claims run id for this process (status RUNNING, owner = us)
local function claim(d, id)
  d:run("UPDATE runs SET status = 'RUNNING', end_time = NULL, owner_host = ?, owner_pid = ?,"
    .. " resumes = resumes + 1 WHERE id = ?", hostname(), core.pid(), id)
end

local function insert_run(d, f)
  local exp = f.experiment or M.experiment()
  local eid = experiment_id(d, exp)
  local id = new_id()
  local name = f.run_name or random_name()
  d:run("INSERT INTO runs(id, name, experiment_id, status, start_time, script, script_hash,"
    .. " data_hash, params_hash, shard_key, shard_n, nrows, evalua_version, owner_host, owner_pid)"
    .. " VALUES (?, ?, ?, 'RUNNING', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    id, name, eid, now(), config.script, script_hash(), f.data_hash, f.params_hash,
    f.shard_key, f.shard_n, f.n_rows, core.version, hostname(), core.pid())
  d:run("INSERT OR REPLACE INTO tags(run_id, key, value) VALUES (?, 'evalua.runName', ?)", id, name)
  if config.script then
    d:run("INSERT OR REPLACE INTO tags(run_id, key, value) VALUES (?, 'evalua.source.name', ?)",
      id, config.script)
  end
  local user = os.getenv("USER") or os.getenv("LOGNAME")
  if user then
    d:run("INSERT OR REPLACE INTO tags(run_id, key, value) VALUES (?, 'evalua.user', ?)", id, user)
  end
  for k, v in pairs(f.tags or {}) do
    d:run("INSERT OR REPLACE INTO tags(run_id, key, value) VALUES (?, ?, ?)", id, tostring(k), tostring(v))
  end
  local r = make_run({ id = id, name = name }, exp)
  return r
end

-- Resolves a reference (id, unique id prefix, run name) to a run id.
function M.resolve(ref)
  if type(ref) ~= "string" or ref == "" then return nil, "no run given" end
  local d = get_db(true)
  if not d then return nil, string.format("no run store at '%s'", M.store_path()) end
  if d:first("SELECT id FROM runs WHERE id = ?", ref) then return ref end
  if ref:match("^[0-9a-f]+$") then
    local rows = d:rows("SELECT id FROM runs WHERE id >= ? AND id < ? ORDER BY id LIMIT 6",
      ref, ref .. "g")
    if #rows == 1 then return rows[1].id end
    if #rows > 1 then
      local ids = {}
      for i = 1, math.min(#rows, 5) do ids[i] = rows[i].id:sub(1, 12) end
      return nil, string.format("run '%s' is ambiguous: it matches %s%s", ref,
        table.concat(ids, ", "), #rows > 5 and ", ..." or "")
    end
  end
  local row = d:first("SELECT id FROM runs WHERE name = ? ORDER BY start_time DESC LIMIT 1", ref)
  if row then return row.id end
  return nil, string.format("no run matches '%s' in %s", ref, M.store_path())
end

local function open_existing(ref, api)
  local id, err = M.resolve(ref)
  if not id then error(api .. ": " .. err, 0) end
  local d = get_db()
  local row = load_run_row(d, id)
  local r = make_run(row, row.experiment)
  return r, row
end

function M.active_run()
  return active
end

-- the run named by --resume, claimed; nil when none is pending
local function take_resume(api)
  local ref = config.resume
  if not ref or not resume_pending then return nil end
  resume_pending = false
  local r, row = open_existing(ref, api .. ": --resume")
  if row.status == "RUNNING" and row.owner_pid and row.owner_host == hostname()
      and row.owner_pid ~= core.pid() then
    store = store or require "evalua.store"
    if store.process_alive and store.process_alive(row.owner_pid) then
      error(string.format("%s: --resume %s: the run is still being written by process %d",
        api, ref, row.owner_pid), 0)
    end
  end
  transaction(function(d) claim(d, r.id) end)
  r.resumed = true
  return r, row
end

function M.start_run(opts)
  opts = opts or {}
  if type(opts) ~= "table" then error("start_run: expected a table of options, got " .. type(opts), 2) end
  for k in pairs(opts) do
    if k ~= "run_name" and k ~= "tags" and k ~= "experiment" and k ~= "run_id" and k ~= "description" then
      error(string.format("start_run: unknown field '%s'", tostring(k)), 2)
    end
  end
  if active then
    error(string.format("start_run: run '%s' (%s) is already active; end it first"
      .. " (nested runs are not supported)", active.name, active.id:sub(1, 8)), 2)
  end
  local r
  if opts.run_id then
    r = open_existing(opts.run_id, "start_run")
    transaction(function(d) claim(d, r.id) end)
    r.resumed = true
  else
    r = take_resume("start_run")
    if not r then
      r = transaction(function(d)
        return insert_run(d, { run_name = opts.run_name, tags = opts.tags, experiment = opts.experiment })
      end)
    end
  end
  if opts.description then r:set_tag("evalua.note.content", opts.description) end
  active, last_run_id, last_run_partial = r, r.id, false
  return r
end

-- Ends the active run (status FINISHED unless given).
function M.end_run(status)
  if active then active:finish(status) end
end

local function ensure_active()
  if not active then
    local r = M.start_run{}
    r.auto = true
  end
  return active
end

function M.log_param(k, v) return ensure_active():log_param(k, v) end
function M.log_metric(k, v, opts) return ensure_active():log_metric(k, v, opts) end
function M.log_table(name, t) return ensure_active():log_table(name, t) end
function M.log_artifact(p, bytes, mime) return ensure_active():log_artifact(p, bytes, mime) end
function M.set_tag(k, v) return ensure_active():set_tag(k, v) end

-- ------------------------------------------------------------ shards ---

function M.shard()
  local s = config.shard
  if type(s) == "table" and s[2] and s[2] > 1 then return s[1], s[2] end
  return nil
end

function M.shard_rows(nrows)
  local i, n = M.shard()
  local rows = {}
  if not i then
    for r = 1, nrows do rows[r] = r end
    return rows
  end
  for r = i, nrows, n do rows[#rows + 1] = r end
  return rows
end

-- --------------------------------------------------- run_for_evaluate ---

local function params_hash(params)
  return core.sha256(M.json_encode(params or {}))
end

local function owner_gone(row)
  if row.status ~= "RUNNING" then return true end
  if not row.owner_pid then return true end -- released (finish("RUNNING"))
  if row.owner_host ~= hostname() then return false end
  if row.owner_pid == core.pid() then return false end
  store = store or require "evalua.store"
  return not store.process_alive(row.owner_pid)
end

-- A second (third, ...) evaluate into the same active run sees its cells
-- under "eval<k>/" so it does not take the first call's rows for its own.
local cell_methods = { cells = true, put_cell = true, put_cells = true, missing_rows = true }

local function namespaced(run, ns)
  return setmetatable({ id = run.id, name = run.name, experiment = run.experiment,
    resumed = run.resumed, owned = false, ns = ns }, { __index = function(_, k)
    local f = Run[k]
    if type(f) ~= "function" then return run[k] end
    if cell_methods[k] then
      return function(_, key, ...) return f(run, ns .. tostring(key), ...) end
    end
    if k == "put_row" then
      return function(_, row, kv)
        local p = {}
        for key, v in pairs(kv) do p[ns .. tostring(key)] = v end
        return f(run, row, p)
      end
    end
    return function(_, ...) return f(run, ...) end
  end })
end

local evaluate_calls = 0 -- run_for_evaluate calls of this process

function M.run_for_evaluate(f)
  f = f or {}
  evaluate_calls = evaluate_calls + 1
  -- the call's ordinal is part of the match, so the 2nd evaluate of a script
  -- never resumes the run of the 1st (their params may be the same)
  -- the script's arguments too: `evalua s.lua gpt-4` and `evalua s.lua claude`
  -- must not resume each other
  local args = {}
  if type(arg) == "table" then for i = 1, #arg do args[i] = tostring(arg[i]) end end
  local ph = params_hash({ f.params or {}, evaluate_calls, args })
  local r
  if active then
    r = active
    get_db():run("UPDATE runs SET data_hash = coalesce(data_hash, ?), params_hash = coalesce(params_hash, ?),"
      .. " nrows = coalesce(nrows, ?) WHERE id = ?", f.data_hash, ph, f.n_rows, r.id)
    r.owned = false
    r.evaluations = (r.evaluations or 0) + 1
    last_run_id, last_run_partial = r.id, false
    if r.evaluations > 1 then return namespaced(r, "eval" .. r.evaluations .. "/") end
    return r
  else
    local row
    r, row = take_resume("evaluate")
    if r then
      if f.data_hash and row.data_hash and row.data_hash ~= f.data_hash then
        r:finish("FAILED")
        error(string.format("evaluate: --resume %s: the run was made from other data"
          .. " (data hash %s, now %s)", config.resume, row.data_hash:sub(1, 12), f.data_hash:sub(1, 12)), 0)
      end
      get_db():run("UPDATE runs SET data_hash = ?, params_hash = ?, nrows = coalesce(?, nrows) WHERE id = ?",
        f.data_hash, ph, f.n_rows, r.id)
    else
      local si, sn = M.shard()
      local sh = script_hash()
      local exp = M.experiment()
      r = transaction(function(d)
        local eid = experiment_id(d, exp)
        if si then
          local key = core.sha256(M.json_encode({ exp, sh or "", f.data_hash or "", ph, sn }))
          local row2 = d:first("SELECT id, name FROM runs WHERE shard_key = ? AND status <> 'FINISHED'"
            .. " ORDER BY start_time DESC LIMIT 1", key)
          if row2 then
            d:run("UPDATE runs SET status = 'RUNNING', end_time = NULL, owner_host = ?, owner_pid = ?"
              .. " WHERE id = ?", hostname(), core.pid(), row2.id)
            local x = make_run(row2, exp)
            x.resumed = true
            return x
          end
          return insert_run(d, { run_name = f.run_name, experiment = exp, data_hash = f.data_hash,
            params_hash = ph, shard_key = key, shard_n = sn, n_rows = f.n_rows })
        end
        if sh and f.data_hash then
          local cands = d:rows("SELECT id, name, status, owner_pid, owner_host FROM runs"
            .. " WHERE experiment_id = ? AND script_hash = ? AND data_hash = ? AND params_hash = ?"
            .. " AND shard_key IS NULL AND status <> 'FINISHED' ORDER BY start_time DESC LIMIT 20",
            eid, sh, f.data_hash, ph)
          for _, c in ipairs(cands) do
            if owner_gone(c) then
              claim(d, c.id)
              local x = make_run(c, exp)
              x.resumed = true
              return x
            end
          end
        end
        return insert_run(d, { run_name = f.run_name, experiment = exp, data_hash = f.data_hash,
          params_hash = ph, n_rows = f.n_rows })
      end)
    end
    r.owned = true
    r.shard = M.shard() and config.shard or nil
    r.n_rows = f.n_rows
    active = r
    if r.shard then
      -- which shards a store file holds, and the script's arguments, for
      -- `evalua runs merge` of shards run with separate store files
      r:set_tag("evalua.shard." .. r.shard[1], r.shard[1] .. "/" .. r.shard[2])
      r:set_tag("evalua.args", M.json_encode(args))
    end
  end
  last_run_id, last_run_partial = r.id, false
  if f.params and r.owned then r:log_params(f.params) end
  return r
end

-- -------------------------------------------------------- run methods ---

local function check_key(api, k)
  if type(k) ~= "string" or k == "" then
    error(string.format("%s: expected a non-empty string key, got %s", api, tostring(k)), 3)
  end
end

function Run:set_tag(k, v)
  check_key("set_tag", k)
  get_db():run("INSERT OR REPLACE INTO tags(run_id, key, value) VALUES (?, ?, ?)", self.id, k,
    v ~= nil and tostring(v) or nil)
end

local function param_text(v)
  if type(v) == "table" then return M.json_encode(v) end
  if v == nil then return nil end
  return tostring(v)
end

function Run:log_param(k, v)
  check_key("log_param", k)
  get_db():run("INSERT OR REPLACE INTO params(run_id, key, value) VALUES (?, ?, ?)", self.id, k, param_text(v))
end

function Run:log_params(t)
  if type(t) ~= "table" then error("log_params: expected a table, got " .. type(t), 2) end
  transaction(function(d)
    for k, v in pairs(t) do
      d:run("INSERT OR REPLACE INTO params(run_id, key, value) VALUES (?, ?, ?)", self.id, tostring(k), param_text(v))
    end
  end)
end

-- greater_is_better for metric key k from gib (boolean, or prefix -> bool)
local function gib_for(gib, k)
  -- failure counts are lower-is-better and a variance has no direction,
  -- whatever the metric's own direction
  if k:match("/failures$") or k == "failures" then
    if gib == nil then return nil end
    return false
  end
  if k:match("/variance$") then return nil end
  if type(gib) == "boolean" then return gib end
  if type(gib) ~= "table" then return nil end
  local p = k
  while p do
    if gib[p] ~= nil then return gib[p] end
    p = p:match("^(.*)/[^/]*$")
  end
  return nil
end

local function put_metric(d, id, k, v, gib, step)
  if type(v) ~= "number" then
    error(string.format("log_metric: '%s' must be a number, got %s", k, type(v)), 0)
  end
  local g = gib
  if g ~= nil then g = g and 1 or 0 end
  -- SQLite keeps NaN as NULL; reading maps NULL back to NaN
  d:run("INSERT OR REPLACE INTO metrics(run_id, key, value, greater_is_better, step, timestamp)"
    .. " VALUES (?, ?, ?, ?, ?, ?)", id, k, v == v and v or nil, g, step or 0, now())
end

function Run:log_metric(k, v, opts)
  check_key("log_metric", k)
  opts = opts or {}
  put_metric(get_db(), self.id, k, v, opts.greater_is_better, opts.step)
end

function Run:log_metrics(t, gib)
  if type(t) ~= "table" then error("log_metrics: expected a table, got " .. type(t), 2) end
  transaction(function(d)
    for k, v in pairs(t) do put_metric(d, self.id, tostring(k), v, gib_for(gib, tostring(k))) end
  end)
end

-- cell value -> kind, value for the cells table
local function cell_encode(v)
  local ty = type(v)
  if v == nil then return nil, nil end
  if ty == "number" then
    if v ~= v then return "n", nil end
    return nil, v
  end
  if ty == "string" then return nil, v end
  if ty == "boolean" then return "b", v and 1 or 0 end
  if ty == "table" then return "j", M.json_encode(v) end
  error("put_cell: cannot store a " .. ty, 0)
end

local function cell_decode(kind, v)
  if kind == nil then return v end
  if kind == "n" then return 0 / 0 end
  if kind == "b" then return v == 1 end
  if kind == "j" then return M.json_decode(v) end
  return v
end

local PUT = "INSERT OR REPLACE INTO cells(run_id, key, row, kind, value) VALUES (?, ?, ?, ?, ?)"

local function check_row(api, row)
  if math.type(row) ~= "integer" or row < 1 then
    error(string.format("%s: row must be a positive integer, got %s", api, tostring(row)), 3)
  end
end

function Run:put_cell(key, row, value)
  check_key("put_cell", key)
  check_row("put_cell", row)
  local kind, v = cell_encode(value)
  get_db():run(PUT, self.id, key, row, kind, v)
end

function Run:put_cells(key, values)
  check_key("put_cells", key)
  if type(values) ~= "table" then error("put_cells: expected a table of values, got " .. type(values), 2) end
  -- encode first: the write lock is held only for the inserts
  local rows, kinds, vals = {}, {}, {}
  if values.n then
    for row = 1, values.n do rows[row] = row end
  else
    for row in pairs(values) do
      check_row("put_cells", row)
      rows[#rows + 1] = row
    end
  end
  for i, row in ipairs(rows) do kinds[i], vals[i] = cell_encode(values[row]) end
  transaction(function(d)
    for i, row in ipairs(rows) do d:run(PUT, self.id, key, row, kinds[i], vals[i]) end
  end)
end

function Run:put_row(row, kv)
  check_row("put_row", row)
  transaction(function(d)
    for key, value in pairs(kv) do
      local kind, v = cell_encode(value)
      d:run(PUT, self.id, tostring(key), row, kind, v)
    end
  end)
end

local function read_cells(id, key)
  local d = get_db(true)
  local vals, present = {}, {}
  if not d then return vals, present end
  for _, c in ipairs(d:rows("SELECT row, kind, value FROM cells WHERE run_id = ? AND key = ?", id, key)) do
    vals[c.row] = cell_decode(c.kind, c.value)
    present[c.row] = true
  end
  return vals, present
end

function Run:cells(key)
  check_key("cells", key)
  return read_cells(self.id, key)
end

function Run:missing_rows(key, nrows)
  local _, present = read_cells(self.id, key)
  local miss = {}
  for r = 1, nrows do if not present[r] then miss[#miss + 1] = r end end
  return miss
end

-- ------------------------------------------------------------- tables ---

-- t -> names, columns ({[name] = list}), nrows. Accepts an evalua table
-- (t:columns(), t:column(name), #t), { columns = {...}, data = {{row}, ...} }
-- (split form), or a list of row tables (columns: first row's keys, sorted,
-- or opts.columns).
local function table_parts(t, api)
  if type(t) ~= "table" and type(t) ~= "userdata" then
    error(string.format("%s: expected an evalua table or a list of rows, got %s", api, type(t)), 0)
  end
  local mt = getmetatable(t)
  if mt and type(t.columns) == "function" and type(t.column) == "function" then
    local names = t:columns()
    local cols = {}
    local nrows = #t
    for _, name in ipairs(names) do
      local c = t:column(name)
      cols[name] = c
      if type(c) == "table" and c.n then nrows = c.n end
    end
    return names, cols, nrows
  end
  if type(t.columns) == "table" and type(t.data) == "table" then
    local names, cols = t.columns, {}
    for _, name in ipairs(names) do cols[name] = { n = #t.data } end
    for r, row in ipairs(t.data) do
      for j, name in ipairs(names) do cols[name][r] = row[j] end
    end
    return names, cols, #t.data
  end
  local names = t.columns
  if type(names) ~= "table" then
    local seen = {}
    names = {}
    for _, row in ipairs(t) do
      for k in pairs(row) do
        if not seen[k] then seen[k] = true names[#names + 1] = k end
      end
    end
    table.sort(names, function(a, b) return tostring(a) < tostring(b) end)
  end
  local cols = {}
  for _, name in ipairs(names) do cols[name] = { n = #t } end
  for r, row in ipairs(t) do
    if type(row) ~= "table" then error(string.format("%s: row %d is a %s, not a table", api, r, type(row)), 0) end
    for _, name in ipairs(names) do cols[name][r] = row[name] end
  end
  return names, cols, #t
end

local function kind_letter(v)
  local ty = type(v)
  if v == nil then return "n" end
  if ty == "number" then return math.type(v) == "integer" and "i" or "f" end
  if ty == "string" then return "s" end
  if ty == "boolean" then return "b" end
  return "j"
end

function Run:log_table(name, t)
  check_key("log_table", name)
  local names, cols, nrows = table_parts(t, "log_table")
  -- encode every column first: the write lock is held only for the inserts
  local data, kinds = {}, {}
  for pos, cname in ipairs(names) do
    local c = cols[cname] or {}
    local list, k = { n = nrows }, {}
    for r = 1, nrows do
      local v = c[r]
      list[r] = v
      k[r] = kind_letter(v)
    end
    data[pos], kinds[pos] = M.json_encode(list), table.concat(k)
  end
  local header = M.json_encode(names)
  transaction(function(d)
    d:run("DELETE FROM table_columns WHERE run_id = ? AND name = ?", self.id, name)
    d:run("INSERT OR REPLACE INTO result_tables(run_id, name, nrows, columns, created) VALUES (?, ?, ?, ?, ?)",
      self.id, name, nrows, header, now())
    for pos, cname in ipairs(names) do
      d:run("INSERT INTO table_columns(run_id, name, pos, column, data, kinds) VALUES (?, ?, ?, ?, ?, ?)",
        self.id, name, pos, tostring(cname), data[pos], kinds[pos])
    end
    if name == "eval_results_table" then
      d:run("UPDATE runs SET nrows = coalesce(nrows, ?) WHERE id = ?", nrows, self.id)
    end
  end)
  if name == "eval_results_table" then self.results_logged = true end
end

local MIME = { png = "image/png", svg = "image/svg+xml", json = "application/json",
  csv = "text/csv", html = "text/html", txt = "text/plain", jsonl = "application/x-ndjson",
  md = "text/markdown", lua = "text/x-lua", pdf = "application/pdf" }

local function guess_mime(name)
  local ext = name:match("%.([%w]+)$")
  return ext and MIME[ext:lower()] or "application/octet-stream"
end

function Run:log_artifact(p, bytes, mime)
  check_key("log_artifact", p)
  local name = p
  if bytes == nil then
    local f, err = io.open(p, "rb")
    if not f then error("log_artifact: " .. tostring(err), 2) end
    bytes = f:read("a")
    f:close()
    name = p:match("([^/]+)$")
  elseif type(bytes) ~= "string" then
    error("log_artifact: bytes must be a string, got " .. type(bytes), 2)
  end
  bytes = require("evalua.redact").text(bytes)
  store = store or require "evalua.store"
  get_db():run("INSERT OR REPLACE INTO artifacts(run_id, name, mime, size, data, path, created)"
    .. " VALUES (?, ?, ?, ?, ?, ?, ?)", self.id, name, mime or guess_mime(name), #bytes,
    store.blob(bytes), name ~= p and p or nil, now())
  return name
end

function Run:set_accounting(tbl)
  if type(tbl) ~= "table" then error("set_accounting: expected a table, got " .. type(tbl), 2) end
  -- one entry per process that worked on a shared or resumed run, summed
  -- when read; a plain run has one
  local part = ""
  if self.shard then part = string.format("shard %d/%d", self.shard[1], self.shard[2]) end
  if self.shard or self.resumed then part = part .. string.format(" pid %d", core.pid()) end
  get_db():run("INSERT OR REPLACE INTO accounting(run_id, part, data, updated) VALUES (?, ?, ?, ?)",
    self.id, part, M.json_encode(tbl), now())
end

function Run:finish(status)
  status = status or "FINISHED"
  if status ~= "FINISHED" and status ~= "FAILED" and status ~= "KILLED" and status ~= "RUNNING" then
    error("finish: status must be FINISHED, FAILED or KILLED, got " .. tostring(status), 2)
  end
  if not self.finished then
    if status == "RUNNING" then -- left for other shards or a later resume
      get_db():run("UPDATE runs SET owner_pid = NULL WHERE id = ?", self.id)
    else
      get_db():run("UPDATE runs SET status = ?, end_time = ? WHERE id = ?", status, now(), self.id)
    end
    self.finished = true
  end
  if active == self then active = nil end
end

-- true when every row 1..n_rows has a cell for every key of the run's cells
-- that has any cell (used by shards to tell whether the run is complete)
function Run:complete(n_rows)
  n_rows = n_rows or self.n_rows
  if not n_rows then return true end
  local d = get_db()
  local keys = d:rows("SELECT key, count(*) AS n FROM cells WHERE run_id = ? GROUP BY key", self.id)
  for _, k in ipairs(keys) do
    if k.n < n_rows then return false end
  end
  return true
end

function Run:evaluate_done()
  if not self.owned then return end
  -- a shard that did not log the final table left the assembly to the
  -- shard that finishes last (evaluate decides which, from the cells)
  if self.shard and not self.results_logged then
    -- this shard's spend, before the run is left to the others
    self:set_accounting(require("evalua.accounting").snapshot())
    self:finish("RUNNING")
    if last_run_id == self.id then last_run_partial = true end
  else
    self:finish("FINISHED")
    if last_run_id == self.id then last_run_partial = false end
  end
end

Run.__close = function(self, err)
  if not self.finished then self:finish(err ~= nil and "FAILED" or "FINISHED") end
end

-- ------------------------------------------------------------ reading ---

-- why a RUNNING run is not running: "stopped" (its process is gone from
-- this machine) or "waiting for shards"; nil otherwise
local function status_note(row)
  if row.status ~= "RUNNING" then return nil end
  if not row.owner_pid then return row.shard_n and "waiting for shards" or "stopped" end
  if row.owner_host == hostname() and owner_gone(row) then return "stopped" end
  return nil
end

local function info_of(row)
  return { id = row.id, name = row.name, experiment = row.experiment, status = row.status,
    status_note = status_note(row),
    start_time = row.start_time, end_time = row.end_time, script = row.script,
    script_hash = row.script_hash, data_hash = row.data_hash, params_hash = row.params_hash,
    evalua_version = row.evalua_version, n_rows = row.nrows, shard_n = row.shard_n,
    resumes = row.resumes }
end

function M.list_runs(opts)
  opts = opts or {}
  local d = get_db(true)
  if not d then return {} end
  local rows = d:rows("SELECT r.*, e.name AS experiment FROM runs r JOIN experiments e"
    .. " ON e.id = r.experiment_id WHERE (?1 IS NULL OR e.name = ?1) AND (?2 IS NULL OR r.status = ?2)"
    .. " ORDER BY r.start_time DESC, r.id LIMIT ?3", opts.experiment, opts.status, opts.limit or -1)
  local out = {}
  for i, row in ipairs(rows) do out[i] = info_of(row) end
  return out
end

function M.experiments()
  local d = get_db(true)
  if not d then return {} end
  return d:rows("SELECT e.id, e.name, e.created, count(r.id) AS runs FROM experiments e"
    .. " LEFT JOIN runs r ON r.experiment_id = e.id GROUP BY e.id ORDER BY e.name")
end

local function add_into(dst, src)
  for k, v in pairs(src) do
    if type(v) == "number" and type(dst[k]) == "number" then dst[k] = dst[k] + v
    elseif type(v) == "table" and type(dst[k]) == "table" then add_into(dst[k], v)
    elseif dst[k] == nil then dst[k] = v end
  end
end

function M.get_run(ref)
  local id, err = M.resolve(ref)
  if not id then return nil, err end
  local d = get_db(true)
  local row = load_run_row(d, id)
  local r = { info = info_of(row), params = {}, metrics = {}, greater_is_better = {},
    tags = {}, accounting = {}, tables = {}, artifacts = {} }
  for _, p in ipairs(d:rows("SELECT key, value FROM params WHERE run_id = ?", id)) do
    r.params[p.key] = p.value
  end
  for _, m in ipairs(d:rows("SELECT key, value, greater_is_better AS g FROM metrics WHERE run_id = ?"
      .. " ORDER BY key, step", id)) do
    r.metrics[m.key] = m.value == nil and 0 / 0 or m.value -- the last step wins
    if m.g ~= nil then r.greater_is_better[m.key] = m.g == 1 end
  end
  for _, t in ipairs(d:rows("SELECT key, value FROM tags WHERE run_id = ?", id)) do
    r.tags[t.key] = t.value
  end
  for _, a in ipairs(d:rows("SELECT data FROM accounting WHERE run_id = ? ORDER BY part", id)) do
    local ok, v = pcall(M.json_decode, a.data)
    if ok and type(v) == "table" then add_into(r.accounting, v) end
  end
  for _, t in ipairs(d:rows("SELECT name FROM result_tables WHERE run_id = ? ORDER BY name", id)) do
    r.tables[#r.tables + 1] = t.name
  end
  r.artifacts = M.artifacts(id)
  return r
end

function M.load_table_columns(ref, name)
  name = name or "eval_results_table"
  local id, err = M.resolve(ref)
  if not id then return nil, err end
  local d = get_db(true)
  local t = d:first("SELECT nrows, columns FROM result_tables WHERE run_id = ? AND name = ?", id, name)
  if not t then return nil, string.format("run %s has no table '%s'", id:sub(1, 8), name) end
  local names = cjson.decode(t.columns)
  local cols = {}
  for _, c in ipairs(d:rows("SELECT column, data, kinds FROM table_columns WHERE run_id = ? AND name = ?"
      .. " ORDER BY pos", id, name)) do
    local list
    if c.kinds:find("j", 1, true) then
      list = M.json_decode(c.data) -- nested values: the exact (slower) reader
    else
      list = cjson.decode(c.data) -- flat: cjson, then integers back to integers
      local kinds = c.kinds
      for i = 1, t.nrows do
        local k = kinds:byte(i)
        if k == 110 then list[i] = nil -- 'n'
        elseif k == 105 then list[i] = math.tointeger(list[i]) or list[i] end -- 'i'
      end
    end
    list.n = t.nrows
    cols[c.column] = list
  end
  for _, n in ipairs(names) do cols[n] = cols[n] or { n = t.nrows } end
  return { names = names, columns = cols, n_rows = t.nrows }
end

function M.load_table(ref, name)
  local p, err = M.load_table_columns(ref, name)
  if not p then return nil, err end
  local list = {}
  for i, n in ipairs(p.names) do list[i] = { n, p.columns[n] } end
  return require("evalua.table").from(list)
end

-- The result tables of a run without their data: a list of
-- { name =, n_rows =, columns = {names} }, by name.
function M.tables(ref)
  local id, err = M.resolve(ref)
  if not id then return nil, err end
  local out = {}
  for _, t in ipairs(get_db(true):rows("SELECT name, nrows, columns FROM result_tables WHERE run_id = ?"
      .. " ORDER BY name", id)) do
    out[#out + 1] = { name = t.name, n_rows = t.nrows, columns = cjson.decode(t.columns) }
  end
  return out
end

function M.load_cells(ref, key)
  local id, err = M.resolve(ref)
  if not id then return nil, err end
  return read_cells(id, key)
end

function M.cell_keys(ref)
  local id, err = M.resolve(ref)
  if not id then return nil, err end
  return get_db(true):rows("SELECT key, count(*) AS n FROM cells WHERE run_id = ? GROUP BY key ORDER BY key", id)
end

-- Rows whose stored cell records a failure (a table cell with an `error`
-- field, or `failed = true`, as evaluate writes them): a list of
-- { row =, key =, error = } (at most limit, default 50) and the total.
function M.row_errors(ref, limit)
  local id, err = M.resolve(ref)
  if not id then return nil, err end
  local d = get_db(true)
  local where = " FROM cells WHERE run_id = ? AND kind = 'j' AND (value LIKE '%\"error\":%'"
    .. " OR value LIKE '%\"failed\":true%')"
  local total = d:first("SELECT count(*) AS n" .. where, id).n
  local out = {}
  for _, c in ipairs(d:rows("SELECT row, key, value" .. where .. " ORDER BY key, row LIMIT ?", id, limit or 50)) do
    local ok, v = pcall(M.json_decode, c.value)
    if ok and type(v) == "table" and (v.error ~= nil or v.failed) then
      local msg = v.error or v.justification or "failed"
      out[#out + 1] = { row = c.row, key = c.key, error = type(msg) == "string" and msg or M.json_encode(msg) }
    end
  end
  return out, total
end

function M.artifacts(ref)
  local id, err = M.resolve(ref)
  if not id then return nil, err end
  return get_db(true):rows("SELECT name, mime, size, path, created FROM artifacts WHERE run_id = ? ORDER BY name", id)
end

function M.artifact(ref, name)
  local id, err = M.resolve(ref)
  if not id then return nil, err end
  local a = get_db(true):first("SELECT data, mime FROM artifacts WHERE run_id = ? AND name = ?", id, name)
  if not a then return nil, string.format("run %s has no artifact '%s'", id:sub(1, 8), name) end
  return a.data, a.mime
end

-- Deletes a run and everything stored with it (one transaction); an active
-- run of this process cannot be deleted. Returns the id, or nil, err.
function M.delete_run(ref)
  local id, err = M.resolve(ref)
  if not id then return nil, err end
  if active and active.id == id then return nil, "run " .. id:sub(1, 8) .. " is active" end
  transaction(function(d)
    for _, t in ipairs({ "tags", "params", "metrics", "cells", "result_tables", "table_columns",
      "artifacts", "accounting" }) do
      d:run("DELETE FROM " .. t .. " WHERE run_id = ?", id)
    end
    d:run("DELETE FROM runs WHERE id = ?", id)
  end)
  return id
end

-- The run the CI gates look at: the last run evaluate used (or started),
-- and whether this process only did a shard of it (the shard that
-- assembles the run checks the gates).
function M.last_run_id()
  return last_run_id, last_run_partial
end

-- ----------------------------------------------------------- at finish ---

runtime.at_finish(function(ok)
  if ok and config.resume and resume_pending then
    io.stderr:write("evalua: warning: --resume ", tostring(config.resume),
      " was not used: the script started no run and called no evaluate\n")
  end
  if active then
    local r = active
    if r.shard and ok and not r.results_logged then r:finish("RUNNING")
    else r:finish(ok and "FINISHED" or "FAILED") end
  end
  return require("evalua.gates").at_finish(ok) -- a broken gates.lua fails the run
end)

return M
