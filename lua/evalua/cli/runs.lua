-- evalua runs: browse, export and compare the runs in the run store.
--   evalua runs list [--experiment E] [--status S] [--limit N] [--json]
--   evalua runs show RUN [--json]
--   evalua runs export RUN --format csv|jsonl|mlflow-json [--table NAME] [-o FILE]
--   evalua runs compare A B [C ...] [--json] [--fail-on-regression]
--       [--min-effect X] [--resamples B] [--seed N] [--table NAME]
--   evalua runs push RUN [--mlflow URL] [--experiment NAME]
--   evalua runs delete RUN [RUN ...]
--   evalua runs merge SHARD.db [SHARD.db ...] -o RUN.db (evalua.merge)
-- RUN is a run id, a unique id prefix or a run name. --store PATH (here or
-- before `runs`) picks the store.
local M = {}

M.summary = "list, show, export and compare stored runs (list | show | export | compare | push | delete)"

local config = require "evalua.config"
local util = require "evalua.util"

local usage_text = [[
usage: evalua runs list [--experiment E] [--status S] [--limit N] [--json]
       evalua runs show RUN [--json]
       evalua runs export RUN --format csv|jsonl|mlflow-json [--table NAME] [-o FILE]
       evalua runs compare A B [C ...] [--json] [--fail-on-regression] [--min-effect X]
                           [--resamples B] [--seed N] [--table NAME]
       evalua runs push RUN [--mlflow URL] [--experiment NAME]   (to an MLflow tracking server)
       evalua runs delete RUN [RUN ...]
       evalua runs merge SHARD.db [SHARD.db ...] -o RUN.db   (shards run with separate stores)
RUN: a run id, a unique id prefix, or a run name
  --json                 the same data as JSON (list, show, compare)
  --store PATH           the run store (default ./evalua.db or $EVALUA_STORE)
  --format F             export format: csv, jsonl or mlflow-json
  --table NAME           the result table to export or compare (default eval_results_table)
  --fail-on-regression   compare: exit 1 when a metric got significantly worse
  --min-effect X         compare: the smallest difference that counts as a regression
  --resamples B, --seed N  compare: the paired bootstrap (default 2000 resamples, seed 42)
examples:
  evalua runs list --limit 5
  evalua runs show translation
  evalua runs compare gpt-4o gpt-4o-mini --fail-on-regression
  evalua runs export translation --format mlflow-json -o eval_results_table.json]]

local function tracking() return require "evalua.tracking" end

local function fmt_time(t)
  if not t then return "-" end
  return os.date("!%Y-%m-%d %H:%M:%S", math.floor(t))
end

local function fmt_duration(a, b)
  if not a or not b then return "-" end
  local s = b - a
  if s < 60 then return string.format("%.1fs", s) end
  if s < 3600 then return string.format("%dm%02ds", s // 60, math.floor(s % 60)) end
  return string.format("%dh%02dm", s // 3600, math.floor(s % 3600) // 60)
end

local function num(x)
  if x == nil then return "-" end
  if type(x) ~= "number" then return tostring(x) end
  if x ~= x then return "nan" end
  if math.type(x) == "integer" then return tostring(x) end
  return (string.format("%.4g", x))
end

local function signed(x)
  if x == nil then return "-" end
  if x ~= x then return "nan" end
  local s = num(x)
  if x > 0 then s = "+" .. s end
  return s
end

-- prints rows (lists of strings) as left-aligned columns
local function columns(rows, out)
  local w = {}
  for _, r in ipairs(rows) do
    for i, c in ipairs(r) do
      local n = utf8.len(c) or #c
      if not w[i] or n > w[i] then w[i] = n end
    end
  end
  for _, r in ipairs(rows) do
    local parts = {}
    for i, c in ipairs(r) do
      local pad = i < #r and string.rep(" ", w[i] - (utf8.len(c) or #c)) or ""
      parts[i] = c .. pad
    end
    out[#out + 1] = (table.concat(parts, "  "):gsub("%s+$", ""))
  end
end

local function one_line(s, max)
  s = tostring(s):gsub("[\r\n\t]+", " ")
  max = max or 80
  if (utf8.len(s) or #s) > max then
    local cut = utf8.offset(s, max - 2) or max - 2
    s = s:sub(1, cut - 1) .. "..."
  end
  return s
end

local function emit(text, path)
  if path and path ~= "-" then
    local ok, err = util.write_file(path, text)
    if not ok then util.fail("runs: cannot write '" .. path .. "': " .. tostring(err)) end
  else
    io.stdout:write(text)
  end
end

local function need_store()
  local t = tracking()
  local f = io.open(t.store_path(), "rb")
  if not f then
    util.usage(string.format("runs: no run store at '%s' (give --store PATH or set EVALUA_STORE)", t.store_path()))
  end
  f:close()
end

local function get(ref, cmd)
  need_store()
  local r, err = tracking().get_run(ref)
  if not r then util.fail_lookup("runs " .. cmd .. ": " .. err) end
  return r
end

-- ------------------------------------------------------------------ list

function M.list(opts)
  local t = tracking()
  local limit = opts.limit and math.tointeger(tonumber(opts.limit))
  if opts.limit and (not limit or limit < 1) then util.usage("runs list: --limit needs a positive integer") end
  local runs = t.list_runs{ experiment = opts.experiment, status = opts.status, limit = limit }
  if opts.json then
    emit(t.json_encode(runs, { strict = true }) .. "\n")
    return
  end
  if #runs == 0 then
    io.stderr:write("evalua: no runs", opts.experiment and (" in experiment '" .. opts.experiment .. "'") or "",
      " in ", t.store_path(), "\n")
    return
  end
  local rows = { { "ID", "NAME", "EXPERIMENT", "STATUS", "STARTED (UTC)", "DURATION", "ROWS" } }
  for _, r in ipairs(runs) do
    rows[#rows + 1] = { r.id:sub(1, 12), r.name, r.experiment,
      r.status .. (r.status_note and (" (" .. r.status_note .. ")") or ""), fmt_time(r.start_time):sub(1, 16),
      r.status == "RUNNING" and "-" or fmt_duration(r.start_time, r.end_time), r.n_rows and tostring(r.n_rows) or "-" }
  end
  local out = {}
  columns(rows, out)
  emit(table.concat(out, "\n") .. "\n")
end

-- ------------------------------------------------------------------ show

local function sorted(t)
  local k = {}
  for x in pairs(t) do k[#k + 1] = x end
  table.sort(k)
  return k
end

local function flatten(prefix, v, out)
  if type(v) == "table" then
    local keys = sorted(v)
    if #keys == 0 then return end
    local list = true
    for _, k in ipairs(keys) do if type(k) ~= "number" then list = false end end
    if list then
      local items = {}
      for _, k in ipairs(keys) do items[#items + 1] = tostring(v[k]) end
      out[#out + 1] = { prefix, table.concat(items, ", ") }
      return
    end
    for _, k in ipairs(keys) do
      flatten(prefix == "" and tostring(k) or (prefix .. "." .. tostring(k)), v[k], out)
    end
  else
    out[#out + 1] = { prefix, type(v) == "number" and num(v) or tostring(v) }
  end
end

local function money(x)
  if type(x) ~= "number" then return "-" end
  if x >= 0.01 or x == 0 then return string.format("$%.2f", x) end
  return string.format("$%.4f", x)
end

local function usage_line(e)
  local parts = { string.format("%d requests", e.requests or 0) }
  if (e.cache_hits or 0) > 0 then parts[#parts + 1] = string.format("%d cached", e.cache_hits) end
  if (e.failures or 0) > 0 then parts[#parts + 1] = string.format("%d failed", e.failures) end
  parts[#parts + 1] = string.format("%d prompt + %d completion tokens", e.prompt_tokens or 0, e.completion_tokens or 0)
  parts[#parts + 1] = money(e.cost_usd) .. (e.priced == false and " (unpriced)" or "")
  return table.concat(parts, ", ")
end

-- accounting as { label, text } pairs: evaluate's shape (totals and
-- models, see evalua.accounting) as one line each, anything else flattened
function M.accounting_lines(acc)
  local out = {}
  if type(acc.models) == "table" and acc.requests ~= nil then
    out[#out + 1] = { "total", usage_line(acc) }
    for _, name in ipairs(sorted(acc.models)) do out[#out + 1] = { name, usage_line(acc.models[name]) } end
    local dry = acc.dry_run
    if type(dry) == "table" and (dry.requests or 0) > 0 then
      out[#out + 1] = { "dry run", string.format("%d requests, ~%d prompt tokens, est. %s", dry.requests,
        dry.prompt_tokens or 0, money(dry.cost_usd)) }
    end
    local b = acc.batch -- evalua.batch (docs/scale.md)
    if type(b) == "table" and (b.batches or 0) + (b.resumed or 0) > 0 then
      out[#out + 1] = { "batch", string.format("%d batches, %d requests, %d retried, %d failed, %d resumed",
        b.batches or 0, b.requests or 0, b.retried or 0, b.failed or 0, b.resumed or 0) }
    end
    if type(acc.endpoints) == "table" then -- endpoint pools (evalua.pool)
      for _, url in ipairs(sorted(acc.endpoints)) do
        local e = acc.endpoints[url]
        out[#out + 1] = { url, string.format("%d requests, %d failed, %d ejections", e.requests or 0,
          e.failures or 0, e.ejections or 0) }
      end
    end
    return out
  end
  flatten("", acc, out)
  return out
end

function M.show(ref, opts)
  local t = tracking()
  local r = get(ref, "show")
  local errs, nerr = t.row_errors(r.info.id, 20)
  local failures = {}
  for k, v in pairs(r.metrics) do
    if (k:match("/failures$") or k == "failures") and v ~= 0 then failures[k] = v end
  end
  if opts.json then
    r.row_errors = errs
    r.row_error_count = nerr
    r.table_info = {}
    emit(t.json_encode(r, { strict = true }) .. "\n")
    return
  end
  local i = r.info
  local out = {}
  out[#out + 1] = string.format("run %s  %s", i.id, i.name)
  local info = {
    { "  experiment", i.experiment },
    { "  status", i.status .. (i.status_note == "stopped" and "  (its process is gone: rerun the script, or evalua run --resume " .. i.id:sub(1, 12) .. " SCRIPT)"
      or i.status_note and ("  (" .. i.status_note .. ")") or "") },
    { "  started", fmt_time(i.start_time) .. " UTC" },
    { "  ended", i.end_time and (fmt_time(i.end_time) .. " UTC (" .. fmt_duration(i.start_time, i.end_time) .. ")") or "-" },
  }
  if i.script then info[#info + 1] = { "  script", i.script .. (i.script_hash and ("  sha256 " .. i.script_hash:sub(1, 12)) or "") } end
  if i.data_hash then info[#info + 1] = { "  data", "sha256 " .. i.data_hash:sub(1, 12) } end
  if i.n_rows then info[#info + 1] = { "  rows", tostring(i.n_rows) } end
  if i.shard_n then info[#info + 1] = { "  shards", tostring(i.shard_n) } end
  if (i.resumes or 0) > 0 then info[#info + 1] = { "  resumed", tostring(i.resumes) .. " time(s)" } end
  info[#info + 1] = { "  evalua", i.evalua_version or "-" }
  columns(info, out)
  local function section(title, pairs_)
    if #pairs_ == 0 then return end
    out[#out + 1] = title
    local rows = {}
    for _, p in ipairs(pairs_) do rows[#rows + 1] = { "  " .. p[1], p[2] } end
    columns(rows, out)
  end
  local ps = {}
  -- parameters as a person reads them (names, not hashes: report.param_text)
  local param_text = require("evalua.report").param_text
  for _, k in ipairs(sorted(r.params)) do
    local shown = param_text(k, r.params[k])
    if type(shown) == "string" then shown = shown:gsub("\n", "; ") end
    ps[#ps + 1] = { k, one_line(shown, 100) }
  end
  section("params", ps)
  local ms = {}
  for _, k in ipairs(sorted(r.metrics)) do
    local g = r.greater_is_better[k]
    ms[#ms + 1] = { k, num(r.metrics[k]) .. (g == true and "  (higher is better)" or g == false and "  (lower is better)" or "") }
  end
  section("metrics", ms)
  section("accounting", M.accounting_lines(r.accounting))
  local ts = {}
  for _, tb in ipairs(t.tables(i.id)) do
    ts[#ts + 1] = { tb.name, string.format("%d rows, %d columns", tb.n_rows, #tb.columns) }
  end
  section("tables", ts)
  local as = {}
  for _, a in ipairs(r.artifacts) do as[#as + 1] = { a.name, string.format("%s, %d bytes", a.mime or "?", a.size or 0) } end
  section("artifacts", as)
  local ag = require("evalua.agreement").show_lines(t, i.id)
  if #ag > 0 then out[#out + 1] = "agreement" for _, l in ipairs(ag) do out[#out + 1] = l end end
  local jp = require("evalua.judge_prompts").load(i.id)
  if jp and #jp > 0 then
    out[#out + 1] = "judge prompts"
    for line in (require("evalua.judge_prompts").text(jp) .. "\n"):gmatch("(.-)\n") do out[#out + 1] = "  " .. line end
  end
  local pw = require("evalua.metrics.pairwise").show_lines(t, i.id)
  if #pw > 0 then out[#out + 1] = "pairwise" for _, l in ipairs(pw) do out[#out + 1] = l end end
  local fs = {}
  for _, k in ipairs(sorted(failures)) do fs[#fs + 1] = { k, num(failures[k]) } end
  for _, e in ipairs(errs) do fs[#fs + 1] = { string.format("row %d", e.row), e.key .. ": " .. one_line(e.error, 100) } end
  if nerr > #errs then fs[#fs + 1] = { "...", string.format("%d more rows with errors", nerr - #errs) } end
  section("failures", fs)
  emit(table.concat(out, "\n") .. "\n")
end

-- ---------------------------------------------------------------- export

-- The export text of a loaded table (evalua.export, shared with mlflow push).
M.export_text = require("evalua.export").text

function M.export(ref, opts)
  if not opts.format then util.usage("runs export: --format csv|jsonl|mlflow-json is required") end
  local fmt = opts.format
  if fmt ~= "csv" and fmt ~= "jsonl" and fmt ~= "mlflow-json" then
    util.usage("runs export: --format must be csv, jsonl or mlflow-json, got '" .. fmt .. "'")
  end
  local r = get(ref, "export")
  local name = opts.table or "eval_results_table"
  local tc, err = tracking().load_table_columns(r.info.id, name)
  if not tc then
    util.fail("runs export: " .. err .. (#r.tables > 0 and (" (tables: " .. table.concat(r.tables, ", ") .. ")") or ""))
  end
  emit(M.export_text(tc, fmt), opts.o or opts.output)
end

-- --------------------------------------------------------------- compare

local letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

function M.compare_text(cmp)
  local out = {}
  local L = function(j) return letters:sub(j, j) end
  out[#out + 1] = "runs (baseline first):"
  local rows = {}
  for j, r in ipairs(cmp.runs) do
    rows[#rows + 1] = { "  " .. L(j), r.id:sub(1, 12), r.name, r.experiment, r.status, fmt_time(r.start_time):sub(1, 16) }
  end
  columns(rows, out)
  for j = 2, #cmp.runs do
    local p = cmp.pairing[j]
    if p then
      out[#out + 1] = string.format("paired rows %s-A: %d (%s)", L(j), p.n, p.method)
    else
      out[#out + 1] = string.format("paired rows %s-A: none (a run has no per-row table)", L(j))
    end
  end
  out[#out + 1] = ""
  local pct = math.floor(cmp.level * 100 + 0.5)
  local head = { "METRIC" }
  for j = 1, #cmp.runs do head[#head + 1] = L(j) end
  for j = 2, #cmp.runs do
    head[#head + 1] = L(j) .. "-A"
    head[#head + 1] = string.format("%d%% CI", pct)
    head[#head + 1] = ""
  end
  local t = { head }
  for _, m in ipairs(cmp.metrics) do
    local row = { m.key }
    for j = 1, #cmp.runs do row[#row + 1] = num(m.values[j]) end
    for j = 2, #cmp.runs do
      local d = m.diffs[j]
      local ci = m.ci[j]
      row[#row + 1] = signed(d)
      row[#row + 1] = ci and string.format("[%s, %s]", signed(ci.lo), signed(ci.hi)) or "-"
      local verdict = ""
      if ci and (ci.lo > 0 or ci.hi < 0) then
        if m.greater_is_better == nil then verdict = "differs"
        elseif (ci.lo > 0) == m.greater_is_better then verdict = "better"
        else verdict = "worse" end
      end
      row[#row + 1] = verdict
    end
    t[#t + 1] = row
  end
  columns(t, out)
  out[#out + 1] = string.format("(paired bootstrap over shared rows, %d resamples, seed %d)", cmp.resamples, cmp.seed)
  for j = 2, #cmp.runs do
    local fl = cmp.flips[j] or {}
    if #fl > 0 then
      out[#out + 1] = ""
      out[#out + 1] = string.format("score flips %s vs A:", L(j))
      for _, f in ipairs(fl) do
        local bw = f.better and string.format(" (%d better, %d worse)", f.better, f.worse) or ""
        out[#out + 1] = string.format("  %s: %d up, %d down, %d same%s", f.column, f.up, f.down, f.same, bw)
        for k, x in ipairs(f.rows) do
          if k > 10 then
            out[#out + 1] = string.format("    ... %d more", #f.rows - 10)
            break
          end
          local where = x.row_a == x.row_b and string.format("row %d", x.row_a) or string.format("row %d/%d", x.row_a, x.row_b)
          out[#out + 1] = string.format("    %s: %s -> %s%s", where, num(x.a), num(x.b),
            x.input and ("  " .. one_line(x.input, 60)) or "")
        end
      end
    end
  end
  return table.concat(out, "\n") .. "\n"
end

function M.compare(refs, opts)
  if #refs < 2 then util.usage("runs compare: give at least two runs (the baseline first)") end
  need_store()
  local stats = require "evalua.stats"
  local B = opts.resamples and math.tointeger(tonumber(opts.resamples))
  if opts.resamples and (not B or B < 1) then util.usage("runs compare: --resamples needs a positive integer") end
  local seed = opts.seed and math.tointeger(tonumber(opts.seed))
  if opts.seed and not seed then util.usage("runs compare: --seed needs an integer") end
  local min_effect = config.min_effect or 0
  if opts.min_effect then
    min_effect = tonumber(opts.min_effect)
    if not min_effect then util.usage("runs compare: --min-effect needs a number") end
  end
  local cmp, err = stats.compare(refs, { resamples = B, seed = seed, table = opts.table })
  if not cmp then util.fail_lookup("runs compare: " .. err) end
  if opts.json then
    emit(tracking().json_encode(cmp, { strict = true }) .. "\n")
  else
    emit(M.compare_text(cmp))
  end
  if opts.fail_on_regression then
    local gates = require "evalua.gates"
    local failed = 0
    for j = 2, #cmp.runs do
      for _, m in ipairs(gates.regression_messages(cmp, j, min_effect)) do
        io.stderr:write("evalua: gate failed: ", m, "\n")
        failed = failed + 1
      end
    end
    if failed > 0 then return 1 end
  end
end

-- ---------------------------------------------------------------- delete

function M.delete(refs)
  if #refs == 0 then util.usage("runs delete: give the runs to delete") end
  need_store()
  local t = tracking()
  -- resolve every reference first: nothing is deleted when one is wrong
  local ids = {}
  for i, ref in ipairs(refs) do
    local id, err = t.resolve(ref)
    if not id then util.fail_lookup("runs delete: " .. err) end
    ids[i] = id
  end
  for _, id in ipairs(ids) do
    local name = t.get_run(id).info.name
    local ok, err = t.delete_run(id)
    if not ok then util.fail("runs delete: " .. err) end
    print(string.format("deleted run %s (%s)", name, id:sub(1, 12)))
  end
end

-- ------------------------------------------------------------------ push

function M.push(ref, opts)
  local url = opts.mlflow or os.getenv("MLFLOW_TRACKING_URI")
  if not url or url == "" then
    util.usage("runs push: give the tracking server with --mlflow URL (or set MLFLOW_TRACKING_URI)")
  end
  need_store()
  local res, err = require("evalua.mlflow").push(ref, { url = url, experiment = opts.experiment })
  if not res then util.fail_lookup("runs " .. err) end
  local r = tracking().get_run(ref)
  print(string.format("pushed run %s (%s) to %s as MLflow run %s in experiment %s, %d artifact(s)",
    r.info.name, r.info.id:sub(1, 12), url, res.run_id, tostring(res.experiment_id), res.artifacts))
  if res.skipped_artifacts then
    io.stderr:write("evalua: warning: runs push: artifacts not uploaded: ", res.skipped_artifacts, "\n")
  end
end

-- ------------------------------------------------------------------ main

local spec = {
  ["--experiment"] = "value", ["--status"] = "value", ["--limit"] = "value", ["--json"] = "flag",
  ["--format"] = "value", ["--table"] = "value", ["-o"] = "value", ["--output"] = "value",
  ["--fail-on-regression"] = "flag", ["--min-effect"] = "value", ["--resamples"] = "value",
  ["--seed"] = "value", ["--store"] = "value", ["--help"] = "flag", ["-h"] = "flag",
  ["--mlflow"] = "value",
}

function M.main(args)
  if args[1] == "merge" then return require("evalua.merge").main({ table.unpack(args, 2) }) end
  local opts, pos = util.parse_args("runs", args, spec)
  if opts.help or opts.h then
    print(usage_text)
    return 0
  end
  if opts.store then config.store_path = opts.store end
  local cmd = pos[1] or "list"
  local rest = { table.unpack(pos, 2) }
  if cmd == "list" then
    if #rest > 0 then util.usage("runs list: unexpected argument '" .. rest[1] .. "'") end
    return M.list(opts)
  elseif cmd == "show" then
    if #rest ~= 1 then util.usage("runs show: give one run") end
    return M.show(rest[1], opts)
  elseif cmd == "export" then
    if #rest ~= 1 then util.usage("runs export: give one run") end
    return M.export(rest[1], opts)
  elseif cmd == "compare" then
    return M.compare(rest, opts)
  elseif cmd == "delete" then
    return M.delete(rest)
  elseif cmd == "push" then
    if #rest ~= 1 then util.usage("runs push: give one run") end
    return M.push(rest[1], opts)
  end
  util.usage("runs: unknown command '" .. cmd .. "' (list, show, export, compare, push, delete)")
end

return M
