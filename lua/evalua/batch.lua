-- evalua.batch: model and judge calls through the providers' batch APIs
-- (--batch, evaluate{ batch = true }): OpenAI Batch (a JSONL file uploaded
-- with POST /files, POST /batches, polled with GET /batches/ID, answers
-- downloaded with GET /files/ID/content) and Anthropic Message Batches
-- (POST /v1/messages/batches, polled, answers from results_url).
--
-- evalua.models.send hands each request here instead of sending it
-- (M.transport); the calling row task waits while its request travels in a
-- batch, so the row pipeline above is the same with and without --batch.
-- Requests are grouped by provider, API base, key and (OpenAI) model; a
-- group's open batch is sealed when it reaches the provider's limits
-- (OpenAI: 50,000 requests or 200 MB; Anthropic: 100,000 or 256 MB) or when
-- no request joined it for `gather_s`, then submitted, so judge requests
-- of rows whose predictions came back form the next batch while other
-- batches are still running. One waiting task at a time drives every batch
-- (seals, submits, polls, downloads, hands out the answers).
--
-- Each line carries the canonical request body (sorted keys) and a
-- custom_id hashed from it and the URL, so a row asks the same line in a
-- resumed run. Every submitted
-- batch is recorded in the run (cells of key "_batch": id, provider, the
-- custom_ids it carries, status and the result files), so a killed run
-- resumes by polling (or downloading) the same batches and never submits
-- their rows again. A line that failed (5xx/429, expired, cancelled) goes
-- into a later batch, up to max_tries times; other failures (4xx) fail the
-- row with the provider's message. No key is ever recorded.
local config = require "evalua.config"
local cjson = require "cjson"

local M = {}

M.limits = {
  openai = { requests = 50000, bytes = 200 * 1000 * 1000 },
  anthropic = { requests = 100000, bytes = 256 * 1000 * 1000 },
}
M.gather_s = 0.5     -- a batch is sealed after this long with no new request
M.poll_s = 5         -- first poll delay; grows by half up to poll_max_s
M.poll_max_s = 60
M.max_tries = 3      -- a line is sent in at most this many batches
M.discount = 0.5     -- batch prices: half the list price (both providers)
M.task_limit = 200000 -- rows alive at once under --batch (they mostly wait)

local S -- the process's batch state (see state())

local function clock() return require("evalua.core").time() end

local function num(v, dflt)
  v = tonumber(v)
  if v == nil or v <= 0 then return dflt end
  return v
end

-- The settings of this run: config.batch may be true or a table
-- { max_requests, max_bytes, poll_s, poll_max_s, gather_s, max_tries };
-- EVALUA_BATCH_* variables fill what it does not give.
local function settings()
  local t = type(config.batch) == "table" and config.batch or {}
  local env = os.getenv
  return {
    max_requests = num(t.max_requests or env("EVALUA_BATCH_MAX_REQUESTS"), nil),
    max_bytes = num(t.max_bytes or env("EVALUA_BATCH_MAX_BYTES"), nil),
    poll_s = num(t.poll_s or env("EVALUA_BATCH_POLL_S"), M.poll_s),
    poll_max_s = num(t.poll_max_s or env("EVALUA_BATCH_POLL_MAX_S"), M.poll_max_s),
    gather_s = num(t.gather_s or env("EVALUA_BATCH_GATHER_S"), M.gather_s),
    max_tries = math.floor(num(t.max_tries or env("EVALUA_BATCH_MAX_TRIES"), M.max_tries)),
  }
end

-- Whether --batch is on (config.batch true or a table).
function M.enabled()
  return config.batch ~= nil and config.batch ~= false
end

-- Whether this call can travel in a batch: OpenAI chat completions (not
-- Azure, not the legacy completions shape) and Anthropic Messages.
function M.accepts(call, req)
  if type(req.url) ~= "string" or req.url:find("?", 1, true) then return false end
  if call.provider == "openai" then return req.url:match("/chat/completions$") ~= nil end
  if call.provider == "anthropic" then return req.url:match("/v1/messages$") ~= nil end
  return false
end

local function state()
  if not S then
    S = { groups = {}, by_cid = {}, results = {}, active = {}, resumed = {}, driving = false,
      seq = 0, loaded = nil,
      counts = { batches = 0, requests = 0, retried = 0, failed = 0, resumed = 0 } }
  end
  return S
end

-- The canonical body (sorted keys: byte-identical in every process, as
-- the cache key sees it) and the custom_id of a request.
local function canonical(req)
  local c = require("evalua.cache").canonical_request(req)
  local body = c.body ~= "" and c.body or req.body
  return body, "e" .. require("evalua.core").sha256(c.url .. "\n" .. body):sub(1, 40)
end

local function note(msg)
  if not config.quiet then io.stderr:write("evalua: batch: ", msg, "\n") end
end

local function count(field, n)
  local st = state()
  st.counts[field] = st.counts[field] + (n or 1)
  local acc = require "evalua.accounting"
  if acc.record_batch then acc.record_batch(field, n or 1) end
end

-- ------------------------------------------------------------ the ledger

local function run_of()
  if config.dry_run or config.no_store then return nil end
  local tracking = require "evalua.tracking"
  local run = tracking.active_run()
  if run and run.put_cell and run.cells then return run end
  return nil
end

local function shard_base()
  local s = config.shard
  return type(s) == "table" and s[1] and (s[1] * 1000000) or 0
end

-- Writes a batch's record (no key, no header, no request body).
local function record(b)
  local run = run_of()
  if not run then return end
  if not b.row then
    local st = state()
    st.seq = st.seq + 1
    b.row = shard_base() + st.seq
  end
  run:put_cell("_batch", b.row, { id = b.id, provider = b.kind, base = b.group.base_shown,
    model = b.group.model, cids = table.concat(b.order, ","), status = b.state,
    output_file = b.output_file, error_file = b.error_file, results_url = b.results_url,
    generation = b.generation, n = #b.order })
end

-- Loads the batches an earlier process of this run recorded (once per run).
local function load_resumed(st)
  local run = run_of()
  if not run or st.loaded == run.id then return end
  st.loaded = run.id
  local cells = run:cells("_batch") or {}
  local rows = {}
  for row in pairs(cells) do rows[#rows + 1] = row end
  table.sort(rows)
  for _, row in ipairs(rows) do
    local rec = cells[row]
    if type(rec) == "table" and type(rec.id) == "string" and type(rec.cids) == "string" then
      if row - shard_base() > st.seq and row - shard_base() < 1000000 then st.seq = row - shard_base() end
      local b = { id = rec.id, kind = rec.provider, state = rec.status == "completed" and "completed" or "submitted",
        output_file = rec.output_file, error_file = rec.error_file, results_url = rec.results_url,
        generation = rec.generation or 1, slots = {}, order = {}, row = row, resumed = true,
        next_poll = 0, poll_every = settings().poll_s, model = rec.model }
      for cid in rec.cids:gmatch("[^,]+") do
        b.order[#b.order + 1] = cid
        st.resumed[cid] = b -- a later batch of the same line wins
      end
      st.active[#st.active + 1] = b
    end
  end
end

-- ------------------------------------------------------------ batching

local function group_of(st, call, req)
  local kind = call.provider
  local base
  if kind == "openai" then base = req.url:gsub("/chat/completions$", "")
  else base = req.url:gsub("/messages$", "") end
  local h = req.headers or {}
  local auth = h.Authorization or h["x-api-key"] or ""
  local key = table.concat({ kind, base, require("evalua.core").sha256(auth),
    kind == "openai" and tostring(call.model) or "" }, "\0")
  local g = st.groups[key]
  if not g then
    local lim = M.limits[kind]
    local s = settings()
    g = { kind = kind, base = base, base_shown = require("evalua.providers.common").scrub_url(base),
      model = call.model, headers = h,
      max_requests = math.min(s.max_requests or lim.requests, lim.requests),
      max_bytes = math.min(s.max_bytes or lim.bytes, lim.bytes) }
    st.groups[key] = g
  end
  return g
end

local function line_of(kind, cid, body)
  if kind == "openai" then
    return '{"custom_id":"' .. cid .. '","method":"POST","url":"/v1/chat/completions","body":' .. body .. "}"
  end
  return '{"custom_id":"' .. cid .. '","params":' .. body .. "}"
end

local function seal(st, g)
  local b = g.open
  if not b then return end
  g.open = nil
  b.state = "sealed"
  st.active[#st.active + 1] = b
end

local function enqueue(st, g, slot, line)
  local b = g.open
  if b and (b.n + 1 > g.max_requests or b.bytes + #line + 1 > g.max_bytes) then
    seal(st, g)
    b = nil
  end
  if not b then
    b = { group = g, kind = g.kind, state = "open", slots = {}, order = {}, lines = {}, n = 0, bytes = 0,
      generation = 1 }
    g.open = b
  end
  b.n = b.n + 1
  b.bytes = b.bytes + #line + 1
  b.order[b.n] = slot.cid
  b.lines[b.n] = line
  b.slots[slot.cid] = slot
  b.last_add = clock()
  if slot.tries > 0 and slot.tries + 1 > b.generation then b.generation = slot.tries + 1 end
  slot.batch = b
end

local function resolve(slot, resp, err)
  slot.done, slot.resp, slot.err = true, resp, err
end

-- ------------------------------------------------------------ provider calls

local function http_call(g, method, url, body, headers, timeout_ms)
  local h = {}
  for k, v in pairs(g.headers or {}) do h[k] = v end
  h["Content-Type"] = nil
  for k, v in pairs(headers or {}) do h[k] = v end
  local resp, err = require("evalua.http").request{ method = method, url = url, headers = h,
    body = body, timeout_ms = timeout_ms }
  if not resp then return nil, err end
  local s = tonumber(resp.status) or 0
  if s < 200 or s > 299 then
    return nil, require("evalua.providers.common").http_error(resp, { url = url }), s
  end
  return resp
end

local function decode(text)
  local ok, v = pcall(cjson.decode, text)
  if ok and type(v) == "table" then return v end
  return nil
end

local function submit(st, b)
  local g = b.group
  local s = settings()
  b.poll_every = s.poll_s
  local payload = table.concat(b.lines, "\n") .. "\n"
  if g.kind == "openai" then
    local boundary = "evalua-" .. require("evalua.store").random_hex(12)
    local mp = table.concat({
      "--" .. boundary, 'Content-Disposition: form-data; name="purpose"', "", "batch",
      "--" .. boundary, 'Content-Disposition: form-data; name="file"; filename="evalua-batch.jsonl"',
      "Content-Type: application/jsonl", "", payload .. "\r\n--" .. boundary .. "--", "" }, "\r\n")
    payload = nil
    local resp, err, status = http_call(g, "POST", g.base .. "/files", mp,
      { ["Content-Type"] = "multipart/form-data; boundary=" .. boundary }, 600000)
    if not resp then return nil, "uploading the batch file: " .. tostring(err), status end
    local f = decode(resp.body)
    if not f or type(f.id) ~= "string" then return nil, "uploading the batch file: no file id in the answer" end
    b.input_file = f.id
    resp, err, status = http_call(g, "POST", g.base .. "/batches", cjson.encode({
      input_file_id = f.id, endpoint = "/v1/chat/completions", completion_window = "24h" }),
      { ["Content-Type"] = "application/json" })
    if not resp then return nil, "creating the batch: " .. tostring(err), status end
    local v = decode(resp.body)
    if not v or type(v.id) ~= "string" then return nil, "creating the batch: no batch id in the answer" end
    b.id = v.id
  else
    local body = '{"requests":[' .. table.concat(b.lines, ",") .. "]}"
    payload = nil
    local resp, err, status = http_call(g, "POST", g.base .. "/messages/batches", body,
      { ["Content-Type"] = "application/json" }, 600000)
    if not resp then return nil, "creating the message batch: " .. tostring(err), status end
    local v = decode(resp.body)
    if not v or type(v.id) ~= "string" then return nil, "creating the message batch: no batch id in the answer" end
    b.id = v.id
  end
  b.lines = nil -- the requests are at the provider now
  b.state = "submitted"
  b.next_poll = clock() + b.poll_every
  b.wake_at = b.next_poll + 0.02
  b.submitted_at = clock()
  count("batches")
  count("requests", b.n)
  record(b)
  note(string.format("%s %s: %d requests (%s%s) submitted", g.kind, b.id, b.n, tostring(g.model or ""),
    b.generation > 1 and string.format(", retry %d", b.generation - 1) or ""))
  return true
end

local function int(v) return require("evalua.providers.common").int(v) end

-- Polls one batch; when it has ended, notes where its answers are.
local function poll(st, b)
  local g = b.group
  local s = settings()
  local url = g.kind == "openai" and (g.base .. "/batches/" .. b.id) or (g.base .. "/messages/batches/" .. b.id)
  local resp, err = http_call(g, "GET", url)
  b.poll_every = math.min(b.poll_every * 1.5, s.poll_max_s)
  b.next_poll = clock() + b.poll_every
  b.wake_at = b.next_poll + 0.02
  if not resp then
    b.poll_errors = (b.poll_errors or 0) + 1
    note(string.format("%s %s: poll failed (%s); trying again", g.kind, b.id, tostring(err)))
    return
  end
  local v = decode(resp.body) or {}
  local status, line
  if g.kind == "openai" then
    status = tostring(v.status)
    local c = type(v.request_counts) == "table" and v.request_counts or {}
    line = string.format("%s %s: %s, %d/%d done, %d failed", g.kind, b.id, status, int(c.completed) or 0,
      int(c.total) or b.n, int(c.failed) or 0)
    if status == "completed" or status == "failed" or status == "expired" or status == "cancelled" then
      b.state = "completed"
      b.output_file = type(v.output_file_id) == "string" and v.output_file_id or nil
      b.error_file = type(v.error_file_id) == "string" and v.error_file_id or nil
      if status == "failed" and type(v.errors) == "table" and type(v.errors.data) == "table" then
        local e = v.errors.data[1]
        b.failure = "batch " .. b.id .. " failed: " .. tostring(type(e) == "table" and e.message or "no reason given")
      elseif status ~= "completed" then
        b.failure = "batch " .. b.id .. " " .. status
      end
    end
  else
    status = tostring(v.processing_status)
    local c = type(v.request_counts) == "table" and v.request_counts or {}
    line = string.format("%s %s: %s, %d succeeded, %d errored, %d processing", g.kind, b.id, status,
      int(c.succeeded) or 0, int(c.errored) or 0, int(c.processing) or 0)
    if status == "ended" then
      b.state = "completed"
      b.results_url = type(v.results_url) == "string" and v.results_url or nil
    end
  end
  if line ~= b.last_line then
    note(line)
    b.last_line = line
  end
  if b.state == "completed" then
    b.wake_at = clock() + 1 -- the answers are downloaded and handed out meanwhile
    record(b)
  end
end

local retryable = function(status) return status == 429 or status >= 500 end

-- Downloads a finished batch's answers; returns { [cid] = outcome } where
-- outcome = { resp = } (an answer), { retry = reason } or { fail = reason }.
local function fetch(st, b)
  local g = b.group
  local out = {}
  local function lines(body, each)
    for text in body:gmatch("[^\n]+") do
      local v = decode(text)
      if v and type(v.custom_id) == "string" then each(v) end
    end
  end
  if g.kind == "openai" then
    for _, fid in ipairs({ b.output_file or false, b.error_file or false }) do
      if fid then
        local resp, err = http_call(g, "GET", g.base .. "/files/" .. fid .. "/content", nil, nil, 600000)
        if not resp then return nil, "downloading " .. fid .. ": " .. tostring(err) end
        lines(resp.body, function(v)
          local r = type(v.response) == "table" and v.response or nil
          local code = r and tonumber(r.status_code) or 0
          if r and code >= 200 and code < 300 and type(r.body) == "table" then
            out[v.custom_id] = { resp = { status = code, headers = {}, body = cjson.encode(r.body) } }
          else
            local msg
            if type(v.error) == "table" then msg = tostring(v.error.message or v.error.code) end
            if not msg and r and type(r.body) == "table" then
              msg = require("evalua.providers.common").server_message(cjson.encode(r.body))
            end
            msg = string.format("HTTP %d in batch %s: %s", code, b.id, msg or "no answer")
            if code == 0 or retryable(code) then out[v.custom_id] = { retry = msg }
            else out[v.custom_id] = { fail = msg } end
          end
        end)
      end
    end
  else
    if not b.results_url then return nil, "message batch " .. b.id .. " ended without a results_url" end
    local resp, err = http_call(g, "GET", b.results_url, nil, nil, 600000)
    if not resp then return nil, "downloading the results of " .. b.id .. ": " .. tostring(err) end
    lines(resp.body, function(v)
      local r = type(v.result) == "table" and v.result or {}
      if r.type == "succeeded" and type(r.message) == "table" then
        out[v.custom_id] = { resp = { status = 200, headers = {}, body = cjson.encode(r.message) } }
      elseif r.type == "errored" then
        local e = type(r.error) == "table" and r.error or {}
        local inner = type(e.error) == "table" and e.error or e
        local msg = string.format("%s in message batch %s: %s", tostring(inner.type), b.id, tostring(inner.message))
        if inner.type == "invalid_request_error" or inner.type == "authentication_error" or
            inner.type == "permission_error" or inner.type == "not_found_error" then
          out[v.custom_id] = { fail = msg }
        else
          out[v.custom_id] = { retry = msg }
        end
      else
        out[v.custom_id] = { retry = string.format("%s in message batch %s", tostring(r.type), b.id) }
      end
    end)
  end
  return out
end

-- Hands a finished batch's answers to the waiting rows; failed lines go
-- into a later batch or fail their row.
local function distribute(st, b, outcome, why)
  local s = settings()
  for _, cid in ipairs(b.order) do
    local o = outcome and outcome[cid]
    local slot = b.slots[cid]
    if st.resumed[cid] == b then st.resumed[cid] = nil end
    if slot and not slot.done then
      if o and o.resp then
        resolve(slot, o.resp)
      elseif o and o.fail then
        count("failed")
        resolve(slot, nil, o.fail)
      else
        local reason = (o and o.retry) or why or ("no answer for the line in batch " .. tostring(b.id))
        slot.tries = slot.tries + 1
        if slot.tries < s.max_tries and slot.req then
          count("retried")
          local body = canonical(slot.req)
          enqueue(st, slot.group, slot, line_of(slot.group.kind, cid, body))
        else
          count("failed")
          resolve(slot, nil, string.format("%s (after %d batch%s)", reason, slot.tries,
            slot.tries == 1 and "" or "es"))
        end
      end
    elseif not slot and o and o.resp then
      st.results[cid] = o.resp -- a resumed batch's answer whose row has not asked yet
    end
  end
  b.state = "done"
end

-- ------------------------------------------------------------ the driver

local function fail_all(st, msg)
  for _, b in ipairs(st.active) do
    for _, slot in pairs(b.slots) do if not slot.done then resolve(slot, nil, msg) end end
    b.state = "done"
  end
  for _, g in pairs(st.groups) do
    if g.open then
      for _, slot in pairs(g.open.slots) do if not slot.done then resolve(slot, nil, msg) end end
      g.open = nil
    end
  end
  st.active = {}
end

-- Drives every batch until none has a waiting row left.
local function drive(st)
  local sched = require "evalua.sched"
  local s = settings()
  while true do
    local aborted = sched.aborted()
    if aborted then fail_all(st, aborted) return end
    local now = clock()
    local next_t = now + 1
    local busy = false
    for _, g in pairs(st.groups) do
      local b = g.open
      if b then
        busy = true
        if now - b.last_add >= s.gather_s then seal(st, g)
        else next_t = math.min(next_t, b.last_add + s.gather_s) end
      end
    end
    local keep = {}
    for _, b in ipairs(st.active) do
      local waiting = next(b.slots) ~= nil
      if b.state == "sealed" then
        busy = true
        local ok, err, status = submit(st, b)
        if not ok and status == 413 and b.n > 1 then
          -- the provider found the file too large: two halves, sent in turn
          note(string.format("%s: %d requests were too large for one batch; splitting", b.group.kind, b.n))
          local half = b.n // 2
          for part = 1, 2 do
            local lo, hi = part == 1 and 1 or half + 1, part == 1 and half or b.n
            local nb = { group = b.group, kind = b.kind, state = "sealed", slots = {}, order = {}, lines = {},
              n = 0, bytes = 0, generation = b.generation }
            for k = lo, hi do
              local cid = b.order[k]
              nb.n = nb.n + 1
              nb.order[nb.n], nb.lines[nb.n] = cid, b.lines[k]
              nb.bytes = nb.bytes + #b.lines[k] + 1
              if b.slots[cid] then
                nb.slots[cid] = b.slots[cid]
                b.slots[cid].batch = nb
              end
            end
            keep[#keep + 1] = nb
          end
          b.state, ok = "done", true
        end
        if not ok then
          note(string.format("%s: %s", b.group.kind, tostring(err)))
          for _, slot in pairs(b.slots) do resolve(slot, nil, b.group.kind .. " batch: " .. tostring(err)) end
          b.state = "done"
          if status == 401 then sched.abort(b.group.kind .. " batch: " .. tostring(err)) end
        end
      elseif b.state == "submitted" and waiting then
        busy = true
        if b.group == nil then -- resumed: polled with the first waiting row's credentials
          local _, slot = next(b.slots)
          b.group = slot.group
        end
        if clock() >= b.next_poll then poll(st, b) end
        next_t = math.min(next_t, b.next_poll)
      end
      if b.state == "completed" and waiting then
        busy = true
        if b.group == nil then
          local _, slot = next(b.slots)
          b.group = slot.group
        end
        local outcome, err
        if b.failure and not (b.output_file or b.error_file) then
          outcome, err = {}, b.failure
        else
          outcome, err = fetch(st, b)
        end
        if not outcome then note(tostring(err)) end
        distribute(st, b, outcome, b.failure or err)
      end
      if b.state ~= "done" then keep[#keep + 1] = b end
    end
    st.active = keep
    if not busy then return end
    local wait = next_t - clock()
    if wait > 0 then sched.sleep(math.max(0.005, wait)) end
  end
end

local function wait_for(st, slot)
  local sched = require "evalua.sched"
  local s = settings()
  local backoff = s.poll_s
  while not slot.done do
    if not st.driving then
      st.driving = true
      local ok, err = pcall(drive, st)
      st.driving = false
      if not ok then fail_all(st, "batch: " .. tostring(err)) end
      if not slot.done then resolve(slot, nil, "batch: the request was lost") end
    else
      -- a waiting row wakes as rarely as it can (100,000 of them may wait):
      -- after the poll that may finish its batch (b.wake_at, set by the
      -- driver); while its batch is being gathered or uploaded, or when the
      -- driver is late, after a delay that doubles up to poll_max_s
      local b = slot.batch
      local wait = b and b.wake_at and (b.wake_at - clock()) or 0
      if wait < 0.05 then
        wait = backoff
        backoff = math.min(backoff * 2, s.poll_max_s)
      else
        backoff = s.poll_s
      end
      sched.sleep(math.min(wait, s.poll_max_s + 1))
    end
  end
end

-- Sends one request through a batch: response | nil, err, as
-- evalua.http.request would (a line's answer becomes a 200 response).
function M.transport(call, req)
  local sched = require "evalua.sched"
  if not sched.in_task() then
    return sched.run(M.transport, call, req)
  end
  local st = state()
  load_resumed(st)
  local body, cid = canonical(req)
  local ready = st.results[cid]
  if ready then
    st.results[cid] = nil
    return ready
  end
  local slot = st.by_cid[cid]
  if not slot then
    slot = { cid = cid, tries = 0, waiters = 0 }
    st.by_cid[cid] = slot
    local g = group_of(st, call, req)
    slot.group = g
    slot.req = req -- alive in the caller anyway; a retried line is built from it again
    local resumed = st.resumed[cid]
    if resumed then
      resumed.slots[cid] = slot
      slot.batch = resumed
      if not resumed.counted then
        resumed.counted = true
        count("resumed")
        note(string.format("%s %s: resuming (recorded by an earlier process)", g.kind, resumed.id))
      end
    else
      enqueue(st, g, slot, line_of(g.kind, cid, body))
    end
  end
  body = nil -- the line holds it until the batch is submitted; no copy stays with the waiting row
  slot.waiters = slot.waiters + 1
  wait_for(st, slot)
  slot.waiters = slot.waiters - 1
  if slot.waiters == 0 and st.by_cid[cid] == slot then st.by_cid[cid] = nil end
  return slot.resp, slot.err
end

-- The counts of this process: { batches, requests, retried, failed, resumed }.
function M.counts()
  local c = {}
  for k, v in pairs(state().counts) do c[k] = v end
  return c
end

-- Forgets every batch (tests).
function M._reset()
  S = nil
end

return M
