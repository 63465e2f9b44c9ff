-- The host program: flags, exit codes, error reports, arg, the embedded library.
local h = require "helper"

h.case("--version", function()
  local code, out = h.evalua({ "--version" })
  h.eq(code, 0, "exit")
  assert(out:match("^evalua %d+%.%d+%.%d+"), out)
end)

h.case("--help lists commands", function()
  local code, out = h.evalua({ "--help" })
  h.eq(code, 0, "exit")
  assert(out:find("usage: evalua", 1, true), out)
  assert(out:find("commands:", 1, true), out)
end)

h.case("unknown flag is a usage error", function()
  local code, _, err = h.evalua({ "--frobnicate" })
  h.eq(code, 2, "exit")
  assert(err:find("evalua: unknown option '--frobnicate'", 1, true), err)
end)

h.case("missing script is a usage error", function()
  local code, _, err = h.evalua({ "/nonexistent/x.lua" })
  h.eq(code, 2, "exit")
  assert(err:find("evalua: cannot open '/nonexistent/x.lua'", 1, true), err)
end)

h.case("no arguments is a usage error", function()
  local code = h.evalua({})
  h.eq(code, 2, "exit")
end)

h.case("bad flag values", function()
  h.eq((h.evalua({ "--concurrency", "0", "-e", "" })), 2, "concurrency 0")
  h.eq((h.evalua({ "--shard", "3/2", "-e", "" })), 2, "shard 3/2")
  h.eq((h.evalua({ "--fail-under", "x", "-e", "" })), 2, "fail-under x")
end)

h.case("a flag's value is never taken for -e", function()
  local code, out = h.evalua({ "-e", "print(1)", "--store", "-e" })
  h.eq(code, 0, "exit") h.eq(out, "1\n", "stdout")
  local code2, out2, err2 = h.evalua({ "-e", "print(1)", "--resume", "-e", "print'injected'" })
  h.eq(code2, 2, "exit")
  assert(not out2:find("injected", 1, true), out2)
  assert(err2:find("cannot open 'print'injected''", 1, true), err2)
end)

h.case("a broken in-tree module fails the run, never exit 0", function()
  local d = h.tmpdir()
  os.execute("mkdir -p " .. h.quote(d .. "/lib/evalua"))
  h.write(d .. "/lib/evalua/gates.lua", "return {\n")
  local env = { EVALUA_LUA_PATH = d .. "/lib" }
  -- the store's at_finish hook loads the gates: before plain require, a
  -- syntax error there was swallowed and the process exited 0
  local code, _, err = h.evalua({ "--store", d .. "/e.db", "--fail-under", "m=1", "-e",
    "require 'evalua.tracking'" }, env)
  h.eq(code, 1, "exit")
  assert(err:find("gates.lua", 1, true), err)
  -- the default concurrency is the one in http.h
  local code2, out2 = h.evalua({ "-e", "print(require('evalua.config').concurrency, require('evalua.sched_core').default_concurrency)" })
  h.eq(code2, 0, "exit") h.eq(out2, "32\t32\n", "one default")
end)

h.case("-e runs code and sees config", function()
  local code, out = h.evalua({ "--concurrency", "7", "--no-cache", "-e",
    "local c = require 'evalua.config' print(c.concurrency, c.cache, c.offline)" })
  h.eq(code, 0, "exit")
  h.eq(out, "7\tfalse\tfalse\n", "stdout")
end)

h.case("script error: message, traceback, exit 1", function()
  local d = h.tmpdir()
  local s = h.write(d .. "/bad.lua", "local x = 1\n\nerror('boom')\n")
  local code, _, err = h.evalua({ s })
  h.eq(code, 1, "exit")
  assert(err:find("evalua: " .. s .. ":3: boom", 1, true), err)
  assert(err:find("stack traceback", 1, true), err)
end)

h.case("syntax error exits 1", function()
  local d = h.tmpdir()
  local s = h.write(d .. "/syn.lua", "local = 1\n")
  local code, _, err = h.evalua({ s })
  h.eq(code, 1, "exit")
  assert(err:find(s .. ":1:", 1, true), err)
end)

h.case("script sees arg like lua", function()
  local d = h.tmpdir()
  local s = h.write(d .. "/args.lua", "print(arg[0], arg[1], arg[2], select('#', ...), ...)\n")
  for _, pre in ipairs({ {}, { "run" }, { "run", "--quiet" } }) do
    local args = {}
    for _, a in ipairs(pre) do args[#args + 1] = a end
    args[#args + 1] = s
    args[#args + 1] = "a"
    args[#args + 1] = "b c"
    local code, out = h.evalua(args)
    h.eq(code, 0, "exit")
    h.eq(out, s .. "\ta\tb c\t2\ta\tb c\n", "stdout")
  end
end)

h.case("usage error from Lua exits 2 without traceback", function()
  local code, _, err = h.evalua({ "-e", "require('evalua.util').usage('score: --data is required')" })
  h.eq(code, 2, "exit")
  h.eq(err, "evalua: score: --data is required\n", "stderr")
end)

h.case("embedded library has @lua chunk names", function()
  local code, out = h.evalua({ "-e", "print(debug.getinfo(require('evalua.util').usage, 'S').source)" })
  h.eq(code, 0, "exit")
  h.eq(out, "@lua/evalua/util.lua\n", "source")
end)

h.case("EVALUA_LUA_PATH wins over the embedded copy", function()
  local d = h.tmpdir()
  os.execute("mkdir -p " .. h.quote(d .. "/evalua"))
  h.write(d .. "/evalua/util.lua", "return { marker = 'from-tree' }\n")
  local code, out = h.evalua({ "-e", "print(require('evalua.util').marker)" }, { EVALUA_LUA_PATH = d })
  h.eq(code, 0, "exit")
  h.eq(out, "from-tree\n", "stdout")
end)

h.case("cjson and lfs are linked in", function()
  local code, out = h.evalua({ "-e", "print(require('cjson').encode({1,2}), type(require('lfs').currentdir()))" })
  h.eq(code, 0, "exit")
  h.eq(out, "[1,2]\tstring\n", "stdout")
end)

h.case("runtime hooks set the exit code", function()
  local code = h.evalua({ "-e", "require('evalua.runtime').at_finish(function() return 1 end)" })
  h.eq(code, 1, "exit")
end)

h.done()
