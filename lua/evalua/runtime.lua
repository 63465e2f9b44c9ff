-- evalua.runtime: what happens when a script or command ends. Modules
-- register work with at_finish (close the active run, print the summary,
-- check the CI gates); engine/main.c calls finish once.
local M = {}

local hooks = {}

-- Registers fn(ok, code) -> exit code or nil, run at the end in order of
-- registration.
function M.at_finish(fn)
  hooks[#hooks + 1] = fn
end

-- Runs every hook; a hook error is reported and makes the exit code 1.
-- Returns the largest exit code asked for.
function M.finish(ok, code)
  code = code or 0
  -- the gates and --resume live in the run store: load it when they are asked for
  local config = require "evalua.config"
  if (config.fail_under and #config.fail_under > 0) or config.fail_on_regression or config.resume then
    require "evalua.tracking" -- registers its at_finish hooks; a broken store is an error
  end
  for _, fn in ipairs(hooks) do
    local hok, res = xpcall(fn, debug.traceback, ok, code)
    if not hok then
      if type(res) == "table" and res.msg then
        io.stderr:write("evalua: ", res.msg, "\n")
        res = res.code or 1
      else
        io.stderr:write("evalua: ", tostring(res), "\n")
        res = 1
      end
    end
    if type(res) == "number" and res > code then code = res end
  end
  hooks = {}
  return code
end

return M
