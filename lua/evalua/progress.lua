-- evalua.progress: the labels of evaluate's progress line. The line itself
-- (req/s, in flight, retries, failures, tokens, ETA) is drawn by the
-- scheduler (engine/lsched.c) on a TTY, and as one summary line at the end
-- otherwise; this module tells it what the rows are doing:
--   predict 523/1000 · judge fluency 210/1000 · fidelity 198/1000
-- --quiet silences both.
local M = {}

local Progress = {}
Progress.__index = Progress

local function short(key)
  return (key:gsub("/v%d+$", ""))
end

-- start(plan, ledger, predict_label, metrics) -> progress object with
-- :tick(key) (one more row of key done) and :finish().
function M.start(plan, L, predict_label, metric_list)
  local self = setmetatable({ counts = {}, order = {}, names = {}, sched = require "evalua.sched" }, Progress)
  local function add(key, name)
    self.order[#self.order + 1] = key
    self.names[key] = name
    local done = 0
    for i = 1, plan.n do if L:has(key, i) then done = done + 1 end end
    self.counts[key] = done
  end
  if predict_label then add("predictions", "predict") end
  for k, m in ipairs(metric_list) do
    add(m.key, (k == 1 and "judge " or "") .. short(m.key))
  end
  self.n = plan.n
  self:draw()
  return self
end

function Progress:label()
  local parts = {}
  for _, key in ipairs(self.order) do
    parts[#parts + 1] = string.format("%s %d/%d", self.names[key], self.counts[key], self.n)
  end
  return table.concat(parts, " \u{b7} ")
end

-- The label is handed over on every tick (a short string): the line's
-- final summary, drawn when the rows' map ends, then has the last counts.
function Progress:draw()
  self.sched.progress_label(self:label())
end

function Progress:tick(key)
  local c = self.counts[key]
  if c then self.counts[key] = c + 1 end
  self:draw()
end

function Progress:finish()
  self.sched.progress_label(nil)
end

return M
