-- evalua cache [stats | clear] [--cache PATH] [--json]: shows or empties the
-- response cache (default ~/.cache/evalua/cache.db, or --cache PATH given
-- before or after the command).
local util = require "evalua.util"
local config = require "evalua.config"

local M = { summary = "response cache: stats (entries, size, hits of recent runs) or clear" }

local USAGE = [[
usage: evalua cache [stats | clear] [--cache PATH] [--json]
  stats         entries, size on disk and the hits of recent runs (the default)
  clear         delete every cached response
  --cache PATH  the cache file (default ~/.cache/evalua/cache.db; also before 'cache')
  --json        print stats as JSON
examples:
  evalua cache stats
  evalua cache clear --cache /tmp/evalua-cache.db]]

local function human(n)
  if n >= 1024 * 1024 then return string.format("%.1f MiB", n / 1048576) end
  if n >= 1024 then return string.format("%.1f KiB", n / 1024) end
  return string.format("%d B", n)
end

function M.main(args)
  if util.help(args, USAGE) then return 0 end
  local opts, pos = util.parse_args("cache", args, { ["--cache"] = "value", ["--json"] = "flag" })
  if opts.cache then config.cache_path = opts.cache end
  local cmd = pos[1] or "stats"
  if #pos > 1 then util.usage("cache: unexpected argument '" .. pos[2] .. "'") end
  local cache = require "evalua.cache"
  if cmd == "stats" then
    if require("lfs").attributes(cache.path(), "mode") == nil then
      -- no file yet: say so rather than create one
      if opts.json then
        print(require("cjson").encode{ path = cache.path(), entries = 0, exists = false })
      else
        print(string.format("path        %s (no cache file yet)", cache.path()))
        print("entries     0")
      end
      return 0
    end
    local s, err = cache.stats()
    if not s then util.fail(err) end
    cache.close()
    if opts.json then
      local cjson = require "cjson"
      print(cjson.encode(s))
      return 0
    end
    print(string.format("path        %s", s.path))
    print(string.format("entries     %d", s.entries))
    print(string.format("stored      %s of responses, file %s", human(s.body_bytes), human(s.file_bytes)))
    if s.runs > 0 then
      local lookups = s.last_hits + s.last_misses
      print(string.format("last run    %d hits, %d misses%s, %d written (%s)", s.last_hits, s.last_misses,
        lookups > 0 and string.format(" (%.0f%% hit rate)", 100 * s.last_hits / lookups) or "",
        s.last_writes, os.date("!%Y-%m-%d %H:%M:%S UTC", math.floor(s.last_time))))
      print(string.format("recent runs %d: %d hits, %d misses, %d written", s.runs, s.hits, s.misses, s.writes))
    else
      print("recent runs none recorded")
    end
    return 0
  elseif cmd == "clear" then
    local n, err = cache.clear()
    if not n then util.fail(err) end
    local path = cache.path()
    cache.close()
    print(string.format("removed %d cached responses from %s", n, path))
    return 0
  end
  util.usage("cache: unknown command '" .. cmd .. "' (expected stats or clear)")
end

return M
