-- evalua.sched: tasks. map(n, fn, opts) runs fn(i) for i = 1..n as tasks
-- (coroutines) driven by the one HTTP loop of evalua.http, and returns
-- results, errors (lists indexed 1..n; a failed item has results[i] == nil
-- and errors[i] a message with a traceback). See docs/http.md. The
-- primitives are C (engine/lsched.c, evalua.sched_core); this file adds the
-- defaults and the coroutine helpers. It changes no global.
local core = require "evalua.sched_core"
local http = require "evalua.http"
local config = require "evalua.config"

local M = {}

local SENTINEL = core.sentinel
local forwarders = core.forwarders
local co_create, co_resume, co_yield, co_status, co_close =
  coroutine.create, coroutine.resume, coroutine.yield, coroutine.status, coroutine.close

-- A task's own coroutines resumed through sched.resume / sched.wrap may
-- wait: when the engine makes such a coroutine wait (it yields the
-- sentinel), the wait is passed on to the task's scheduler and the answer
-- handed back in (cqueues style). A wait inside a coroutine resumed with
-- the plain coroutine.resume raises a message that names these.
local function forward(co, ok, first, ...)
  if ok and first == SENTINEL and co_status(co) == "suspended" then
    return forward(co, co_resume(co, co_yield(SENTINEL)))
  end
  return ok, first, ...
end

local function resume(co, ...)
  if (...) == SENTINEL then
    return false, "cannot resume a coroutine with the scheduler's sentinel"
  end
  forwarders[co] = true
  return forward(co, co_resume(co, ...))
end

local function wrap_result(co, ok, ...)
  if ok then return ... end
  if co_status(co) == "dead" then co_close(co) end
  error((...), 0)
end

local function wrap(fn)
  local co = co_create(fn)
  return function(...) return wrap_result(co, resume(co, ...)) end
end

-- coroutine.resume and coroutine.wrap that let the coroutine wait for
-- requests (and pass every other yield through untouched).
M.resume = resume
M.wrap = wrap

-- The plain ones, for code that wants to see every yield.
M.raw = { resume = co_resume, yield = co_yield }

-- Runs fn(i) for i = 1..n as tasks, at most opts.limit (default
-- config.concurrency) alive at once; inside a task the map shares the
-- task's loop. opts.progress = false silences the progress display of a
-- top-level map (config.quiet silences all).
function M.map(n, fn, opts)
  if math.type(n) ~= "integer" then
    if type(n) == "number" and n == math.floor(n) then n = math.tointeger(n)
    else error("sched.map: count must be an integer (got " .. tostring(n) .. ")", 2) end
  end
  if type(fn) ~= "function" then
    error("sched.map: expected a function (got " .. type(fn) .. ")", 2)
  end
  opts = opts or {}
  local concurrency = config.concurrency or core.default_concurrency
  local limit = opts.limit or concurrency
  -- under --batch a row mostly waits for its batch: many rows stay alive,
  -- whatever limit (a judge's max_workers) was asked for; the in-flight
  -- request cap of evalua.http still holds for requests sent directly
  if config.batch then limit = math.max(limit, require("evalua.batch").task_limit) end
  if math.type(limit) ~= "integer" then limit = math.floor(tonumber(limit) or concurrency) end
  if limit < 1 then error("sched.map: limit must be >= 1", 2) end
  if not core._in_task() then
    http.configure{ concurrency = concurrency }
  end
  local progress = opts.progress ~= false and not config.quiet
  return core._map(n, fn, limit, progress)
end

-- Calls fn(...) inside a task: directly when the caller already runs in one,
-- else as a one-item map (with no progress line). Returns fn's results;
-- raises its error. Lets a top-level script line make a request.
function M.run(fn, ...)
  if type(fn) ~= "function" then
    error("sched.run: expected a function (got " .. type(fn) .. ")", 2)
  end
  if core._in_task() then return fn(...) end
  local args = table.pack(...)
  local out
  local _, errors = M.map(1, function()
    out = table.pack(fn(table.unpack(args, 1, args.n)))
    return true
  end, { progress = false })
  if errors[1] then error(errors[1], 0) end
  return table.unpack(out, 1, out.n)
end

-- Waits `seconds` inside a task (other tasks run meanwhile).
function M.sleep(seconds)
  return core._sleep(seconds)
end

-- Whether the caller runs inside a task.
function M.in_task()
  return core._in_task()
end

-- Stops the run early: items not started yet and requests queued or in
-- flight fail with `msg` (the first reason given stands); later requests
-- fail at once. Adapters call it on a 401.
function M.abort(msg)
  core._abort(tostring(msg))
end

-- The abort message, or nil.
function M.aborted()
  return core._aborted()
end

-- Sets what the progress line says the rows do ("predict 5/10 · judge q
-- 3/10"), or nil for the plain row count (evalua.progress).
function M.progress_label(text)
  core._progress_label(text)
end

-- Closes the connections kept for reuse (evaluate calls it when it
-- returns); false while requests are pending.
function M.close_idle()
  return core._close_idle()
end

-- Forgets an abort, so later maps run again.
function M.clear_abort()
  core._clear_abort()
end

return M
