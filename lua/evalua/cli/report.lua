-- evalua report: one self-contained HTML page for a stored run (metrics,
-- plots, the per-row table), or for two runs compared.
local util = require "evalua.util"

local M = { summary = "an HTML report of a run, or of two runs compared: evalua report RUN [RUN_B] [-o FILE]" }

local USAGE = [[
usage: evalua report RUN [-o report.html]        one run
       evalua report RUN_A RUN_B [-o FILE]       run B compared with run A
  RUN        a run id, a unique prefix of one, or a run name (its newest run)
  -o FILE    where to write the page (default report.html; report-compare.html for two)
  --no-plots leave the charts out
  --max-rows N  show at most N rows of the run's table or of the flips (default 5000; 0 = all)
  --store    the run store (as the global --store flag)
examples:
  evalua report translation -o translation.html
  evalua report gpt-4o gpt-4o-mini -o compare.html]]

-- Loads a run and its results table through the store's reading API.
local function load(tracking, ref)
  local run, err = tracking.get_run(ref)
  if not run then util.fail_lookup("report: " .. tostring(err)) end
  local has = false
  for _, name in ipairs(run.tables or {}) do
    if name == "eval_results_table" then has = true end
  end
  if has then
    local t, terr = tracking.load_table_columns(run.info.id, "eval_results_table")
    if not t then util.fail("report: " .. tostring(terr)) end
    run.table = t
  end
  run.judge_prompts = require("evalua.judge_prompts").load(run.info.id)
  return run
end

function M.main(args)
  if util.help(args, USAGE) then return 0 end
  local opts, pos = util.parse_args("report", args, {
    ["-o"] = "value", ["--out"] = "value", ["--no-plots"] = "flag", ["--store"] = "value", ["--max-rows"] = "value",
    ["-h"] = "flag", ["--help"] = "flag",
  })
  if opts.h or opts.help then
    print(USAGE)
    return 0
  end
  if #pos < 1 or #pos > 2 then util.usage("report: expected one run id or two (see evalua report --help)") end
  if opts.store then require("evalua.config").store_path = opts.store end
  local tracking = require "evalua.tracking"
  local report = require "evalua.report"
  local max_rows
  if opts.max_rows then
    max_rows = math.tointeger(tonumber(opts.max_rows))
    if not max_rows or max_rows < 0 then
      util.usage(string.format("report: --max-rows must be a whole number >= 0, got '%s'", opts.max_rows))
    end
  end
  local out = opts.o or opts.out or (#pos == 2 and "report-compare.html" or "report.html")
  local html
  if #pos == 1 then
    html = report.run(load(tracking, pos[1]), { plots = not opts.no_plots, max_rows = max_rows })
  else
    html = report.compare(load(tracking, pos[1]), load(tracking, pos[2]), { plots = not opts.no_plots, max_rows = max_rows })
  end
  local ok, err = util.write_file(out, html)
  if not ok then util.fail(string.format("report: cannot write '%s': %s", out, tostring(err))) end
  if not require("evalua.config").quiet then io.stderr:write("evalua: wrote ", out, "\n") end
  return 0
end

return M
