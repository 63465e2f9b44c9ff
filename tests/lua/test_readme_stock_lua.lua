-- The README's "From stock lua5.4" lines, run exactly as written (the shell
-- block after the stock-lua marker) in a fresh copy of the source tree:
-- every tracked or new file, no build directory. They must build the
-- loadable module and print the version and a token count from lua5.4.
local h = require "helper"

local src = h.source_dir

h.case("README stock-lua5.4 lines work verbatim from a fresh tree", function()
  local readme = assert(h.read(src .. "/README.md"))
  local block = readme:match("<!%-%- stock%-lua:[^\n]*%-%->\n```sh\n(.-)```")
  assert(block, "README.md: no ```sh block after the stock-lua marker")
  assert(block:find("lua5.4 ", 1, true), block)
  local lua = io.popen("command -v lua5.4"):read("l")
  if not lua or lua == "" then
    error("lua5.4 is not installed (contrib/install-deps.sh installs it)")
  end
  local d = h.tmpdir()
  -- a fresh tree: the files git knows (committed or not) plus new unignored ones
  local code, _, err = h.sh("cd " .. h.quote(src) .. " && git ls-files -co --exclude-standard -z"
    .. " | xargs -0 tar -cf - | tar -xf - -C " .. h.quote(d))
  h.eq(code, 0, "copy: " .. err)
  assert(not io.open(d .. "/build/CMakeCache.txt"), "the copy has a build directory")
  h.write(d .. "/readme-lines.sh", block)
  local out
  code, out, err = h.sh("cd " .. h.quote(d) .. " && nice -n 10 sh -e readme-lines.sh")
  h.eq(code, 0, "the README lines failed:\n" .. err)
  local last = out:match("([^\n]*)\n$")
  local _, vout = h.evalua { "--version" }
  local version = vout:match("^evalua (%S+)")
  h.eq(last, version .. "\t2", "the line the README says it prints")
  assert(io.open(d .. "/build/lua/evalua.so"), "build/lua/evalua.so, as the README names it")
end)

h.done()
