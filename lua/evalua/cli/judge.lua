-- evalua judge --print-prompt SCRIPT.lua [--row N | --all] [args]: runs an
-- eval script in a dry mode and prints, for the chosen row, the exact prompt
-- every judge metric would send. Nothing is sent: the model's output is its
-- cached answer when the response cache has one (as --offline replays it),
-- else the prediction a stored run of the same data and model made, else a
-- visible placeholder. The script's own effects are switched off: no
-- file is written, nothing it prints reaches the terminal, no run is stored,
-- no command is started.
local util = require "evalua.util"

local M = { summary = "print the exact judge prompts of a script for one row (sending no request); agreement of judges with human labels (--labels)" }

local USAGE = [[
usage: evalua judge --print-prompt SCRIPT.lua [--row N | --all] [args] [-- args]
  --print-prompt  print the judge prompts the script would send (required)
  --row N         the row to print (default 1; an error when the data has fewer rows)
  --all           every row
  args            the script's own arguments (arg[1], ...); after "--" even
                  the ones that look like the flags above
No model or judge request is sent. Where the prompt holds the model's output,
the cached answer is used when the response cache has one, else the output a
stored run of the same data and model made; otherwise the output is the
placeholder ]] .. "<model output of row N: not cached, not sent>" .. [[.
The script runs with its effects switched off: it writes no file, prints
nothing, stores no run and starts no command.
Agreement with people: evalua judge --labels DATA --human COL A.lua [B.lua]
  (see evalua judge --labels --help)
examples:
  evalua judge --print-prompt scripts/translation.lua
  evalua judge --print-prompt scripts/rag_faithfulness.lua --row 3]]

-- The placeholder standing for a model output nobody asked the model for.
function M.placeholder(row)
  return string.format("<model output of row %d: not cached, not sent>", row)
end

-- The predictions the newest stored run of the same data and the same
-- model has (row -> text), read from the run store; {} when there is none.
local function stored_predictions(ctx)
  if not (ctx and ctx.data_hash and ctx.params and ctx.params.model) then return {} end
  local ok, out = pcall(function()
    local tracking = require "evalua.tracking"
    for _, info in ipairs(tracking.list_runs { limit = 200 }) do
      if info.data_hash == ctx.data_hash then
        local r = tracking.get_run(info.id)
        if r and r.params.model == tostring(ctx.params.model) then
          local found = {}
          for i, c in pairs(tracking.load_cells(info.id, "predictions") or {}) do
            if type(c) == "table" and c.value ~= nil and c.error == nil then found[i] = c.value end
          end
          if next(found) then return found end
        end
      end
    end
    return {}
  end)
  return ok and out or {}
end

-- What stands in for the model's output of row i under --print-prompt when
-- the cache has none: a stored run's prediction, else the placeholder.
local stored_for = setmetatable({}, { __mode = "k" })
function M.stand_in(i, ctx)
  local stored = stored_for[ctx or M] or stored_predictions(ctx)
  stored_for[ctx or M] = stored
  return stored[i] or M.placeholder(i)
end

-- evaluate's hook under --print-prompt: the model was asked offline (the
-- response cache only); a row it could not answer takes the prediction a
-- stored run of the same data and model has, else the placeholder.
-- Returns predictions and no errors.
function M.fill_predictions(ok, preds, errs, rows, ctx)
  if not ok or type(preds) ~= "table" then preds, errs = { n = #rows }, {} end
  local stored
  for k, i in ipairs(rows) do
    if preds[k] == nil or (errs and errs[k] ~= nil) then
      stored = stored or stored_predictions(ctx)
      preds[k] = stored[i] or M.placeholder(i)
    end
  end
  preds.n = #rows
  return preds, {}
end

local function noop_true() return true end

-- Switches off what a script could do to the world; returns a function that
-- switches it back on. Writes go to /dev/null, so a script that checks what
-- io.open returned carries on.
local function quarantine(real_stdout)
  local saved = {}
  local function patch(t, k, v)
    saved[#saved + 1] = { t, k, t[k] }
    t[k] = v
  end
  local devnull = assert(io.open("/dev/null", "w"))
  local real_open = io.open
  patch(_G, "print", function() end)
  patch(io, "open", function(path, mode)
    if mode and mode:find("[wa+]") then return real_open("/dev/null", "w") end
    return real_open(path, mode)
  end)
  patch(io, "stdout", devnull)
  patch(io, "popen", function() return nil, "judge --print-prompt: commands are not run" end)
  patch(os, "execute", function() return nil, "exit", 1 end)
  patch(os, "remove", noop_true)
  patch(os, "rename", noop_true)
  patch(os, "exit", function() error({ print_prompt_exit = true }, 0) end)
  local lfs = require "lfs"
  for _, k in ipairs { "mkdir", "rmdir", "touch", "link" } do patch(lfs, k, noop_true) end
  -- evalua's own writers: tables, charts, reports
  local probe = require("evalua.table").from { x = { 1 } }
  local mt = getmetatable(probe)
  local methods = type(mt) == "table" and (type(mt.__index) == "table" and mt.__index or mt) or nil
  if methods then
    for _, k in ipairs { "write", "write_csv", "write_jsonl", "write_json" } do
      if methods[k] then patch(methods, k, function(_, path) return path or true end) end
    end
  end
  local plot = require "evalua.plot"
  for _, k in ipairs { "gauges", "histogram", "compare" } do
    patch(plot, k, function(opts) return type(opts) == "table" and opts.file or nil end)
  end
  patch(require("evalua.report"), "write", function(path) return path end)
  local prev_output = io.output()
  io.output(devnull)
  return function()
    io.output(prev_output == real_stdout and real_stdout or prev_output)
    for k = #saved, 1, -1 do
      local s = saved[k]
      s[1][s[2]] = s[3]
    end
    devnull:close()
  end
end

function M.main(args)
  -- evalua judge --labels: judges' agreement with people (cli/judge_labels.lua)
  for _, x in ipairs(args) do
    if x == "--labels" then return require("evalua.cli.judge_labels").main(args) end
  end
  if util.help(args, USAGE) then return 0 end
  local row, script, rest = 1, nil, {}
  local print_prompt = false
  local i = 1
  while i <= #args do
    local a = args[i]
    if a == "--" then
      for j = i + 1, #args do rest[#rest + 1] = args[j] end
      break
    elseif a == "--print-prompt" then print_prompt = true
    elseif a == "--row" then
      i = i + 1
      row = math.tointeger(tonumber(args[i] or ""))
      if not row or row < 1 then util.usage("judge: --row needs a positive integer, got '" .. tostring(args[i]) .. "'") end
    elseif a == "--all" then row = nil
    elseif script then rest[#rest + 1] = a -- the script's own arguments
    elseif a:sub(1, 1) == "-" then util.usage("judge: unknown option '" .. a .. "' (see evalua judge --help)")
    else script = a end
    i = i + 1
  end
  if not print_prompt then util.usage("judge: give --print-prompt (see evalua judge --help)") end
  if not script then util.usage("judge: a script is required (see evalua judge --help)") end
  local fh = io.open(script, "rb")
  if not fh then util.usage("judge: cannot open '" .. script .. "'") end
  fh:close()
  local chunk, err = loadfile(script)
  if not chunk then util.usage("judge: " .. tostring(err)) end

  local config = require "evalua.config"
  config.quiet = true
  config.no_store = true -- nothing is judged, so no run is stored
  config.offline = true  -- the model's output comes from the cache, or is a placeholder
  config.print_prompt = { rows = 0 }
  -- a cache file that is not there has nothing to replay: do not create it
  local cache = require "evalua.cache"
  if cache.enabled() and not io.open(cache.path(), "rb") then config.cache = false end
  local genai = require "evalua.metrics.genai"
  local out = io.stdout
  local printed, seen = 0, 0
  genai.prompt_sink = function(name, r, prompt)
    seen = seen + 1
    if row == nil or r == row then
      out:write(string.format("===== %s, row %d =====\n", name, r), prompt, "\n")
      printed = printed + 1
    end
  end
  _G.arg = { [0] = script, table.unpack(rest) }
  local restore = quarantine(out)
  local ok, e = pcall(chunk, table.unpack(rest))
  restore()
  genai.prompt_sink = nil
  local n_rows = config.print_prompt.rows
  config.print_prompt = nil
  out:flush()
  if not ok and not (type(e) == "table" and e.print_prompt_exit) and printed == 0 then
    -- an error after the prompts were printed is the dry mode's doing (NaN
    -- metrics, missing files); before, it is the script's
    if type(e) == "table" and e.msg then error(e, 0) end
    util.fail("judge: " .. tostring(e):match("^[^\n]*"))
  end
  if row and printed == 0 and n_rows > 0 and row > n_rows then
    util.usage(string.format("judge: --row %d is out of range: the data has %d row%s", row, n_rows,
      n_rows == 1 and "" or "s"))
  end
  if printed == 0 then
    util.fail("judge: no judge prompt was built" .. (row and (" for row " .. row) or "")
      .. (seen == 0 and " (does the script evaluate a judge metric?)" or ""))
  end
  return 0
end

return M
