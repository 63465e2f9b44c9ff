-- evalua.plot.histogram: the distribution of scores, one panel per metric
-- (small multiples when there are several). Copy and change freely.
--   plot.histogram{ file = "out/scores.png", values = { 1, 4, 5, 5, 3 }, title = "Faithfulness" }
--   plot.histogram{ file = "out/all.svg", values = { toxicity = tox, ari = ari } }
--   plot.histogram{ file = "out/t.png", table = results_table, columns = { "toxicity/v1/score" } }
-- Options: values (a list, or name -> list), or table + column / columns;
-- bins (default: one per integer for small integer scores, else Sturges),
-- range {lo, hi}, title, xlabel (default "score of a row"), ylabel ("number
-- of rows"), width, height. Titles too long for the width shrink or wrap.
local plot = require "evalua.plot"

local API = "plot.histogram"

-- -> list of { name =, values = {numbers} }
local function series(opts)
  local out = {}
  if opts.table ~= nil then
    if opts.values ~= nil then plot.fail(API, "give values or table, not both") end
    local names = opts.columns or { opts.column }
    if type(names) ~= "table" or #names == 0 then plot.fail(API, "field 'column' or 'columns' is needed with table") end
    for _, name in ipairs(names) do
      out[#out + 1] = { name = name, values = plot.numbers(API, "column '" .. tostring(name) .. "'",
        plot.column(API, opts.table, name)) }
    end
  elseif type(opts.values) ~= "table" then
    plot.fail(API, "field 'values' must be a list of numbers or a table of lists, got %s", type(opts.values))
  elseif opts.values[1] ~= nil or (opts.values.n or 0) > 0 or next(opts.values) == nil then
    out[1] = { name = opts.title or "", values = plot.numbers(API, "values", opts.values) }
  else
    local names = {}
    for k in pairs(opts.values) do names[#names + 1] = tostring(k) end
    table.sort(names)
    for _, name in ipairs(names) do
      out[#out + 1] = { name = name, values = plot.numbers(API, "values '" .. name .. "'", opts.values[name]) }
    end
  end
  return out
end

-- bin edges for the values: {lo, hi, count, integer_bins}
local function binning(vals, opts)
  local lo, hi = math.huge, -math.huge
  local all_int = true
  for _, v in ipairs(vals) do
    lo, hi = math.min(lo, v), math.max(hi, v)
    if v ~= math.floor(v) then all_int = false end
  end
  if opts.range then lo, hi = opts.range[1], opts.range[2] end
  if #vals == 0 and not opts.range then lo, hi = 0, 1 end
  if opts.bins == nil and all_int and hi - lo <= 20 and #vals > 0 then
    return lo - 0.5, hi + 0.5, math.floor(hi - lo) + 1, true
  end
  if hi <= lo then lo, hi = lo - 0.5, hi + 0.5 end
  local nb = opts.bins or math.max(5, math.min(30, math.ceil(math.log(math.max(#vals, 1), 2)) + 1))
  return lo, hi, nb, false
end

local function panel(p, s, opts, vx0, vx1, vy0, vy1, color, title_px)
  local vals = s.values
  local lo, hi, nb, int_bins = binning(vals, opts)
  local counts = {}
  for b = 1, nb do counts[b] = 0 end
  local width = (hi - lo) / nb
  local sum = 0
  for _, v in ipairs(vals) do
    if v >= lo and v <= hi then
      local b = math.min(nb, math.floor((v - lo) / width) + 1)
      counts[b] = counts[b] + 1
    end
    sum = sum + v
  end
  local top = 1
  for b = 1, nb do top = math.max(top, counts[b]) end
  local ystep = plot.tick_step(0, top, 4)
  if ystep < 1 then ystep = 1 end
  local ymax = math.ceil(top * 1.12 / ystep) * ystep
  p:vpor(vx0, vx1, vy0, vy1)
  p:wind(lo, hi, 0, ymax)
  -- light grid, then the bars with a hairline gap between them
  p:rgb(table.unpack(plot.track))
  p:width(1)
  for y = ystep, ymax, ystep do p:join(lo, y, hi, y) end
  p:rgb(table.unpack(color))
  local gap = width * 0.04
  for b = 1, nb do
    if counts[b] > 0 then
      local x0, x1 = lo + (b - 1) * width + gap, lo + b * width - gap
      p:fill({ x0, x1, x1, x0 }, { 0, 0, counts[b], counts[b] })
    end
  end
  -- axes, labels, the mean
  p:rgb(table.unpack(plot.ink))
  p:schr(0, 0.9)
  local xstep = int_bins and math.max(1, plot.tick_step(lo + 0.5, hi - 0.5, 6)) or plot.tick_step(lo, hi, 6)
  local xfirst = math.ceil(lo / xstep - 1e-9) * xstep
  p:box("bt", xstep, 0, "bt", ystep, 0)
  plot.tick_labels(p, "l", 0, ymax, ystep)
  for x = xfirst, hi + xstep * 1e-9, xstep do
    p:mtex("b", 1.5, (x - lo) / (hi - lo), 0.5, plot.fmt(math.abs(x) < xstep * 1e-9 and 0 or x))
  end
  p:schr(0, 1)
  p:mtex("b", 3.2, 0.5, 0.5, opts.xlabel or "score of a row")
  p:mtex("l", 3.6, 0.5, 0.5, opts.ylabel or "number of rows")
  if #vals > 0 then
    local mean = sum / #vals
    if mean >= lo and mean <= hi then
      p:rgb(table.unpack(plot.ink))
      p:lsty(2)
      p:join(mean, 0, mean, ymax * 0.93)
      p:lsty(1)
      p:schr(0, 0.8)
      local right = mean > lo + (hi - lo) * 0.75
      p:ptex(mean + (right and -1 or 1) * (hi - lo) * 0.01, ymax * 0.95, 1, 0, right and 1 or 0,
        "mean " .. plot.fmt(mean) .. "  (n=" .. #vals .. ")")
    end
  else
    p:schr(0, 1)
    p:rgb(table.unpack(plot.muted))
    p:ptex((lo + hi) / 2, ymax / 2, 1, 0, 0.5, "no values")
  end
  -- the panel's name: shrunk, or on two lines, to fit over the panel
  p:font("sans", "upright", "bold")
  p:rgb(table.unpack(plot.ink))
  local lines, sc = plot.fit(s.name, title_px, 1.05, 0.8)
  p:schr(0, sc)
  for k, line in ipairs(lines) do p:mtex("t", 1.0 + (#lines - k) * 1.25 * sc, 0.0, 0, line) end
  p:font("sans", "upright", "medium")
end

return function(opts)
  if type(opts) ~= "table" then plot.fail(API, "expected a table of options, got %s", type(opts)) end
  if opts.bins ~= nil and (math.type(opts.bins) ~= "integer" or opts.bins < 1 or opts.bins > 1000) then
    plot.fail(API, "field 'bins' must be an integer 1..1000, got %s", tostring(opts.bins))
  end
  if opts.range ~= nil and (type(opts.range) ~= "table" or type(opts.range[1]) ~= "number"
      or type(opts.range[2]) ~= "number" or not (opts.range[2] > opts.range[1])) then
    plot.fail(API, "field 'range' must be {lo, hi} with lo < hi")
  end
  for _, k in ipairs { "title", "xlabel", "ylabel" } do
    if opts[k] ~= nil and type(opts[k]) ~= "string" then
      plot.fail(API, "field '%s' must be a string, got %s", k, type(opts[k]))
    end
  end
  local list = series(opts)
  local k = #list
  local cols = math.min(k, 3)
  local rows = math.ceil(k / cols)
  local allowed = { values = true, table = true, column = true, columns = true, bins = true,
    range = true, title = true, xlabel = true, ylabel = true }
  local W = opts.width or (k == 1 and 640 or 420 * cols)
  local tlines, tscale = {}, 1.25
  if k > 1 and opts.title then tlines, tscale = plot.fit(opts.title, W - 24, 1.25, 0.9) end
  local head = #tlines > 0 and math.floor(15 + #tlines * 20 * tscale + 0.5) or 0
  local H = opts.height or (k == 1 and 400 or 300 * rows + head)
  local p <close> = plot.open(API, opts, allowed, W, H)
  if head > 0 then
    p:vpor(0, 1, 0, 1)
    p:wind(0, W, H, 0)
    p:font("sans", "upright", "bold")
    p:schr(0, tscale)
    for k2, line in ipairs(tlines) do p:ptex(W / 2, 4 + k2 * 20 * tscale, 1, 0, 0.5, line) end
    p:font("sans", "upright", "medium")
  end
  -- cells in pixels; margins leave room for tick labels, axis labels, title
  local cw, ch = W / cols, (H - head) / rows
  for i, s in ipairs(list) do
    local c, r = (i - 1) % cols, (i - 1) // cols
    local px0, py1 = c * cw, head + r * ch
    panel(p, s, opts, (px0 + 72) / W, (px0 + cw - 18) / W, 1 - (py1 + ch - 54) / H,
      1 - (py1 + 46) / H, plot.palette[(i - 1) % #plot.palette + 1], cw - 72 - 18)
  end
  p:close()
  return opts.file
end
