-- evalua.sched: tasks. map(n, fn, opts) runs fn(i) for i = 1..n and returns
-- results, errors (lists indexed 1..n). This first version runs items one
-- after another; the HTTP scheduler replaces it with concurrent tasks.
local M = {}

local depth = 0

function M.in_task()
  return depth > 0
end

function M.map(n, fn, opts)
  local results, errors = {}, {}
  depth = depth + 1
  for i = 1, n do
    local ok, res = xpcall(fn, debug.traceback, i)
    if ok then results[i] = res else errors[i] = tostring(res) end
  end
  depth = depth - 1
  return results, errors
end

return M
