-- report.lua: reads bench.lua's and bench.js's JSON lines on stdin, prints
-- the comparison table, and exits 1 when evalua's whole-text count differs
-- from npm tiktoken's (the reference).
local cjson = require "cjson"
local rows = {}
for line in io.lines() do
  if line:match("^{") then rows[#rows + 1] = cjson.decode(line) end
end
local function find(impl, mode, enc)
  for _, r in ipairs(rows) do
    if r.impl == impl and r.mode == mode and r.encoding == enc then return r end
  end
end
local status = 0
for _, enc in ipairs({ "cl100k_base", "o200k_base" }) do
  local ref = find("tiktoken-wasm", "whole text", enc)
  local build = find("evalua", "table build", enc)
  print(string.format("\n%s (evalua rank table build: %.1f ms CPU)", enc, build and build.cpu_ms or 0 / 0))
  print(string.format("  %-15s %-13s %9s %9s %8s %8s %10s", "impl", "mode", "MB/s", "CPU MB/s",
    "x wall", "x CPU", "tokens"))
  for _, spec in ipairs({ { "evalua", "whole text" }, { "evalua", "line by line" },
    { "tiktoken-wasm", "whole text" }, { "gpt-tokenizer", "whole text" } }) do
    local r = find(spec[1], spec[2], enc)
    if r then
      local note = ""
      if spec[2] == "whole text" and ref and r.tokens ~= ref.tokens then
        note = string.format("  (differs from tiktoken by %d)", r.tokens - ref.tokens)
        if spec[1] == "evalua" then status = 1 end
      end
      print(string.format("  %-15s %-13s %9.2f %9.2f %8.2f %8.2f %10d%s", spec[1], spec[2], r.mb_s,
        r.cpu_mb_s, ref and r.mb_s / ref.mb_s or 0 / 0, ref and r.cpu_mb_s / ref.cpu_mb_s or 0 / 0,
        r.tokens, note))
    end
  end
end
print("\n(x = speed relative to npm tiktoken; line by line counts each line separately, so its total differs)")
os.exit(status)
