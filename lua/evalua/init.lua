-- evalua: the library a script gets from require "evalua". Parts are loaded
-- on first use, so a script that only reads a table does not open the
-- store or the HTTP engine.
local M = {}

-- name -> module, or { module, field } for a function of a module
local parts = {
  config = "evalua.config", util = "evalua.util", sched = "evalua.sched",
  table = "evalua.table", http = "evalua.http", tokenize = "evalua.tokenize",
  text = "evalua.text", toxicity = "evalua.toxicity", store = "evalua.store",
  plot = "evalua.plot", metrics = "evalua.metrics", openai = "evalua.openai",
  anthropic = "evalua.anthropic", report = "evalua.report", cache = "evalua.cache",
  evaluate = { "evalua.evaluate", "evaluate" },
  set_experiment = { "evalua.tracking", "set_experiment" },
  start_run = { "evalua.tracking", "start_run" },
  end_run = { "evalua.tracking", "end_run" },
  active_run = { "evalua.tracking", "active_run" },
  log_param = { "evalua.tracking", "log_param" },
  log_metric = { "evalua.tracking", "log_metric" },
  log_table = { "evalua.tracking", "log_table" },
  log_artifact = { "evalua.tracking", "log_artifact" },
  stats = "evalua.stats",
  compare = { "evalua.compare", "compare" },
}

setmetatable(M, {
  __index = function(t, k)
    local mod = parts[k]
    if mod == nil then return nil end
    local v
    if type(mod) == "table" then v = require(mod[1])[mod[2]] else v = require(mod) end
    rawset(t, k, v)
    return v
  end,
})

-- Lets other modules add lazily loaded parts: evalua.register("plot", "evalua.plot").
function M._register(name, module)
  parts[name] = module
end

M.version = require("evalua.core").version

return M
