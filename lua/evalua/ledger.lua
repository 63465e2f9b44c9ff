-- evalua.ledger: the state of every row of one evaluate call, over the run
-- store. For each key ("predictions", or a row metric's key such as
-- "quality/v1") it knows which rows are done, which failed and why, and
-- which are still to do; resume, --shard, re-asking failed rows and the
-- final assembly all read it. A failed row is never "done": a resumed or
-- re-run evaluate asks it again.
--
--   L = ledger.new{ run = run|nil, n = N, rows = {i, ...}|nil }
--       rows: the rows this process computes (a shard's), default 1..N
--   L:load(key [, judge])   reads the stored cells of key (for a metric,
--       only cells judged by `judge`, a hash of its model and prompt)
--   L:has(key, i)           whether row i has a usable value for key
--   L:todo(key)             this process's rows without a usable value
--   L:put(key, i, value, note, err, extra)   records one row: value
--       (prediction text or score), note (justification), err (why the row
--       failed; then value is nil), extra (a row metric's other values, e.g.
--       a pairwise judge's winner). Rows reach the store in small
--       transactions of FLUSH_ROWS rows, or sooner when the oldest pending
--       row is FLUSH_SECONDS old at the next put (one transaction per row
--       cost a fifth of a judged run's CPU), so a kill -9 loses at most
--       FLUSH_ROWS - 1 answers (they are asked again on resume); L:flush()
--       writes what is pending (evaluate calls it after each phase)
--   L:values(key), L:notes(key)   column lists (n = N), live: a pipeline
--       stage may bind to them before the rows exist
--   L:errors(key)           { [row] = reason }
--   L:failures(key)         count, { {row =, reason =}, ... first 3 }
--   L:complete(keys)        every row 1..N has a cell (done or failed) for
--       every key (a shard uses it to tell whether it assembles the run)
--   L:take_all(keys)        reloads keys from the store (the other shards'
--       rows) and makes this process own every row
-- Stored cells keep the run store's format: predictions as
-- { value =, error = }, metric rows as { score =, justification =,
-- failed =, judge =, extra = }.
local M = {}

local Ledger = {}
Ledger.__index = Ledger

local FLUSH_ROWS, FLUSH_SECONDS = 64, 0.1
M.FLUSH_ROWS, M.FLUSH_SECONDS = FLUSH_ROWS, FLUSH_SECONDS

function M.new(opts)
  local n = opts.n
  local rows = opts.rows
  if rows == nil then
    rows = {}
    for i = 1, n do rows[i] = i end
  end
  return setmetatable({ run = opts.run, n = n, rows = rows, keys = {}, pending = {}, npending = 0,
    clock = require("evalua.core").clock, since = nil }, Ledger)
end

local function state(self, key)
  local s = self.keys[key]
  if not s then
    s = { values = { n = self.n }, notes = { n = self.n }, extras = { n = self.n }, errors = {}, nerr = 0 }
    self.keys[key] = s
  end
  return s
end

local function set(s, i, value, note, err, extra)
  if s.errors[i] ~= nil then s.nerr = s.nerr - 1 end
  s.values[i], s.notes[i], s.extras[i] = value, note, extra
  if err ~= nil then
    s.errors[i] = err
    s.nerr = s.nerr + 1
  else
    s.errors[i] = nil
  end
end

-- one stored cell -> value, note, err, extra (nil when unusable)
local function decode(key, cell, judge)
  if type(cell) ~= "table" then return nil end
  if key == "predictions" then
    if cell.error ~= nil then return nil, nil, tostring(cell.error) end
    return cell.value
  end
  if judge ~= nil and cell.judge ~= judge then return nil end -- judged by another judge
  if cell.failed then return nil, nil, tostring(cell.justification or "failed"), cell.extra end
  return cell.score, cell.justification, nil, cell.extra
end

function Ledger:load(key, judge)
  local s = state(self, key)
  s.judge = judge
  if not (self.run and self.run.cells) then return end
  for i, cell in pairs(self.run:cells(key)) do
    local value, note, err, extra = decode(key, cell, judge)
    if value ~= nil or err ~= nil then set(s, i, value, note, err, extra) end
  end
end

function Ledger:has(key, i)
  local s = self.keys[key]
  return s ~= nil and s.values[i] ~= nil and s.errors[i] == nil
end

function Ledger:todo(key)
  local out = {}
  for _, i in ipairs(self.rows) do
    if not self:has(key, i) then out[#out + 1] = i end
  end
  return out
end

function Ledger:put(key, i, value, note, err, extra)
  local s = state(self, key)
  if value == nil and err == nil then err = "failed: no value" end
  set(s, i, value, note, err, extra)
  local run = self.run
  if run and run.put_cell then
    local cell
    if key == "predictions" then
      cell = { value = value, error = err }
    elseif err ~= nil then
      cell = { justification = err, failed = true, judge = s.judge, extra = extra }
    else
      cell = { score = value, justification = note, judge = s.judge, extra = extra }
    end
    local p = self.pending[key]
    if not p then p = {} self.pending[key] = p end
    if p[i] == nil then self.npending = self.npending + 1 end
    p[i] = cell
    local now = self.clock()
    self.since = self.since or now
    if self.npending >= FLUSH_ROWS or now - self.since >= FLUSH_SECONDS then self:flush() end
  end
end

function Ledger:flush()
  if self.npending == 0 then return end
  local pending = self.pending
  self.pending, self.npending, self.since = {}, 0, nil
  for key, cells in pairs(pending) do self.run:put_cells(key, cells) end
end

function Ledger:values(key) return state(self, key).values end

-- A row metric's other per-row values (score_row's third result).
function Ledger:extras(key) return state(self, key).extras end

-- Notes with each failed row's reason in its place (the justification
-- column of a judge shows why the row has no score).
function Ledger:notes(key)
  local s = state(self, key)
  for i, e in pairs(s.errors) do s.notes[i] = e end
  return s.notes
end

function Ledger:errors(key) return state(self, key).errors end

function Ledger:failures(key)
  local s = state(self, key)
  local rows = {}
  for i in pairs(s.errors) do rows[#rows + 1] = i end
  table.sort(rows)
  local first = {}
  for k = 1, math.min(3, #rows) do first[k] = { row = rows[k], reason = s.errors[rows[k]] } end
  return s.nerr, first
end

function Ledger:complete(keys)
  if not (self.run and self.run.cells) then return true end
  self:flush()
  for _, key in ipairs(keys) do
    local _, present = self.run:cells(key)
    for i = 1, self.n do
      if not (present or {})[i] then return false end
    end
  end
  return true
end

function Ledger:take_all(keys)
  self:flush()
  for _, key in ipairs(keys) do self:load(key, self.keys[key] and self.keys[key].judge) end
  self.rows = {}
  for i = 1, self.n do self.rows[i] = i end
end

return M
