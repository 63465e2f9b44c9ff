-- evalua.table from Lua: readers, construction, methods, writers, errors.
local h = require "helper"
local T = require "evalua.table"

local dir = h.tmpdir()
local function file(name, data) return h.write(dir .. "/" .. name, data) end

h.case("read_csv: types, columns, rows", function()
  local p = file("d.csv", "q,n,f,ok,note\r\nwhat?,1,0.5,True,\"a, \"\"b\"\"\"\r\nwhy?,2,1,false,\r\n")
  local t = T.read_csv(p)
  h.eq(#t, 2, "#t")
  h.same(t:columns(), { "q", "n", "f", "ok", "note" })
  h.eq(t:column_type("n"), "integer")
  h.eq(t:column_type("f"), "float")
  h.eq(t:column_type("ok"), "boolean")
  h.eq(t:column_type("note"), "string")
  h.same(t:column("n"), { 1, 2, n = 2 })
  h.eq(math.type(t:get(2, "f")), "float")
  h.same(t:row(1), { q = "what?", n = 1, f = 0.5, ok = true, note = 'a, "b"' })
  h.same(t:row(2), { q = "why?", n = 2, f = 1.0, ok = false })
  local seen = {}
  for i, row in t:rows() do seen[#seen + 1] = i .. "=" .. row.q end
  h.same(seen, { "1=what?", "2=why?" })
  h.same(t:column("note"), { 'a, "b"', nil, n = 2 })
end)

h.case("read_csv: opts.infer = false and opts.sep", function()
  local t = T.read_csv_string("a;b\n1;True\n;x\n", "s.csv", { infer = false, sep = ";" })
  h.same(t:column("a"), { "1", nil, n = 2 })
  h.same(t:column("b"), { "True", "x", n = 2 })
  h.raises("read_csv: opts.sep must be a one-character string", T.read_csv_string, "a\n", "x", { sep = ";;" })
end)

h.case("read_csv: exact errors", function()
  local cases = {
    { "a,b\n1,\"2\n", "read_csv: %s:2:3: unclosed quote" },
    { "a,b\n1,2,3\n", "read_csv: %s:2: expected 2 fields, got 3" },
    { "a,b\n1\n", "read_csv: %s:2: expected 2 fields, got 1" },
    { "a\nok\nbad\xff\n", "read_csv: %s: invalid UTF-8 at byte 8 (line 3)" },
    { "", "read_csv: %s: no header row (empty file)" },
    { "a,a\n", "read_csv: %s:1:3: duplicate column name \"a\"" },
  }
  for i, c in ipairs(cases) do
    local p = file("bad" .. i .. ".csv", c[1])
    local ok, err = pcall(T.read_csv, p)
    h.eq(ok, false, "case " .. i)
    h.eq(err, c[2]:format(p), "case " .. i)
  end
  local ok, err = pcall(T.read_csv, dir .. "/missing.csv")
  h.eq(err, "read_csv: " .. dir .. "/missing.csv: No such file or directory")
  h.raises("bad argument #1 to 'evalua.table.read_csv' (string expected, got no value)", T.read_csv)
  h.eq(select(2, pcall(T.read_csv, dir)), "read_csv: " .. dir .. ": Is a directory")
  h.eq(select(2, pcall(T.read_jsonl, dir)), "read_jsonl: " .. dir .. ": Is a directory")
  h.eq(select(2, pcall(T.read_json, dir)), "read_json: " .. dir .. ": Is a directory")
  assert(not ok)
end)

h.case("read_jsonl, read_json, read by extension", function()
  local jl = file("d.jsonl", '{"q":"a","ctx":["d1","d2"],"m":{"k":1}}\n\n{"q":"b","s":2.5}\n')
  local t = T.read(jl)
  h.same(t:columns(), { "q", "ctx", "m", "s" })
  h.eq(t:column_type("ctx"), "json")
  h.same(t:get(1, "ctx"), { "d1", "d2" })
  h.same(t:get(1, "m"), { k = 1 })
  h.eq(t:get(2, "ctx"), nil)
  h.eq(t:get(2, "s"), 2.5)
  local js = file("d.json", '{"columns":["a","b"],"data":[[1,"x"],[2,null]]}')
  local u = T.read(js)
  h.same(u:column("b"), { "x", nil, n = 2 })
  local cols = file("c.json", '{"a":{"0":1,"1":2},"b":{"1":"y","0":"x"}}')
  h.same(T.read_json(cols):column("b"), { "x", "y", n = 2 })
  local tsv = file("d.tsv", "a\tb\n1\tx y\n")
  h.same(T.read(tsv):row(1), { a = 1, b = "x y" })
  h.raises("read: " .. dir .. "/d.txt: unknown file type", T.read, dir .. "/d.txt")
  local bad = file("bad.jsonl", '{"a":1}\n{"a":}\n')
  h.eq(select(2, pcall(T.read_jsonl, bad)), "read_jsonl: " .. bad .. ":2:6: unexpected '}', expected a value")
  h.eq(select(2, pcall(T.read_json_string, "[1]", "x.json")), "read_json: x.json:1:2: expected an object, got a number")
end)

h.case("from: sorted names, opts.columns, ordered form, holes", function()
  local t = T.from{ zeta = { 1, 2, 3 }, alpha = { "a", "b", "c" } }
  h.same(t:columns(), { "alpha", "zeta" })
  t = T.from({ zeta = { 1, 2, 3 }, alpha = { "a", "b", "c" } }, { columns = { "zeta", "alpha" } })
  h.same(t:columns(), { "zeta", "alpha" })
  t = T.from{ { "b", { 1, 2 } }, { "a", { true, false } } }
  h.same(t:columns(), { "b", "a" })
  h.same(t:column("a"), { true, false, n = 2 })
  t = T.from{ x = { 1, nil, 3, n = 3 }, y = { "a", "b", "c" } }
  h.eq(#t, 3)
  h.same(t:column("x"), { 1, nil, 3, n = 3 })
  t = T.from{ docs = { { "d1", "d2" }, { k = { 1, 2.5 } }, {} } }
  h.eq(t:column_type("docs"), "json")
  h.same(t:get(1, "docs"), { "d1", "d2" })
  h.same(t:get(2, "docs"), { k = { 1, 2.5 } })
  h.same(t:get(3, "docs"), {})
  h.eq(math.type(t:get(2, "docs").k[1]), "integer")
  h.eq(#T.from{}, 0)
end)

h.case("from: errors", function()
  h.raises('from: column "b" has 2 values, column "a" has 3', T.from, { a = { 1, 2, 3 }, b = { 1, 2 } })
  h.raises('from: no column "c" (named in opts.columns)', T.from, { a = { 1 } }, { columns = { "a", "c" } })
  h.raises('from: column "b" is not in opts.columns', T.from, { a = { 1 }, b = { 2 } }, { columns = { "a" } })
  h.raises('from: column "a" row 2: cannot store a function', T.from, { a = { 1, print } })
  h.raises('from: column "a" must be a list, got number', T.from, { a = 5 })
  local cyc = {}
  cyc[1] = cyc
  h.raises("from: nesting deeper than 100 levels (a cycle?)", T.from, { a = { cyc } })
end)

h.case("from_rows and new", function()
  local t = T.from_rows{ { q = "a", n = 1 }, { q = "b", extra = true } }
  h.same(t:columns(), { "extra", "n", "q" })
  h.same(t:column("extra"), { nil, true, n = 2 })
  t = T.from_rows({ { q = "a" }, { q = "b", n = 2 } }, { columns = { "q", "n" } })
  h.same(t:columns(), { "q", "n" })
  h.raises('from_rows: row 1 has column "z", which is not in opts.columns', T.from_rows, { { z = 1 } }, { columns = { "q" } })
  local e = T.new({ "a", "b" }, 3)
  h.eq(#e, 3)
  h.same(e:row(2), {})
  h.eq(e:column_type("a"), "nil")
end)

h.case("add_column, set, get, rename, drop_column", function()
  local t = T.from{ a = { 1, 2 } }
  t:add_column("b", { "x", "y" })
  h.same(t:columns(), { "a", "b" })
  t:add_column("a", { 10, 20 }) -- replaces in place
  h.same(t:columns(), { "a", "b" })
  h.same(t:column("a"), { 10, 20, n = 2 })
  h.raises('add_column: column "c" has 3 values, the table has 2 rows', t.add_column, t, "c", { 1, 2, 3 })
  h.raises('add_column: column "a" row 2: cannot store a function', t.add_column, t, "a", { 1, print })
  h.same(t:column("a"), { 10, 20, n = 2 }) -- unchanged after the failure
  h.same(t:columns(), { "a", "b" })
  t:set(1, "score", 4.5):set(2, "b", nil)
  h.eq(t:get(1, "score"), 4.5)
  h.eq(t:get(2, "b"), nil)
  h.raises("set: row 3 out of range (the table has 2 rows)", t.set, t, 3, "a", 1)
  h.raises('get: no column "nope" (columns: a, b, score)', t.get, t, 1, "nope")
  t:rename("score", "s")
  h.raises('rename: duplicate column name "a"', t.rename, t, "s", "a")
  t:drop_column("s")
  h.same(t:columns(), { "a", "b" })
  local e = T.new()
  h.raises('add_column: column "x" row 2: cannot store a function', e.add_column, e, "x", { 1, print })
  h.eq(#e, 0, "a failed first column leaves the shape")
  e:add_column("x", { 1, 2, 3 })
  h.eq(#e, 3)
  h.raises('set: column "new" row 1: cannot store a function', e.set, e, 1, "new", print)
  h.same(e:columns(), { "x" })
  h.raises('append: column "y" row 4: cannot store a thread', e.append, e, { y = coroutine.create(print) })
  h.eq(#e, 3)
  h.same(e:columns(), { "x" })
  h.raises("column list length n = -1 is negative", T.from, { a = { n = -1 } })
  local r = T.new()
  r:append{ q = "a", n = 1 }:append{ q = "b" }
  h.eq(#r, 2)
  h.same(r:column("q"), { "a", "b", n = 2 })
end)

h.case("select, head, tail, copy", function()
  local t = T.from({ a = { 1, 2, 3, 4, 5, 6, 7 }, b = { 1, 2, 3, 4, 5, 6, 7 }, c = { 7, 6, 5, 4, 3, 2, 1 } })
  local s = t:select{ "c", "a" }
  h.same(s:columns(), { "c", "a" })
  h.eq(#s, 7)
  h.raises('select: no column "x" (columns: a, b, c)', t.select, t, { "a", "x" })
  h.raises('select: column "a" named twice', t.select, t, { "a", "a" })
  h.same(t:head():column("a"), { 1, 2, 3, 4, 5, n = 5 })
  h.same(t:head(2):column("c"), { 7, 6, n = 2 })
  h.same(t:tail(2):column("c"), { 2, 1, n = 2 })
  h.eq(#t:head(100), 7)
  local c = t:copy()
  c:set(1, "a", 100)
  h.eq(t:get(1, "a"), 1)
end)

h.case("map: results with n, errors per row", function()
  local t = T.from{ x = { 1, 2, 3 } }
  local res, errs = t:map(function(row)
    if row.x == 2 then error("boom") end
    return row.x * 10
  end)
  h.eq(res.n, 3)
  h.eq(res[1], 10)
  h.eq(res[2], nil)
  h.eq(res[3], 30)
  assert(errs[2] and errs[2]:find("boom", 1, true), tostring(errs[2]))
  h.eq(errs[1], nil)
  local all, e2 = t:map(function() error("x") end)
  h.eq(all.n, 3)
  assert(e2[1] and e2[2] and e2[3])
end)

h.case("map: fn may yield (the row call is a continuation)", function()
  -- a stand-in scheduler that runs fn(i) directly, so a yield goes to our coroutine
  local saved = package.loaded["evalua.sched"]
  package.loaded["evalua.sched"] = { map = function(n, fn)
    local r = {}
    for i = 1, n do r[i] = fn(i) end
    return r, {}
  end }
  local t = T.from{ x = { 1, 2 } }
  local co = coroutine.wrap(function()
    return t:map(function(row) return coroutine.yield(row.x) end)
  end)
  h.eq(co(), 1)
  h.eq(co("one"), 2)
  local res = co("two")
  package.loaded["evalua.sched"] = saved
  h.same(res, { "one", "two", n = 2 })
end)

h.case("map: rows run as concurrent tasks with the real scheduler", function()
  local sched = require "evalua.sched"
  local core = require "evalua.core"
  local t = T.from{ x = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 } }
  local t0 = core.clock()
  local res, errs = t:map(function(row)
    sched.sleep(0.2)
    if row.x == 3 then error("bad row") end
    return row.x * 2
  end)
  local took = core.clock() - t0
  assert(took < 1.0, "10 rows of 0.2 s took " .. took .. " s: not concurrent")
  h.eq(res.n, 10)
  h.eq(res[10], 20)
  h.eq(res[3], nil)
  assert(errs[3]:find("bad row", 1, true))
  -- t:map inside a task shares the loop
  local r2 = sched.map(2, function(i)
    return t:map(function(row) sched.sleep(0.01) return row.x + i end)[10]
  end)
  h.same(r2, { 11, 12 })
end)

h.case("writers and round trips", function()
  local t = T.from({ q = { "caf\u{e9}", "a,\"b\"\nc", "" }, n = { 1, 2.5, nil, n = 3 }, ok = { true, false, true },
                     docs = { { "d1" }, {}, { k = "v" } } }, { columns = { "q", "n", "ok", "docs" } })
  local p = dir .. "/out.csv"
  h.eq(t:write_csv(p), t)
  h.eq(h.read(p), 'q,n,ok,docs\ncaf\u{e9},1,True,"[""d1""]"\n"a,""b""\nc",2.5,False,[]\n"",,True,"{""k"":""v""}"\n')
  local back = T.read_csv(p)
  h.same(back:column("q"), { "caf\u{e9}", "a,\"b\"\nc", "", n = 3 })
  h.same(back:column("n"), { 1.0, 2.5, nil, n = 3 })
  h.eq(t:to_csv(), h.read(p))
  local pj = dir .. "/out.json"
  t:write_json(pj)
  h.eq(h.read(pj), '{"columns":["q","n","ok","docs"],"data":[["caf\\u00e9",1,true,["d1"]],'
    .. '["a,\\"b\\"\\nc",2.5,false,[]],["",null,true,{"k":"v"}]]}')
  h.eq(t:to_json{ orient = "records", ascii = false },
    '[{"q":"caf\u{e9}","n":1,"ok":true,"docs":["d1"]},{"q":"a,\\"b\\"\\nc","n":2.5,"ok":false,"docs":[]},'
    .. '{"q":"","n":null,"ok":true,"docs":{"k":"v"}}]')
  local pl = dir .. "/out.jsonl"
  t:write_jsonl(pl)
  local jl = T.read_jsonl(pl)
  h.same(jl:column("q"), t:column("q"))
  h.same(jl:column("docs"), t:column("docs"))
  h.same(jl:column("n"), t:column("n"))
  h.same(T.read_json(pj):column("ok"), t:column("ok"))
  h.raises('write_json: unknown orient "index" (expected "split" or "records")', t.write_json, t, pj, { orient = "index" })
  for _, ext in ipairs{ "csv", "jsonl", "json" } do
    local pe = dir .. "/by_ext." .. ext
    t:write(pe)
    h.same(T.read(pe):column("q"), t:column("q"), ext)
  end
  h.eq(h.read(dir .. "/by_ext.json"), h.read(pj))
  h.raises("write: " .. dir .. "/x.xlsx: unknown file type", t.write, t, dir .. "/x.xlsx")
  -- writes replace the file whole and leave no temporary file behind
  local pw = dir .. "/again.csv"
  T.from{ a = { 1, 2, 3 } }:write_csv(pw)
  T.from{ b = { "x" } }:write_csv(pw)
  h.eq(h.read(pw), "b\nx\n")
  local _, listing = h.sh("ls -a " .. h.quote(dir))
  assert(not listing:find(".tmp-", 1, true), listing)
  h.eq(select(2, pcall(t.write_csv, t, dir .. "/no/such/dir.csv")), "write_csv: " .. dir .. "/no/such/dir.csv: No such file or directory")
end)

h.case("tostring: pandas-like preview", function()
  local t = T.from({ q = { "short", string.rep("x", 80) }, n = { 1, 22 } }, { columns = { "q", "n" } })
  local s = tostring(t)
  local want = string.rep(" ", 52) .. "q   n\n"
    .. "1" .. string.rep(" ", 47) .. "short   1\n"
    .. "2  xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...  22\n"
    .. "\n[2 rows x 2 columns]"
  h.eq(s, want)
  local big = T.new({ "i" }, 100)
  local lines = select(2, tostring(big):gsub("\n", ""))
  h.eq(lines, 23, "20 rows + header + gap + blank line before the footer")
  assert(tostring(big):find("[100 rows x 1 columns]", 1, true))
  assert(tostring(big):find("\n...", 1, true))
end)

h.case("closing, is, misuse", function()
  local t = T.from{ a = { 1 } }
  assert(T.is(t))
  assert(not T.is({}))
  do
    local c <close> = T.from{ a = { 1 } }
    h.eq(#c, 1)
  end
  t:close()
  t:close() -- idempotent
  h.eq(tostring(t), "evalua.table (closed)")
  h.raises("attempt to use a closed table", function() return #t end)
  h.raises("attempt to use a closed table", t.columns, t)
  h.raises("(evalua.table expected, got table)", t.columns, {})
  h.raises("row: row 0 out of range (the table has 1 rows)", T.from{ a = { 1 } }.row, T.from{ a = { 1 } }, 0)
end)

h.case("a large table stays in C", function()
  local n = 200000
  local xs = {}
  for i = 1, n do xs[i] = i end
  local t = T.from{ x = xs }
  xs = nil
  collectgarbage()
  local csv = t:to_csv()
  local back = T.read_csv_string(csv, "big.csv")
  h.eq(#back, n)
  h.eq(back:get(n, "x"), n)
  h.eq(back:column_type("x"), "integer")
end)

h.done()
