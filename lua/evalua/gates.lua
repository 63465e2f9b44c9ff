-- evalua.gates: CI gates. --fail-under METRIC=VALUE (config.fail_under, a
-- list of {metric, value}) and --fail-on-regression BASELINE
-- (config.fail_on_regression, with config.min_effect). Checked when the
-- script ends (tracking's at_finish hook calls at_finish) against the run
-- the script used last; also used by `evalua runs compare
-- --fail-on-regression`. A failed gate prints one line per failure on
-- stderr, "evalua: gate failed: <metric> ...", and makes the exit code 1.
local M = {}

local config = require "evalua.config"

local function num(x)
  if x ~= x then return "nan" end
  if math.type(x) == "integer" then return tostring(x) end
  return (string.format("%.6g", x))
end
M.num = num

-- Failures of fail_under ({ {metric, value}, ... }) against a metrics map:
-- a list of messages (without the "evalua: gate failed: " prefix).
function M.check_fail_under(metrics, fail_under, run_label)
  local out = {}
  for _, g in ipairs(fail_under or {}) do
    local key, want = g[1] or g.metric, g[2] or g.value
    local v = metrics[key]
    if v == nil then
      local near = {}
      for k in pairs(metrics) do
        if k:find(key, 1, true) or key:find(k, 1, true) then near[#near + 1] = k end
      end
      table.sort(near)
      out[#out + 1] = string.format("%s: no such metric in run %s%s", key, run_label or "?",
        #near > 0 and (" (did you mean " .. table.concat(near, ", ") .. "?)") or "")
    elseif v ~= v then
      out[#out + 1] = string.format("%s = nan (no row was scored) < %s", key, num(want))
    elseif v < want then
      out[#out + 1] = string.format("%s = %s < %s", key, num(v), num(want))
    end
  end
  return out
end

-- Messages for the regressions of run j against run 1 of a comparison
-- (evalua.stats.compare).
function M.regression_messages(cmp, j, min_effect)
  local stats = require "evalua.stats"
  local out = {}
  for _, r in ipairs(stats.regressions(cmp, j, min_effect)) do
    out[#out + 1] = string.format("%s regressed: %s -> %s (difference %s, %d%% CI [%s, %s] over %d rows) against %s",
      r.key, num(r.baseline or 0 / 0), num(r.value or 0 / 0), num(r.ci.mean),
      math.floor(cmp.level * 100 + 0.5), num(r.ci.lo), num(r.ci.hi), r.ci.n,
      cmp.runs[1].name .. " (" .. cmp.runs[1].id:sub(1, 8) .. ")")
  end
  return out
end

local function report(msgs)
  for _, m in ipairs(msgs) do io.stderr:write("evalua: gate failed: ", m, "\n") end
  return #msgs > 0 and 1 or nil
end

-- Checks the configured gates against run ref; returns the failure messages.
function M.check(ref)
  local tracking = require "evalua.tracking"
  local msgs = {}
  local r, err = tracking.get_run(ref)
  if not r then return { err } end
  local label = r.info.name .. " (" .. r.info.id:sub(1, 8) .. ")"
  for _, m in ipairs(M.check_fail_under(r.metrics, config.fail_under, label)) do msgs[#msgs + 1] = m end
  if config.fail_on_regression then
    local stats = require "evalua.stats"
    local cmp, cerr = stats.compare({ config.fail_on_regression, r.info.id })
    if not cmp then
      msgs[#msgs + 1] = "--fail-on-regression: " .. tostring(cerr)
    else
      for _, m in ipairs(M.regression_messages(cmp, 2, config.min_effect)) do msgs[#msgs + 1] = m end
    end
  end
  return msgs
end

function M.configured()
  return (type(config.fail_under) == "table" and #config.fail_under > 0)
    or config.fail_on_regression ~= nil
end

-- The at_finish check: nothing unless a gate is configured and the script
-- succeeded (a failed script already exits 1). Returns 1 when a gate fails.
function M.at_finish(ok)
  if not ok or not M.configured() then return nil end
  local tracking = require "evalua.tracking"
  local id, partial = tracking.last_run_id()
  if not id then return report({ "no run was recorded by this script, so no metric can be checked" }) end
  if partial then
    if not config.quiet then
      io.stderr:write("evalua: gates not checked: this shard left run ", id:sub(1, 12),
        " to the shard that finishes last, which checks them\n")
    end
    return nil
  end
  return report(M.check(id))
end

return M
