-- evalua tokens [--encoding E] [--total] [FILE]: prints the token count of
-- each line of FILE (stdin when FILE is absent or "-"), one per line, with
-- tiktoken's cl100k_base (default) or o200k_base. The line's "\n" (and a
-- "\r" before it) is not counted.
local util = require "evalua.util"

local M = { summary = "count tokens per line: evalua tokens [--encoding cl100k_base|o200k_base] [FILE]" }

local USAGE = [[
usage: evalua tokens [--encoding E] [--total] [FILE]
  --encoding  cl100k_base (default, MLflow's token_count) or o200k_base
  --total     print one more line: the sum of all counts
  FILE        the text to count, one count per line; stdin when absent or -
examples:
  evalua tokens prompts.txt
  printf 'hello world\n' | evalua tokens --encoding o200k_base --total]]

local BATCH = 4096

function M.main(args)
  if util.help(args, USAGE) then return 0 end
  local opts, pos = util.parse_args("tokens", args,
    { ["--encoding"] = "value", ["--total"] = "flag", ["--help"] = "flag", ["-h"] = "flag" })
  if opts.help or opts.h then
    print(USAGE)
    return 0
  end
  if #pos > 1 then util.usage("tokens: unexpected argument '" .. pos[2] .. "'") end
  local tokenize = require "evalua.tokenize"
  local enc = opts.encoding or "cl100k_base"
  local known = false
  for _, e in ipairs(tokenize.encodings) do known = known or e == enc end
  if not known then
    util.usage(string.format("tokens: unknown encoding '%s' (known: %s)", enc,
      table.concat(tokenize.encodings, ", ")))
  end
  local f = io.stdin
  local path = pos[1]
  if path and path ~= "-" then
    local err
    f, err = io.open(path, "rb")
    if not f then util.usage("tokens: cannot open " .. tostring(err)) end
  end
  local total, batch, n = 0, {}, 0
  local out = io.stdout
  local function flush()
    if n == 0 then return end
    batch.n = n
    local counts = tokenize.count_list(batch, enc)
    for i = 1, n do
      total = total + counts[i]
      counts[i] = tostring(counts[i])
    end
    out:write(table.concat(counts, "\n", 1, n), "\n")
    batch, n = {}, 0
  end
  for line in f:lines("L") do
    if line:sub(-1) == "\n" then
      line = line:sub(-2, -2) == "\r" and line:sub(1, -3) or line:sub(1, -2)
    end
    n = n + 1
    batch[n] = line
    if n == BATCH then flush() end
  end
  flush()
  if f ~= io.stdin then f:close() end
  if opts.total then out:write(tostring(total), "\n") end
  return 0
end

return M
