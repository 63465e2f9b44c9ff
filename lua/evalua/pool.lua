-- evalua.pool: endpoint pools. A model whose base_url is a list of
-- OpenAI-compatible servers (vLLM, llama.cpp, Ollama, ...) sends each
-- request to the member with the fewest requests outstanding. A member that
-- refuses connections (any transport error) or answers 429/5xx
-- `fail_limit` times in a row is taken out for a back-off period (doubling
-- up to `eject_max_s`) and the request is re-sent to another member; the
-- call only fails when every member failed it. Per-member counts go to
-- evalua.accounting (snapshot().endpoints).
local M = {}

M.fail_limit = 3      -- 429/5xx answers in a row that take a member out
M.eject_base_s = 1    -- first back-off; doubles per ejection in a row
M.eject_max_s = 60

local pools = {} -- key (the members joined) -> pool

local function clock()
  return require("evalua.core").time()
end

local Pool = {}
Pool.__index = Pool

-- The pool of a list of base URLs (one pool per distinct list, shared by
-- every model and judge naming it); raises on a bad list.
function M.get(urls, api)
  api = api or "pool"
  if type(urls) ~= "table" or urls[1] == nil then
    error(api .. ": base_url must be a URL or a non-empty list of URLs", 3)
  end
  local seen, members = {}, {}
  for i, u in ipairs(urls) do
    if type(u) ~= "string" or not u:match("^https?://") then
      error(string.format("%s: base_url[%d] must be an http(s) URL, got %s", api, i, tostring(u)), 3)
    end
    u = u:gsub("/+$", "")
    if not seen[u] then
      seen[u] = true
      members[#members + 1] = { url = u, outstanding = 0, fails = 0, ejections_in_row = 0,
        ejected_until = 0, sent = 0 }
    end
  end
  local key = table.concat(urls, "\n")
  local p = pools[key]
  if p then return p end
  local sorted = {}
  for i, m in ipairs(members) do sorted[i] = m.url end
  table.sort(sorted)
  p = setmetatable({ members = members, key_url = sorted[1] }, Pool)
  pools[key] = p
  return p
end

-- The member to send to: the live one with the fewest outstanding requests
-- (then the fewest sent, so an idle pool still alternates), skipping
-- `tried`; nil and the soonest end of a back-off when all are out.
function Pool:pick(tried)
  local t = clock()
  local best, soonest
  for _, m in ipairs(self.members) do
    if not tried[m] then
      if m.ejected_until <= t then
        if not best or m.outstanding < best.outstanding or
            (m.outstanding == best.outstanding and m.sent < best.sent) then
          best = m
        end
      elseif not soonest or m.ejected_until < soonest.ejected_until then
        soonest = m
      end
    end
  end
  return best, soonest
end

local function account(url, field)
  require("evalua.accounting").record_endpoint(url, field)
end

function Pool:eject(m, why)
  local backoff = math.min(M.eject_max_s, M.eject_base_s * 2 ^ m.ejections_in_row)
  m.ejections_in_row = m.ejections_in_row + 1
  m.ejected_until = clock() + backoff
  m.fails = 0
  m.last_error = why
  account(m.url, "ejections")
end

-- Whether a response counts against its member (then the request is
-- re-sent elsewhere): rate limits and server errors.
local function bad_status(resp)
  local s = tonumber(resp.status) or 0
  return s == 429 or s >= 500
end

-- Sends one request through the pool. build(base_url) -> request table;
-- transport(req) -> response | nil, err. Returns what the last transport
-- call returned. Inside a task (a wait for a member's back-off sleeps).
function Pool:send(build, transport)
  local sched = require "evalua.sched"
  local tried = {}
  local attempts, limit = 0, math.max(4, 2 * #self.members)
  local resp, err
  while attempts < limit do
    local m, soonest = self:pick(tried)
    if not m then
      -- every member failed this request or is out: wait for the soonest
      -- to come back (one probe), or start over on the ones tried
      if soonest then
        local wait = soonest.ejected_until - clock()
        if wait > 0 then sched.sleep(math.min(wait, M.eject_max_s)) end
      end
      tried = {}
      m = self:pick(tried)
      if not m then
        local _, s2 = self:pick(tried)
        m = s2
      end
    end
    if sched.aborted() then return nil, sched.aborted() end
    attempts = attempts + 1
    tried[m] = true
    local req = build(m.url)
    req.max_attempts = 1 -- a failing member is left at once; the pool retries
    m.outstanding, m.sent = m.outstanding + 1, m.sent + 1
    account(m.url, "requests")
    resp, err = transport(req)
    m.outstanding = m.outstanding - 1
    if resp ~= nil and not bad_status(resp) then
      m.fails, m.ejections_in_row = 0, 0
      return resp
    end
    account(m.url, "failures")
    if sched.aborted() then return resp, err end
    if resp == nil then
      self:eject(m, tostring(err))
    else
      m.fails = m.fails + 1
      if m.fails >= M.fail_limit then self:eject(m, "HTTP " .. tostring(resp.status)) end
    end
  end
  if resp == nil then
    err = string.format("all %d endpoint%s failed after %d attempts (last: %s)", #self.members,
      #self.members == 1 and "" or "s", attempts, tostring(err))
  end
  return resp, err
end

-- The members' state: { { url, outstanding, sent, ejected (seconds left or nil) } }.
function Pool:status()
  local t, out = clock(), {}
  for i, m in ipairs(self.members) do
    out[i] = { url = m.url, outstanding = m.outstanding, sent = m.sent,
      ejected = m.ejected_until > t and (m.ejected_until - t) or nil }
  end
  return out
end

-- Forgets every pool (tests).
function M._reset()
  pools = {}
end

return M
