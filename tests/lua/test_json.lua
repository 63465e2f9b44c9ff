-- test_json.lua: evalua.json (engine/ljson.c over engine/json.c), the one
-- JSON codec, checked byte for byte against the Lua oracle it replaced.
local h = require "helper"
local json = require "evalua.json"
local oracle = require "json_oracle"
local cjson = require "cjson"

-- a deterministic generator of awkward values
local seed = 12345
local function rnd(n)
  seed = (seed * 1103515245 + 12345) % 2147483648
  return seed % n
end

local floats = { 0.0, -0.0, 1.0, -1.0, 0.1, 1 / 3, 2 ^ 53, 2 ^ 63, -2 ^ 63, 1e15, 1e16, 1e17,
  123456789012345678.0, 1e-4, 9.99e-5, 1e-5, 1e-12, 5e-324, 1.7976931348623157e308, 0 / 0,
  math.huge, -math.huge, 1234.56789012345, 0.30000000000000004, 100.0, 1e21, 1e22, 1e23,
  2.5, 0.05, 0.5e-10, 12345678901234567.0 }
local strings = { "", "a", "é", "😀", "\0", "\1\31", "\127", "\"\\/", "\b\f\n\r\t", "\xff",
  "a\xc3", "\xed\xa0\x80", "\xc0\xaf", "\xf4\x90\x80\x80", "mixed é \xfe 😀 \127 end" }

local function gen(depth)
  local k = rnd(depth > 3 and 5 or 9)
  if k == 0 then return rnd(2) == 0 and math.mininteger + rnd(3) or rnd(1000) - 500 end
  if k == 1 then
    local f = floats[rnd(#floats) + 1]
    if rnd(3) == 0 then f = (rnd(2000000) - 1000000) / (rnd(1000) + 1) * 10.0 ^ (rnd(40) - 20) end
    return f
  end
  if k == 2 then return strings[rnd(#strings) + 1] end
  if k == 3 then return rnd(2) == 0 end
  if k == 4 then return cjson.null end
  if k <= 6 then
    local t, n = {}, rnd(5)
    for i = 1, n do t[i] = gen(depth + 1) end
    if rnd(4) == 0 then t.n = n + rnd(2) end
    return t
  end
  local t = {}
  for _ = 1, rnd(5) do
    local key = rnd(4) == 0 and rnd(5) + 1 or strings[rnd(#strings) + 1] .. "k" .. rnd(3)
    t[key] = gen(depth + 1)
  end
  return t
end

h.case("encode: byte-identical to the Lua oracle in every mode", function()
  local modes = { {}, { ascii = true }, { strict = true }, { decimals = 10 }, { decimals = 3, ascii = true } }
  for i = 1, 3000 do
    local v = gen(0)
    for _, m in ipairs(modes) do
      local want = oracle.encode(v, m)
      local got = json.encode(v, m)
      if got ~= want then
        error(string.format("value #%d mode %s:\n got  %q\n want %q", i, oracle.encode(m), got, want))
      end
    end
  end
  for _, f in ipairs(floats) do
    for _, m in ipairs(modes) do h.eq(json.encode(f, m), oracle.encode(f, m), "float " .. tostring(f)) end
  end
end)

h.case("encode: the documented cases (more in test_store)", function()
  local j = json.encode
  h.eq(j({}), "[]", "an empty table is a list for the store")
  h.eq(j("\127\xff"), '"\\u007f\xff"', "any Lua string kept")
  h.raises("json.encode: cannot encode a function", j, { print })
  h.raises("json.encode: a table key is a boolean", j, { [true] = 1 })
  local cyc = {}
  cyc[1] = cyc
  h.raises("json.encode: nesting deeper than 100 levels (a cycle?)", j, cyc)
end)

h.case("decode: the oracle's reading of well-formed text", function()
  for i = 1, 2000 do
    local text = oracle.encode(gen(0))
    h.same(json.decode(text), oracle.decode(text), "text #" .. i .. " " .. text)
  end
  for _, t in ipairs({ '[1,2.5,null,"\\u00e9\\ud83d\\ude00",-0.0,1e2,true,false]',
      '{"a":{"b":[null]},"c":NaN,"d":-Infinity,"g":9223372036854775807,"h":92233720368547758070}',
      '"x\\ny\\t\\"\\/"', "null", " 42 ", "[]", "{}", "[[[[1]]]]", '"\xff\xfe"' }) do
    h.eq(json.encode(json.decode(t)), json.encode(oracle.decode(t)), "same reading of " .. t)
  end
  local v = json.decode('{"a":[1,2.5,null,"\\u00e9"],"b":-3,"c":NaN,"d":1e2}')
  h.eq(math.type(v.a[1]), "integer", "int") h.eq(v.a.n, 4, "n with null")
  h.eq(math.type(v.d), "float", "exponent is float")
end)

h.case("decode: errors name what and where", function()
  for _, c in ipairs({ { "[1] x", "json.decode: trailing text at byte 5" },
      { '"abc', "json.decode: unclosed string at byte 1" },
      { "{1:2}", "json.decode: unexpected '1', expected a string key at byte 2" },
      { "[1 2]", "json.decode: unexpected '2', expected ',' or ']' at byte 4" },
      { "tru", "json.decode: unexpected 't', expected a value at byte 1" },
      { '"\\q"', "json.decode: bad escape '\\q' in string at byte 2" },
      { "[1,2", "json.decode: unexpected end of input, expected ',' or ']' at byte 5" } }) do
    local ok, e = pcall(json.decode, c[1])
    h.eq(ok, false, c[1]) h.eq(e, c[2], c[1])
  end
  h.raises("json.decode: nesting deeper than 200", json.decode, string.rep("[", 300) .. string.rep("]", 300))
  h.eq(#json.decode(string.rep("[", 200) .. string.rep("]", 200)), 1, "200 levels read")
end)

h.case("canonical: one form for bodies and cache keys", function()
  local c = json.canonical
  h.eq(c({ b = { 1, 2.5, true }, a = "s" }), '{"a":"s","b":[1,2.5,true]}', "sorted")
  h.eq(c({}), "{}", "an empty table is an object")
  h.eq(c({ temperature = 0.0, n = 2, x = 1e300, y = 0 / 0 }), '{"n":2,"temperature":0,"x":1e+300,"y":null}', "numbers")
  h.eq(c({ n = 1 }), '{"n":1}', "no column lists")
  h.eq(c({ "\xff" }), '["\xef\xbf\xbd"]', "valid UTF-8 always")
  h.eq(c({ [1] = "a", [3] = "c" }), '{"1":"a","3":"c"}', "a sparse list is an object")
  -- canonical text is a fixed point of the cache's canonicaliser of JSON text
  local cachedb = require "evalua.cachedb"
  for i = 1, 1000 do
    local v = gen(0)
    local ok, text = pcall(c, v)
    if ok then h.eq(cachedb.canonical_json(text), text, "fixed point #" .. i) end
  end
end)

h.done()
