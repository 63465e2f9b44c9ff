-- evalua.merge: `evalua runs merge A.db B.db ... -o run.db`. Shards that ran
-- on machines with no shared file system (`--shard I/N --store shardI.db`)
-- each leave a store file holding their run's rows; merge checks that the
-- files hold shards of one evaluation (same experiment, script, data,
-- parameters, judges and N), refuses a shard given twice, a missing shard,
-- a row stored by two files and a row no file has, copies the rows into
-- one new store, then assembles the run there: it runs the script once
-- more as shard 1/N against the merged store, offline, so every row comes
-- from the store and only the aggregates, the result table and the gates
-- are computed (--no-assemble leaves that to the user).
local util = require "evalua.util"

local M = {}

local function q(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

local function exists(p)
  local f = io.open(p, "rb")
  if f then f:close() return true end
  return false
end

-- Keys that are bookkeeping (batch ids and the like), not per-row results.
local function bookkeeping(key) return key:sub(1, 1) == "_" end

-- The shard run of one store file: its runs row, shard indexes, params.
local function shard_of(path, run_ref)
  if not exists(path) then return nil, path .. ": no such file" end
  local d, err = require("evalua.store").open(path)
  if not d then return nil, err end
  local runs = d:rows("SELECT r.*, e.name AS experiment FROM runs r JOIN experiments e"
    .. " ON e.id = r.experiment_id WHERE r.shard_key IS NOT NULL ORDER BY r.start_time DESC")
  local row
  if run_ref then
    for _, r in ipairs(runs) do
      if r.id == run_ref or r.id:sub(1, #run_ref) == run_ref or r.name == run_ref then row = r break end
    end
  else
    local keys = {}
    for _, r in ipairs(runs) do keys[r.shard_key] = true end
    if next(keys, next(keys)) then
      d:close()
      return nil, path .. ": holds shards of several runs; pick one with --run ID"
    end
    row = runs[1]
  end
  if not row then
    d:close()
    return nil, path .. ": holds no sharded run (run the shards with --shard I/N --store FILE)"
  end
  local s = { path = path, row = row, shards = {}, params = {}, tags = {} }
  for _, t in ipairs(d:rows("SELECT key, value FROM tags WHERE run_id = ?", row.id)) do
    s.tags[t.key] = t.value
    local i = t.key:match("^evalua%.shard%.(%d+)$")
    if i then s.shards[#s.shards + 1] = tonumber(i) end
  end
  table.sort(s.shards)
  for _, p in ipairs(d:rows("SELECT key, value FROM params WHERE run_id = ?", row.id)) do
    s.params[p.key] = p.value
  end
  d:close()
  if #s.shards == 0 then
    return nil, string.format("%s: run %s does not say which shard it is (made by an older evalua?)",
      path, row.id)
  end
  return s
end

local function short(h) return tostring(h or "none"):sub(1, 12) end

-- Why shard b is not a shard of the same evaluation as a, or nil.
local function mismatch(a, b)
  local ra, rb = a.row, b.row
  local function diff(what, x, y)
    return string.format("%s (run %s) is not a shard of the same evaluation as %s (run %s): %s (%s vs %s)",
      b.path, rb.id:sub(1, 12), a.path, ra.id:sub(1, 12), what, tostring(y), tostring(x))
  end
  if ra.shard_n ~= rb.shard_n then return diff("a different shard count", ra.shard_n, rb.shard_n) end
  if ra.experiment ~= rb.experiment then return diff("another experiment", ra.experiment, rb.experiment) end
  if ra.script_hash ~= rb.script_hash then
    return diff("the script differs", short(ra.script_hash), short(rb.script_hash))
  end
  if ra.data_hash ~= rb.data_hash then return diff("the data differ", short(ra.data_hash), short(rb.data_hash)) end
  if ra.nrows ~= rb.nrows then return diff("a different row count", ra.nrows, rb.nrows) end
  for _, k in ipairs({ "model", "judges", "metrics", "model_type", "targets", "predictions" }) do
    if a.params[k] ~= b.params[k] then
      local what = k == "judges" and "the judges differ" or ("params." .. k .. " differs")
      return diff(what, a.params[k], b.params[k])
    end
  end
  if ra.shard_key ~= rb.shard_key then
    return diff("the parameters or script arguments differ", short(ra.params_hash), short(rb.params_hash))
  end
  return nil
end

-- Merges the store files `inputs` into the new store `out`. opts: run (a
-- run id or name when a file holds several), force (replace out).
-- Returns { id, n_shards, n_rows, keys, script, args } or nil, err.
function M.merge(inputs, out, opts)
  opts = opts or {}
  if #inputs == 0 then return nil, "give the shards' store files" end
  if exists(out) then
    if not opts.force then return nil, out .. ": exists (pick a new file, or --force)" end
    os.remove(out)
    os.remove(out .. "-wal")
    os.remove(out .. "-shm")
  end
  local shards, by_index = {}, {}
  for k, path in ipairs(inputs) do
    for j = 1, k - 1 do
      if inputs[j] == path then return nil, path .. ": given twice" end
    end
    local s, err = shard_of(path, opts.run)
    if not s then return nil, err end
    if shards[1] then
      local why = mismatch(shards[1], s)
      if why then return nil, why end
    end
    for _, i in ipairs(s.shards) do
      if by_index[i] then
        return nil, string.format("shard %d/%d is in both %s and %s", i, s.row.shard_n, by_index[i].path, path)
      end
      by_index[i] = s
    end
    shards[#shards + 1] = s
  end
  local first = shards[1].row
  local n_shards, nrows = first.shard_n, first.nrows
  local missing = {}
  for i = 1, n_shards do if not by_index[i] then missing[#missing + 1] = tostring(i) end end
  if #missing > 0 then
    return nil, string.format("shard%s %s of %d %s missing", #missing > 1 and "s" or "",
      table.concat(missing, ", "), n_shards, #missing > 1 and "are" or "is")
  end
  table.sort(shards, function(a, b) return a.shards[1] < b.shards[1] end)
  local main = shards[1].row -- the merged run keeps shard 1's id and name

  local d, err = require("evalua.store").open(out)
  if not d then return nil, err end
  local ok, res = pcall(function()
    d:begin()
    d:run("INSERT OR IGNORE INTO experiments(name, created) VALUES (?, ?)", main.experiment,
      require("evalua.core").time())
    local eid = d:first("SELECT id FROM experiments WHERE name = ?", main.experiment).id
    d:run("INSERT INTO runs(id, name, experiment_id, status, start_time, script, script_hash, data_hash,"
      .. " params_hash, shard_key, shard_n, nrows, evalua_version, resumes) VALUES"
      .. " (?, ?, ?, 'RUNNING', ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)", main.id, main.name, eid, main.start_time,
      main.script, main.script_hash, main.data_hash, main.params_hash, main.shard_key, main.shard_n,
      main.nrows, main.evalua_version)
    d:commit()
    for k, s in ipairs(shards) do
      d:run("ATTACH DATABASE ? AS src", s.path)
      local id = s.row.id
      d:begin()
      -- a row stored by two files is refused (rows of one shard never overlap)
      local dup = d:first("SELECT c.key, c.row FROM src.cells c WHERE c.run_id = ? AND EXISTS"
        .. " (SELECT 1 FROM main.cells m WHERE m.run_id = ? AND m.key = c.key AND m.row = c.row)"
        .. " AND substr(c.key, 1, 1) <> '_' LIMIT 1", id, main.id)
      if dup then
        error(string.format("row %d of '%s' is in %s and in an earlier file", dup.row, dup.key, s.path), 0)
      end
      d:run("INSERT INTO main.cells(run_id, key, row, kind, value) SELECT ?, key, row, kind, value"
        .. " FROM src.cells WHERE run_id = ? AND substr(key, 1, 1) <> '_'", main.id, id)
      d:run("INSERT OR IGNORE INTO main.params(run_id, key, value) SELECT ?, key, value FROM src.params"
        .. " WHERE run_id = ?", main.id, id)
      d:run("INSERT OR IGNORE INTO main.tags(run_id, key, value) SELECT ?, key, value FROM src.tags"
        .. " WHERE run_id = ?", main.id, id)
      d:run("INSERT OR IGNORE INTO main.artifacts(run_id, name, mime, size, data, path, created)"
        .. " SELECT ?, name, mime, size, data, path, created FROM src.artifacts WHERE run_id = ?", main.id, id)
      -- each shard's requests and costs stay a part of their own; reading sums them
      d:run("INSERT OR REPLACE INTO main.accounting(run_id, part, data, updated) SELECT ?,"
        .. " 'merge" .. k .. ":' || part, data, updated FROM src.accounting WHERE run_id = ?", main.id, id)
      d:commit()
      d:run("DETACH DATABASE src")
    end
    -- a gap: a key some row has and another row lacks
    local keys = {}
    for _, r in ipairs(d:rows("SELECT key, count(*) AS n FROM cells WHERE run_id = ? GROUP BY key"
        .. " ORDER BY key", main.id)) do
      keys[#keys + 1] = r.key
      if nrows and r.n < nrows then
        local have = {}
        for _, c in ipairs(d:rows("SELECT row FROM cells WHERE run_id = ? AND key = ?", main.id, r.key)) do
          have[c.row] = true
        end
        local gaps = {}
        for i = 1, nrows do
          if not have[i] then
            gaps[#gaps + 1] = tostring(i)
            if #gaps == 5 then gaps[6] = "..." break end
          end
        end
        error(string.format("'%s' has %d of %d rows (missing rows %s): a shard did not finish;"
          .. " resume it (same command) and merge again", r.key, r.n, nrows, table.concat(gaps, ", ")), 0)
      end
    end
    return { id = main.id, name = main.name, n_shards = n_shards, n_rows = nrows, keys = keys,
      script = main.script, args = shards[1].tags["evalua.args"], experiment = main.experiment }
  end)
  if not ok then
    pcall(d.rollback, d)
    d:close()
    os.remove(out)
    return nil, tostring(res)
  end
  d:close()
  return res
end

local function self_exe()
  local p = io.popen("readlink /proc/" .. require("evalua.core").pid() .. "/exe 2>/dev/null")
  local exe = p and p:read("l")
  if p then p:close() end
  return exe ~= "" and exe or nil
end

-- The command that assembles a merged run (as a shell line).
function M.assemble_command(info, out, script)
  local parts = { q(self_exe() or "evalua"), "--store", q(out), "--shard", "1/" .. info.n_shards,
    "--offline", "--no-cache", q(script or info.script) }
  local ok, args = pcall(require("evalua.json").decode, info.args or "[]")
  if ok and type(args) == "table" then
    for _, a in ipairs(args) do parts[#parts + 1] = q(a) end
  end
  return table.concat(parts, " ")
end

local spec = { ["-o"] = "value", ["--output"] = "value", ["--run"] = "value", ["--force"] = "flag",
  ["--no-assemble"] = "flag", ["--script"] = "value", ["--help"] = "flag", ["-h"] = "flag" }

local usage_text = [[
usage: evalua runs merge SHARD.db [SHARD.db ...] -o RUN.db [--run ID] [--force]
                         [--no-assemble] [--script PATH]
Merges the store files of the shards of one run (--shard I/N --store FILE on
each machine) into RUN.db and assembles the run there by running its script
again as shard 1/N, offline: no request is sent, only the aggregates, the
result table and the gates are computed.]]

function M.main(args)
  local opts, pos = util.parse_args("runs merge", args, spec)
  if opts.help or opts.h then print(usage_text) return 0 end
  local out = opts.o or opts.output
  if not out then util.usage("runs merge: give the output store with -o RUN.db") end
  if #pos == 0 then util.usage("runs merge: give the shards' store files") end
  local info, err = M.merge(pos, out, { run = opts.run, force = opts.force })
  if not info then util.fail("runs merge: " .. err) end
  io.stderr:write(string.format("evalua: merged %d shards of run %s (%d rows, %d keys) into %s\n",
    info.n_shards, info.id:sub(1, 12), info.n_rows or 0, #info.keys, out))
  local script = opts.script or info.script
  local cmd = M.assemble_command(info, out, script)
  if opts.no_assemble then
    io.stderr:write("evalua: assemble it with: ", cmd, "\n")
    print(info.id)
    return 0
  end
  if not script or not exists(script) then
    util.fail(string.format("runs merge: cannot assemble: the run's script '%s' is not here"
      .. " (give it with --script PATH); the merged rows are in %s", tostring(script), out))
  end
  local ok, how, code = os.execute(cmd .. " >&2")
  if not ok then
    util.fail(string.format("runs merge: assembling failed (%s %s): %s", tostring(how), tostring(code), cmd))
  end
  print(info.id)
  return 0
end

return M
