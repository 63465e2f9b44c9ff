-- json_oracle.lua: the pure-Lua JSON writer and reader evalua.json had
-- before it moved to C (engine/ljson.c over engine/json.c), kept as the test
-- oracle the C codec is checked against (tests/lua/test_json.lua).
-- cjson 2.1 writes at most 14 significant digits and reads every number as
-- a float; this writes the shortest text that reads back to the same
-- double, keeps integers apart from floats, and can write \uXXXX escapes and
-- numbers with a fixed number of decimals.
--   json.encode(value [, { ascii = true, decimals = 10, strict = true }]) -> string
--     strict: NaN and infinities as null (plain JSON; implied by decimals)
--   json.decode(text) -> value (null -> nil; a list holding nulls gets n)
local M = {}

local cjson = require "cjson"

local function utf8_escape(s)
  -- non-ASCII as \uXXXX (surrogate pairs above U+FFFF); bad bytes as U+FFFD
  local out = {}
  local i, n = 1, #s
  while i <= n do
    local c = s:byte(i)
    local cp, len
    if c < 0x80 then cp, len = c, 1
    elseif c >= 0xC2 and c < 0xE0 then len = 2
    elseif c >= 0xE0 and c < 0xF0 then len = 3
    elseif c >= 0xF0 and c < 0xF5 then len = 4
    else len = 0 end
    if len > 1 then
      local ok, v = pcall(utf8.codepoint, s, i)
      if ok and #utf8.char(v) == len then cp = v else len = 0 end
    end
    if len == 0 then cp, len = 0xFFFD, 1 end
    if cp < 0x80 then
      out[#out + 1] = string.char(cp)
    elseif cp < 0x10000 then
      out[#out + 1] = string.format("\\u%04x", cp)
    else
      cp = cp - 0x10000
      out[#out + 1] = string.format("\\u%04x\\u%04x", 0xD800 + (cp >> 10), 0xDC00 + (cp & 0x3FF))
    end
    i = i + len
  end
  return table.concat(out)
end

local escapes = { ['"'] = '\\"', ["\\"] = "\\\\", ["\b"] = "\\b", ["\f"] = "\\f",
  ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t" }

local function encode_string(s, ascii)
  s = s:gsub('[%c"\\]', function(c)
    return escapes[c] or string.format("\\u%04x", c:byte())
  end)
  if ascii and s:find("[\128-\255]") then s = utf8_escape(s) end
  return '"' .. s .. '"'
end

-- shortest %.Ng that reads back to the same double
local function exact_float(x)
  for p = 15, 17 do
    local s = string.format("%." .. p .. "g", x)
    if tonumber(s) == x then return s end
  end
  return string.format("%.17g", x)
end

local function encode_number(x, decimals, strict)
  if math.type(x) == "integer" then return string.format("%d", x) end
  strict = strict or decimals
  if x ~= x then return strict and "null" or "NaN" end
  if x == math.huge then return strict and "null" or "Infinity" end
  if x == -math.huge then return strict and "null" or "-Infinity" end
  if not decimals then
    local s = exact_float(x)
    if not s:find("[%.eEn]") then s = s .. ".0" end
    return s
  end
  if math.abs(x) >= 1e16 then return exact_float(x) end
  local s = string.format("%." .. decimals .. "f", x)
  s = s:gsub("0+$", ""):gsub("%.$", ".0")
  if s == "-0.0" then s = "0.0" end
  return s
end

local function is_list(t)
  local n = t.n
  if math.type(n) == "integer" and n >= 0 then -- a column list, unless other keys say it is an object
    for k in pairs(t) do
      if k ~= "n" and not (math.type(k) == "integer" and k >= 1 and k <= n) then n = nil break end
    end
    if n then return n end
  end
  n = #t
  local count = 0
  for _ in pairs(t) do count = count + 1 end
  if count == n and (n > 0 or next(t) == nil) then return n end
  return nil
end

local function encode(v, opts, out, depth)
  local ty = type(v)
  if v == nil or v == cjson.null then out[#out + 1] = "null"
  elseif ty == "boolean" then out[#out + 1] = v and "true" or "false"
  elseif ty == "number" then out[#out + 1] = encode_number(v, opts.decimals, opts.strict)
  elseif ty == "string" then out[#out + 1] = encode_string(v, opts.ascii)
  elseif ty == "table" then
    if depth > 100 then error("json.encode: nesting deeper than 100 levels (a cycle?)", 0) end
    local n = is_list(v)
    if n then
      out[#out + 1] = "["
      for i = 1, n do
        if i > 1 then out[#out + 1] = "," end
        encode(v[i], opts, out, depth + 1)
      end
      out[#out + 1] = "]"
    else
      local keys = {}
      for k in pairs(v) do
        if type(k) ~= "string" and type(k) ~= "number" then
          error("json.encode: a table key is a " .. type(k), 0)
        end
        keys[#keys + 1] = k
      end
      table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
      out[#out + 1] = "{"
      for i, k in ipairs(keys) do
        if i > 1 then out[#out + 1] = "," end
        out[#out + 1] = encode_string(tostring(k), opts.ascii)
        out[#out + 1] = ":"
        encode(v[k], opts, out, depth + 1)
      end
      out[#out + 1] = "}"
    end
  else
    error("json.encode: cannot encode a " .. ty, 0)
  end
end

-- Encodes value as JSON. Default: exact numbers (the shortest text that
-- reads back to the same double; NaN/Infinity as words cjson reads), UTF-8
-- kept. opts.ascii: non-ASCII as \uXXXX. opts.decimals: floats with at most
-- that many decimals, NaN and infinities as null (MLflow's table format).
-- Lists are tables with keys 1..n (or a field n, holes written as null);
-- object keys are sorted.
function M.encode(value, opts)
  local out = {}
  encode(value, opts or {}, out, 0)
  return table.concat(out)
end

-- A JSON reader that keeps integers as Lua integers (cjson 2.1 turns every
-- number into a float) and reads NaN/Infinity/-Infinity. JSON null becomes
-- nil; a list gets its length in field n when it holds a null.
local decode_value

local function json_error(s, i, what)
  error(string.format("json.decode: %s at byte %d", what, i), 0)
end

local function skip(s, i)
  return s:find("[^ \t\r\n]", i) or #s + 1
end

local function decode_string(s, i)
  -- s:sub(i, i) == '"'
  local j = i + 1
  local parts = {}
  while true do
    local a, b = s:find('["\\]', j)
    if not a then json_error(s, i, "unterminated string") end
    parts[#parts + 1] = s:sub(j, a - 1)
    if s:sub(a, a) == '"' then return table.concat(parts), a + 1 end
    local c = s:sub(a + 1, a + 1)
    if c == "u" then
      local hex = s:match("^%x%x%x%x", a + 2)
      if not hex then json_error(s, a, "bad \\u escape") end
      local cp = tonumber(hex, 16)
      j = a + 6
      if cp >= 0xD800 and cp < 0xDC00 then
        local lo = s:match("^\\u(%x%x%x%x)", j)
        lo = lo and tonumber(lo, 16)
        if lo and lo >= 0xDC00 and lo < 0xE000 then
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00)
          j = j + 6
        end
      end
      parts[#parts + 1] = utf8.char(cp)
    else
      local map = { b = "\b", f = "\f", n = "\n", r = "\r", t = "\t", ['"'] = '"', ["\\"] = "\\", ["/"] = "/" }
      if not map[c] then json_error(s, a, "bad escape") end
      parts[#parts + 1] = map[c]
      j = a + 2
    end
  end
end

local words = { ["true"] = true, ["false"] = false, NaN = 0 / 0, Infinity = math.huge,
  ["-Infinity"] = -math.huge }

decode_value = function(s, i)
  i = skip(s, i)
  local c = s:sub(i, i)
  if c == "{" then
    local obj = {}
    i = skip(s, i + 1)
    if s:sub(i, i) == "}" then return obj, i + 1 end
    while true do
      if s:sub(i, i) ~= '"' then json_error(s, i, "expected a key") end
      local k
      k, i = decode_string(s, i)
      i = skip(s, i)
      if s:sub(i, i) ~= ":" then json_error(s, i, "expected ':'") end
      local v
      v, i = decode_value(s, i + 1)
      obj[k] = v
      i = skip(s, i)
      c = s:sub(i, i)
      if c == "}" then return obj, i + 1 end
      if c ~= "," then json_error(s, i, "expected ',' or '}'") end
      i = skip(s, i + 1)
    end
  elseif c == "[" then
    local list, n, holes = {}, 0, false
    i = skip(s, i + 1)
    if s:sub(i, i) == "]" then return list, i + 1 end
    while true do
      local v
      v, i = decode_value(s, i)
      n = n + 1
      if v == nil then holes = true else list[n] = v end
      i = skip(s, i)
      c = s:sub(i, i)
      if c == "]" then
        if holes then list.n = n end
        return list, i + 1
      end
      if c ~= "," then json_error(s, i, "expected ',' or ']'") end
      i = i + 1
    end
  elseif c == '"' then
    return decode_string(s, i)
  elseif c == "n" and s:sub(i, i + 3) == "null" then
    return nil, i + 4
  else
    local num = s:match("^-?%d+%.?%d*[eE]?[-+]?%d*", i)
    if num and num ~= "" and num ~= "-" then
      local v = math.tointeger(tonumber(num)) 
      if not num:find("[%.eE]") and v then return v, i + #num end
      v = tonumber(num)
      if v then return v, i + #num end
    end
    for w, v in pairs(words) do
      if s:sub(i, i + #w - 1) == w then return v, i + #w end
    end
    json_error(s, i, "unexpected character '" .. c .. "'")
  end
end

function M.decode(s)
  local v, i = decode_value(s, 1)
  i = skip(s, i)
  if i <= #s then json_error(s, i, "trailing text") end
  return v
end

return M
