-- The cost of the pack sandbox: the same eval_fn (a Lua loop over every
-- prediction: word count and a few string operations) and the same
-- per-row score_row, loaded trusted (no membrane, no hook) and untrusted
-- (read-only views, copied results, instruction hook, memory cap), run
-- through evaluate over N rows. Prints rows/s for each and the ratio.
local evalua = require "evalua"
local N = tonumber(arg[1]) or 200000
local REPS = tonumber(arg[2]) or 3
local dir = os.tmpname()
os.remove(dir)
os.execute("mkdir -p " .. dir)
local f = io.open(dir .. "/pack.lua", "w")
f:write([[
return {
  { name = "words", eval_fn = function(predictions, inputs)
      local scores = { n = predictions.n }
      for i = 1, predictions.n do
        local p = predictions[i]
        local _, w = p:gsub("%S+", "")
        scores[i] = w + #inputs[i] % 7 + (p:find("idiot", 1, true) and 1 or 0)
      end
      return { scores = scores }
    end },
  { name = "rowlen", score_row = function(a) return #a.predictions, nil end, params = { "predictions" } },
}
]])
f:close()
local rows = {}
local words = { "the", "cat", "sat", "on", "a", "mat", "and", "you", "idiot", "bread" }
for i = 1, N do
  local p = {}
  for j = 1, 8 + i % 9 do p[j] = words[(i * j) % #words + 1] end
  rows[i] = { inputs = "question " .. i, predictions = table.concat(p, " ") }
end
local data = evalua.table.from_rows(rows, { columns = { "inputs", "predictions" } })
local function run(trusted, which)
  local ms = evalua.metrics.load(dir .. "/pack.lua", { trusted = trusted })
  local best = math.huge
  local result
  for _ = 1, REPS do
    local t0 = os.clock()
    local r = evalua.evaluate{ data = data, predictions = "predictions",
      extra_metrics = { ms[which] } }
    local t = os.clock() - t0
    if t < best then best = t end
    result = r.metrics[ms[which].name .. "/mean"]
  end
  return best, result
end
print(string.format("rows: %d, best of %d, CPU seconds (os.clock)", N, REPS))
for _, which in ipairs({ 1, 2 }) do
  local label = which == 1 and "eval_fn (one call, whole columns)" or "score_row (one call per row)"
  local t_trusted, r1 = run(true, which)
  local t_sandbox, r2 = run(false, which)
  assert(r1 == r2, "results differ: " .. tostring(r1) .. " vs " .. tostring(r2))
  print(string.format("%-36s trusted %9.0f rows/s   sandboxed %9.0f rows/s   sandbox/trusted time %.2fx",
    label, N / t_trusted, N / t_sandbox, t_sandbox / t_trusted))
end
-- the eval_fn alone, called directly on column lists (no evaluate around it)
local preds, ins = { n = N }, { n = N }
for i = 1, N do preds[i], ins[i] = rows[i].predictions, rows[i].inputs end
local function direct(trusted)
  local m = evalua.metrics.load(dir .. "/pack.lua", { trusted = trusted })[1]
  local best, res = math.huge, nil
  for _ = 1, REPS do
    local t0 = os.clock()
    local mv = m{ predictions = preds, inputs = ins }
    local t = os.clock() - t0
    if t < best then best = t end
    res = mv.scores[N]
  end
  return best, res
end
local t1, a = direct(true)
local t2, b = direct(false)
assert(a == b, "results differ")
print(string.format("%-36s trusted %9.0f rows/s   sandboxed %9.0f rows/s   sandbox/trusted time %.2fx",
  "eval_fn alone (direct call)", N / t1, N / t2, t2 / t1))
os.execute("rm -rf " .. dir)
