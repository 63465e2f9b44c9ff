-- evalua judge --print-prompt SCRIPT.lua [--row N] [args]: runs an eval
-- script with judge requests switched off and prints, for the chosen row,
-- the exact prompt every judge metric would send. Model outputs still come
-- from the model (or the response cache), since the prompt contains them.
local util = require "evalua.util"

local M = { summary = "print the exact judge prompts of a script for one row, sending no judge request" }

function M.main(args)
  local row, script, rest = 1, nil, {}
  local print_prompt = false
  local i = 1
  while i <= #args do
    local a = args[i]
    if a == "--print-prompt" then print_prompt = true
    elseif a == "--row" then
      i = i + 1
      row = math.tointeger(tonumber(args[i] or ""))
      if not row or row < 1 then util.usage("judge: --row needs a positive integer") end
    elseif a == "--all" then row = nil
    elseif script then rest[#rest + 1] = a -- the script's own arguments
    elseif a:sub(1, 1) == "-" then util.usage("judge: unknown option '" .. a .. "'")
    else script = a end
    i = i + 1
  end
  if not print_prompt then util.usage("judge: usage: evalua judge --print-prompt SCRIPT.lua [--row N | --all] [args]") end
  if not script then util.usage("judge: a script is required") end
  local chunk, err = loadfile(script)
  if not chunk then
    if not io.open(script, "rb") then util.usage("judge: cannot open '" .. script .. "'") end
    error(err, 0)
  end
  local genai = require "evalua.metrics.genai"
  local printed = 0
  genai.prompt_sink = function(name, r, prompt)
    if row == nil or r == row then
      io.stdout:write(string.format("===== %s, row %d =====\n", name, r), prompt, "\n")
      printed = printed + 1
    end
  end
  local config = require "evalua.config"
  config.quiet = true
  config.no_store = true -- nothing is judged, so no run is stored
  _G.arg = { [0] = script, table.unpack(rest) }
  -- stdout carries the prompts: the script's own prints go to stderr
  local real_print = print
  _G.print = function(...)
    local parts = table.pack(...)
    for i = 1, parts.n do parts[i] = tostring(parts[i]) end
    io.stderr:write(table.concat(parts, "\t", 1, parts.n), "\n")
  end
  local ok, e = pcall(chunk, table.unpack(rest))
  _G.print = real_print
  genai.prompt_sink = nil
  if not ok then error(e, 0) end
  if printed == 0 then
    io.stderr:write("judge: no judge prompt was built", row and (" for row " .. row) or "", "\n")
    return 1
  end
  return 0
end

return M
