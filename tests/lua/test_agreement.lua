-- Judge-vs-human agreement: every statistic against the scipy/sklearn values
-- committed in tests/data/agreement/expected.json (gen_expected.py), ties,
-- constant columns, n < 3, missing rows, and the seeded bootstrap intervals.
local h = require "helper"
local evalua = require "evalua"
local cjson = require "cjson"

local data = cjson.decode(h.read(h.source_dir .. "/tests/data/agreement/expected.json"))
local STATS = { "exact", "within_one", "kappa", "weighted_kappa", "spearman", "kendall", "pearson", "bias" }

-- JSON null (cjson.null) becomes a Lua nil in the column list
local function col(list)
  local out = { n = #list }
  for i, v in ipairs(list) do if v ~= cjson.null then out[i] = v end end
  return out
end

h.case("every statistic equals scipy/sklearn to 1e-9", function()
  local checked = 0
  for _, c in ipairs(data.cases) do
    local scale = c.scale ~= cjson.null and c.scale or nil
    local a = evalua.stats.agreement(col(c.judge), col(c.human), { scale = scale, bootstrap = 0 })
    local e = c.expected
    h.eq(a.n, e.n, c.name .. " n")
    for _, s in ipairs(STATS) do
      local want = e[s]
      if want == cjson.null then
        assert(a[s] ~= a[s], c.name .. " " .. s .. ": expected NaN, got " .. tostring(a[s]))
        checked = checked + 1
      elseif want ~= nil then
        h.near(a[s], want, 1e-9, c.name .. " " .. s)
        checked = checked + 1
      elseif s == "kappa" or s == "weighted_kappa" then
        -- sklearn was not asked (non-integer scores): NaN here, with a warning
        assert(a[s] ~= a[s], c.name .. " " .. s .. " should be NaN for non-integer scores")
        assert(table.concat(a.warnings):find("need integer scores", 1, true))
      end
    end
  end
  assert(checked > 150, "too few values checked: " .. checked)
end)

h.case("hand-computed kappa, confusion, bias", function()
  -- judge 1,1,2,2 vs human 1,2,2,2: po = 3/4; pe = (2/4*1/4) + (2/4*3/4) = 1/2 -> kappa 0.5
  local a = evalua.stats.agreement({ 1, 1, 2, 2 }, { 1, 2, 2, 2 }, { bootstrap = 0 })
  h.near(a.kappa, 0.5, 1e-12, "kappa")
  h.near(a.exact, 0.75, 1e-12, "exact")
  h.near(a.bias, -0.25, 1e-12, "bias")
  h.same(a.confusion.labels, { 1, 2 })
  -- rows: human label, columns: judge label
  h.same(a.confusion.counts, { { 1, 0 }, { 1, 2 } })
  -- with a scale, unobserved labels are rows and columns too
  local b = evalua.stats.agreement({ 1, 1, 2, 2 }, { 1, 2, 2, 2 }, { scale = { 1, 5 }, bootstrap = 0 })
  h.eq(#b.confusion.labels, 5, "labels over the scale")
  h.near(b.kappa, 0.5, 1e-12, "unweighted kappa ignores unused labels")
end)

h.case("constant column: NaN with a warning, never a crash", function()
  local a = evalua.stats.agreement({ 3, 3, 3, 3, 3 }, { 1, 2, 3, 4, 5 }, { scale = { 1, 5 } })
  assert(a.pearson ~= a.pearson and a.spearman ~= a.spearman and a.kendall ~= a.kendall)
  local joined = table.concat(a.warnings, "\n")
  assert(joined:find("judge's scores are all equal", 1, true), joined)
  assert(a.ci.pearson == nil, "no interval for an undefined statistic")
  assert(a.ci.exact, "defined statistics keep their interval")
  local b = evalua.stats.agreement({ 2, 2, 2 }, { 2, 2, 2 }, { bootstrap = 10 })
  assert(b.kappa ~= b.kappa, "kappa of one shared label is NaN")
  h.eq(b.exact, 1, "exact")
  assert(table.concat(b.warnings, "\n"):find("single label", 1, true))
end)

h.case("n < 3 and missing rows", function()
  local a = evalua.stats.agreement({ 1, 2 }, { 1, 2 }, { bootstrap = 50 })
  h.eq(a.n, 2, "n")
  assert(a.pearson ~= a.pearson, "pearson undefined at n = 2")
  assert(table.concat(a.warnings, "\n"):find("n = 2 < 3", 1, true))
  h.eq(a.exact, 1, "exact still defined")
  local e = evalua.stats.agreement({ n = 3 }, { 1, 2, 3 })
  h.eq(e.n, 0, "no pairs")
  assert(e.kappa ~= e.kappa)
  -- nils are skipped pairwise; numeric strings (CSV cells) count
  local s = evalua.stats.agreement({ n = 5, 1, nil, 3, "4", 5 }, { n = 5, 1, 2, nil, 4, "x" }, { bootstrap = 0 })
  h.eq(s.n, 2, "pairs")
  h.eq(s.skipped, 3, "skipped")
  h.raises("judge has 3 values, human has 2", evalua.stats.agreement, { 1, 2, 3 }, { 1, 2 })
  h.raises("scale must be { low, high }", evalua.stats.agreement, { 1 }, { 1 }, { scale = { 5, 1 } })
end)

h.case("bootstrap intervals: seeded, cover the estimate, narrow with n", function()
  local c
  for _, x in ipairs(data.cases) do if x.name == "close_500" then c = x end end
  local j, hu = col(c.judge), col(c.human)
  local a = evalua.stats.agreement(j, hu, { scale = { 1, 5 }, bootstrap = 500, seed = 1 })
  local b = evalua.stats.agreement(j, hu, { scale = { 1, 5 }, bootstrap = 500, seed = 1 })
  local d = evalua.stats.agreement(j, hu, { scale = { 1, 5 }, bootstrap = 500, seed = 2 })
  for _, s in ipairs(STATS) do
    local ci = a.ci[s]
    assert(ci, s .. " has an interval")
    h.eq(ci[1], b.ci[s][1], s .. " same seed, same interval")
    assert(ci[1] <= a[s] + 1e-12 and a[s] <= ci[2] + 1e-12, s .. " interval covers the estimate")
  end
  assert(a.ci.kappa[1] ~= d.ci.kappa[1], "another seed, another interval")
  -- a quarter of the rows: a wider interval
  local jq, hq = { n = 125 }, { n = 125 }
  for i = 1, 125 do jq[i], hq[i] = j[i], hu[i] end
  local q = evalua.stats.agreement(jq, hq, { scale = { 1, 5 }, bootstrap = 500, seed = 1 })
  assert(q.ci.kappa[2] - q.ci.kappa[1] > a.ci.kappa[2] - a.ci.kappa[1], "fewer rows, wider interval")
  -- identical rows: every resample is the same, the interval is a point
  local p = evalua.stats.agreement({ 1, 1, 1 }, { 2, 2, 2 }, { bootstrap = 100 })
  h.eq(p.ci.bias[1], -1, "lo")
  h.eq(p.ci.bias[2], -1, "hi")
end)

h.case("the interval is the percentile bootstrap over rows (naive re-implementation)", function()
  local ag = require "evalua.agreement"
  local j, hu = { 1, 2, 3, 4, 5, 2, 3 }, { 1, 2, 2, 5, 5, 1, 4 }
  local B, seed = 400, 11
  local a = evalua.stats.agreement(j, hu, { bootstrap = B, seed = seed, level = 0.9 })
  local draw = ag.rng(seed)
  local means = {}
  for b = 1, B do
    local s = 0
    for _ = 1, 7 do local r = draw(7) s = s + j[r] - hu[r] end
    means[b] = s / 7
  end
  table.sort(means)
  h.near(a.ci.bias[1], ag.percentile(means, 0.05), 1e-12, "lo")
  h.near(a.ci.bias[2], ag.percentile(means, 0.95), 1e-12, "hi")
end)

h.case("the label-table path equals the row-by-row path, intervals included", function()
  local ag = require "evalua.agreement"
  for _, c in ipairs(data.cases) do
    local scale = c.scale ~= cjson.null and c.scale or nil
    ag.table_path = true
    local t = evalua.stats.agreement(col(c.judge), col(c.human), { scale = scale, bootstrap = 50, seed = 3 })
    ag.table_path = false
    local r = evalua.stats.agreement(col(c.judge), col(c.human), { scale = scale, bootstrap = 50, seed = 3 })
    ag.table_path = true
    for _, s in ipairs(STATS) do
      if r[s] ~= r[s] then assert(t[s] ~= t[s], c.name .. " " .. s .. " NaN on one path only")
      else h.near(t[s], r[s], 1e-12, c.name .. " " .. s) end
      if r.ci[s] then
        h.near(t.ci[s][1], r.ci[s][1], 1e-12, c.name .. " " .. s .. " lo")
        h.near(t.ci[s][2], r.ci[s][2], 1e-12, c.name .. " " .. s .. " hi")
      end
    end
  end
end)

h.done()
