-- evalua.util: small helpers shared by the library: errors that the host
-- prints as one line, argument checks, file helpers.
local M = {}

-- The text of a number in a prompt or a cell shown to a model: integers
-- (and floats holding one below 2^53) without ".0", others with 15
-- significant digits. The one number format of prompt text.
function M.number_text(v)
  if math.type(v) == "integer" then return tostring(v) end
  if v == math.floor(v) and math.abs(v) < 2 ^ 53 then return string.format("%d", v) end
  return string.format("%.15g", v)
end

-- Raises a usage error: the host prints "evalua: msg" and exits 2.
function M.usage(msg)
  error({ msg = msg, code = 2 }, 0)
end

-- Raises a clean failure: the host prints "evalua: msg" (no traceback) and
-- exits with code (default 1).
function M.fail(msg, code)
  error({ msg = msg, code = code or 1 }, 0)
end

-- A failure to find what the user named (a run that matches nothing, an
-- ambiguous id prefix, a store that is not there) is an input error: one
-- line and exit 2; any other failure exits 1.
function M.fail_lookup(msg)
  if msg:find("no run matches '", 1, true) or msg:find("' is ambiguous: it matches ", 1, true)
      or msg:find(": no run given", 1, true) or msg:find("no run store at '", 1, true) then
    M.usage(msg)
  end
  M.fail(msg)
end

-- evaluate's col_mapping: a value naming something that does not exist (no
-- data column, no metric, no evaluator_config key, none of the names in
-- also) is an error, so that a typo fails at once instead of being ignored.
-- Returns the message for the first such value, or nil.
function M.check_col_mapping(col_mapping, columns, metric_list, evaluator_config, also)
  local known = {}
  for _, c in ipairs(columns) do known[c] = true end
  for _, m in ipairs(metric_list) do known[m.name] = true; known[m.key] = true end
  local keys = {}
  for k in pairs(col_mapping) do keys[#keys + 1] = tostring(k) end
  table.sort(keys)
  for _, k in ipairs(keys) do
    local v = col_mapping[k]
    if type(v) == "string" and not (known[v] or also[v] or evaluator_config[v] ~= nil or v == "latency") then
      return string.format("col_mapping: %s = '%s' names no column (columns: %s)", k, v, table.concat(columns, ", "))
    end
  end
  return nil
end

-- Checks that t[field] has Lua type ty (or is nil when optional); raises
-- "api: field 'name' must be a ty, got tz" naming the caller's API.
function M.check_field(api, t, field, ty, optional)
  local v = t[field]
  if v == nil and optional then return v end
  if type(v) ~= ty then
    error(string.format("%s: field '%s' must be a %s, got %s", api, field, ty, type(v)), 3)
  end
  return v
end

-- Rejects keys of t not listed in allowed (a set); names the first unknown one.
function M.check_keys(api, t, allowed)
  local bad = {}
  for k in pairs(t) do
    if not allowed[k] then bad[#bad + 1] = tostring(k) end
  end
  if #bad > 0 then
    table.sort(bad)
    error(string.format("%s: unknown field '%s'", api, bad[1]), 3)
  end
end

function M.read_file(path)
  local f, err = io.open(path, "rb")
  if not f then return nil, err end
  local s = f:read("a")
  f:close()
  return s
end

function M.write_file(path, data)
  local f, err = io.open(path, "wb")
  if not f then return nil, err end
  local ok, werr = f:write(data)
  f:close()
  if not ok then return nil, werr end
  return true
end

-- A command's --help: when args (before a "--") hold --help or -h, prints
-- usage on stdout and returns true (the command then exits 0).
function M.help(args, usage)
  for _, a in ipairs(args) do
    if a == "--" then break end
    if a == "--help" or a == "-h" then
      io.stdout:write(usage, usage:sub(-1) == "\n" and "" or "\n")
      return true
    end
  end
  return false
end

-- Parses flags of a subcommand. spec maps "--name" to "flag" (boolean),
-- "value" (one string), or "list" (repeatable); returns opts, positional.
-- Unknown flags and missing values are usage errors naming the command.
function M.parse_args(cmd, args, spec)
  local opts, pos = {}, {}
  local i = 1
  while i <= #args do
    local a = args[i]
    if a == "--" then
      for j = i + 1, #args do pos[#pos + 1] = args[j] end
      break
    elseif a:sub(1, 1) == "-" and a ~= "-" then
      local name, inline = a:match("^(%-%-?[^=]+)=(.*)$")
      name = name or a
      local kind = spec[name]
      if not kind then M.usage(string.format("%s: unknown option '%s'", cmd, name)) end
      local key = name:gsub("^%-+", ""):gsub("%-", "_")
      if kind == "flag" then
        opts[key] = true
      else
        local v = inline
        if v == nil then
          i = i + 1
          v = args[i]
          if v == nil then M.usage(string.format("%s: '%s' needs a value", cmd, name)) end
        end
        if kind == "list" then
          opts[key] = opts[key] or {}
          table.insert(opts[key], v)
        else
          opts[key] = v
        end
      end
    else
      pos[#pos + 1] = a
    end
    i = i + 1
  end
  return opts, pos
end

return M
