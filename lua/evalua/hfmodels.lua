-- evalua.hfmodels: models pulled from a Hugging Face hub (`evalua models
-- pull`), their cache directory, and how the toxicity metric finds them.
--   hfmodels.pull(id, { revision=, progress="bar"|"lines"|false, log=function(line) })
--       -> dir, manifest        (raises a one-line error on failure)
--   hfmodels.dir_for(id)        -> cache directory of a model id
--   hfmodels.resolve(path_or_id) -> a directory to open, or nil, why
--   hfmodels.cache_dir()        -> $EVALUA_MODELS_DIR, $XDG_CACHE_HOME/evalua/models
--                                  or ~/.cache/evalua/models
--   hfmodels.TOXICITY_DEFAULT   -> MLflow's toxicity model id
--   hfmodels.toxicity_override  -> { backend =, path = } set by `--toxicity`
--                                  for toxicity metrics built without a backend
-- The endpoint is $HF_ENDPOINT (default https://huggingface.co); the token is
-- $HF_TOKEN (or $HUGGING_FACE_HUB_TOKEN) and goes only to the hub (never to a
-- redirect on another host, never into the manifest, logs or errors).
local hub = require "evalua.hfhub"
local json = require "evalua.json"
local lfs = require "lfs"

local M = {}

M.TOXICITY_DEFAULT = "facebook/roberta-hate-speech-dynabench-r4-target"

-- bare names a user may type for well-known models
M.ALIASES = {
  ["roberta-hate-speech-dynabench-r4-target"] = M.TOXICITY_DEFAULT,
}

-- the files a RoBERTa toxicity model needs (model.safetensors: see below)
M.FILES = { "config.json", "vocab.json", "merges.txt", "model.safetensors" }

local MANIFEST = "evalua-model.json"

local function env(name)
  local v = os.getenv(name)
  if v == "" then return nil end
  return v
end

function M.cache_dir()
  local d = env("EVALUA_MODELS_DIR")
  if d then return d end
  local xdg = env("XDG_CACHE_HOME")
  if xdg then return xdg .. "/evalua/models" end
  local home = env("HOME")
  if not home then error("models: neither EVALUA_MODELS_DIR, XDG_CACHE_HOME nor HOME is set", 0) end
  return home .. "/.cache/evalua/models"
end

-- "owner/name" (checked) from an id or alias; nil, why when malformed.
function M.canonical_id(id)
  if type(id) ~= "string" then return nil, "a model id must be a string" end
  id = M.ALIASES[id] or id
  local owner, name = id:match("^([%w][%w%-_.]*)/([%w][%w%-_.]*)$")
  if not owner or id:find("..", 1, true) then
    return nil, string.format("'%s' is not a Hugging Face model id (owner/name)", id)
  end
  return id
end

function M.dir_for(id)
  local cid, why = M.canonical_id(id)
  if not cid then error("models: " .. why, 0) end
  return M.cache_dir() .. "/" .. cid:gsub("/", "--")
end

local function exists(path)
  local f = io.open(path, "rb")
  if f then f:close() return true end
  return false
end

-- A directory to open for path_or_id: an existing model directory as it
-- is, else the cache directory of a pulled model id; a path that is neither
-- an id nor a model directory is returned as it is (the loader explains).
function M.resolve(path_or_id)
  if exists(path_or_id .. "/config.json") then return path_or_id end
  local cid = M.canonical_id(path_or_id)
  if cid then
    local d = M.dir_for(cid)
    if exists(d .. "/" .. MANIFEST) then return d end
    return nil, string.format("%s: neither a model directory nor a pulled model (run `evalua "
      .. "models pull %s`; cache: %s)", path_or_id, path_or_id, M.cache_dir())
  end
  return path_or_id
end

function M.endpoint()
  local e = env("HF_ENDPOINT") or "https://huggingface.co"
  return (e:gsub("/+$", ""))
end

local function token()
  return env("HF_TOKEN") or env("HUGGING_FACE_HUB_TOKEN")
end

local function urlpath(s)
  return (s:gsub("[^%w%-_.~/]", function(c) return string.format("%%%02X", c:byte()) end))
end

-- One line explaining an HTTP failure of the hub.
local function explain(status, body, what, id, err)
  local msg
  local ok, j = pcall(json.decode, body or "")
  if ok and type(j) == "table" and type(j.error) == "string" then msg = j.error end
  local has_token = token() ~= nil
  if status == 401 or status == 403 then
    return string.format("%s: HTTP %d from the hub: %s is gated or private, or the token is "
      .. "not accepted. %s, and accept the model's terms on its page (https://huggingface.co/%s)%s",
      what, status, id,
      has_token and "HF_TOKEN is set but the hub refused it: check that it is valid and has read access"
        or "Set HF_TOKEN to a Hugging Face access token (https://huggingface.co/settings/tokens)",
      id, msg and (" [hub: " .. msg .. "]") or "")
  elseif status == 404 then
    return string.format("%s: HTTP 404: no such model or file at %s%s%s", what, M.endpoint(),
      msg and (" [hub: " .. msg .. "]") or "",
      has_token and "" or " (a private model also answers 404 without HF_TOKEN)")
  elseif status and status > 0 then
    return string.format("%s: HTTP %d%s", what, status, msg and (" [hub: " .. msg .. "]") or "")
  end
  return string.format("%s: %s (hub %s)", what, err or "failed", M.endpoint())
end

local function read_manifest(dir)
  local f = io.open(dir .. "/" .. MANIFEST, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  local ok, m = pcall(json.decode, s)
  return ok and type(m) == "table" and m or nil
end

local function write_file(path, data)
  local tmp = path .. ".tmp"
  local f = assert(io.open(tmp, "wb"))
  f:write(data)
  f:close()
  assert(os.rename(tmp, path))
end

-- Checks a downloaded file against the tree entry: sha256 for LFS files,
-- the git blob id for the others, and the size. Returns sha256 or nil, why.
local function verify(path, e)
  local sha, size = hub.sha256_file(path)
  if not sha then return nil, size end
  if e.size and size ~= e.size then
    return nil, string.format("size %d, the hub says %d", size, e.size)
  end
  if e.lfs then
    if sha ~= e.lfs.oid then
      return nil, string.format("sha256 %s, the hub says %s", sha, tostring(e.lfs.oid))
    end
  elseif e.oid then
    local oid, err = hub.git_oid_file(path)
    if not oid then return nil, err end
    if oid ~= e.oid then return nil, string.format("git blob id %s, the hub says %s", oid, e.oid) end
  end
  return sha
end

function M.pull(id, opts)
  opts = opts or {}
  local cid, why = M.canonical_id(id)
  if not cid then error("models pull: " .. why, 0) end
  local rev = opts.revision or "main"
  local log = opts.log or function(line) io.stderr:write(line, "\n") end
  local base, tok = M.endpoint(), token()
  local dir = M.dir_for(cid)
  assert(os.execute("mkdir -p '" .. dir:gsub("'", "'\\''") .. "'"), "models pull: cannot create " .. dir)

  -- the file list with sizes and hashes
  local tree_url = string.format("%s/api/models/%s/tree/%s", base, urlpath(cid), urlpath(rev))
  local r, err, status, body = hub.fetch { url = tree_url, token = tok }
  if not r then error("models pull: " .. explain(status, body, "listing " .. cid, cid, err), 0) end
  local ok, tree = pcall(json.decode, r.body)
  if not ok or type(tree) ~= "table" then
    error("models pull: the hub's file list for " .. cid .. " is not JSON", 0)
  end
  local entries = {}
  for _, e in ipairs(tree) do
    if type(e) == "table" and type(e.path) == "string" then entries[e.path] = e end
  end
  if not entries["model.safetensors"] then
    error(string.format("models pull: %s has no model.safetensors at revision %s%s; evalua reads "
      .. "only safetensors (see docs/toxicity.md for a one-line conversion, or try --revision "
      .. "with a branch that has it)", cid, rev,
      entries["pytorch_model.bin"] and " (only pytorch_model.bin)" or ""), 0)
  end
  for _, f in ipairs(M.FILES) do
    if not entries[f] then error(string.format("models pull: %s has no %s at revision %s", cid, f, rev), 0) end
  end

  local old = read_manifest(dir)
  local manifest = { id = cid, revision = rev, endpoint = base, files = {} }
  for _, f in ipairs(M.FILES) do
    local e = entries[f]
    local dest = dir .. "/" .. f
    local want = e.lfs and e.lfs.oid or e.oid
    local prev = old and old.files and old.files[f]
    if prev and prev.hub_oid == want and exists(dest) then
      log(string.format("  %s: up to date", f))
      manifest.files[f] = prev
    else
      local part = dest .. ".part"
      local url = string.format("%s/%s/resolve/%s/%s", base, urlpath(cid), urlpath(rev), urlpath(f))
      local tries, res = 0, nil
      while true do
        tries = tries + 1
        local before = lfs.attributes(part, "size") or 0
        res, err, status, body = hub.fetch { url = url, token = tok, path = part, resume = true,
          progress = opts.progress ~= false and (opts.progress or "lines") or nil, label = f }
        if res then break end
        if status and status >= 400 then
          error("models pull: " .. explain(status, body, "downloading " .. f, cid, err), 0)
        end
        local after = lfs.attributes(part, "size") or 0
        if tries >= 5 or after <= before then
          error(string.format("models pull: %s: %s; %d bytes kept in %s, run the command again to resume",
            f, err, after, part), 0)
        end
        log(string.format("  %s: %s; resuming at byte %d", f, err, after))
      end
      local sha, bad = verify(part, e)
      if not sha then
        os.remove(part)
        error(string.format("models pull: %s: refused, %s (the partial download was removed; "
          .. "run the command again, and report it if it persists)", f, bad), 0)
      end
      assert(os.rename(part, dest))
      manifest.files[f] = { sha256 = sha, size = e.size, hub_oid = want,
        resumed = res.resumed_from > 0 or tries > 1 }
    end
  end
  write_file(dir .. "/" .. MANIFEST, json.encode(manifest) .. "\n")
  return dir, manifest
end

-- Models in the cache: list of { id, dir, revision }.
function M.list()
  local out, root = {}, M.cache_dir()
  if not lfs.attributes(root, "mode") then return out end
  for name in lfs.dir(root) do
    if name ~= "." and name ~= ".." then
      local m = read_manifest(root .. "/" .. name)
      if m then out[#out + 1] = { id = m.id, dir = root .. "/" .. name, revision = m.revision } end
    end
  end
  table.sort(out, function(a, b) return a.id < b.id end)
  return out
end

return M
