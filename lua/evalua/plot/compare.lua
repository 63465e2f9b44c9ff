-- evalua.plot.compare: runs side by side, one panel per metric (each with its
-- own scale), a bar per run with its interval as an error bar. Copy freely.
--   plot.compare{ file = "out/compare.png", runs = { "gpt-4o", "gpt-4o-mini" },
--     metrics = { "faithfulness/v1/mean", "toxicity/v1/mean" },
--     values = { { 4.1, 0.02 }, { 3.6, 0.03 } },                 -- values[run][metric]
--     intervals = { { { 3.9, 4.3 }, { 0.01, 0.03 } }, { { 3.3, 3.9 }, nil } } }
-- Options: runs, metrics, values, intervals (optional, same shape as values,
-- each {lo, hi} or nil), title, width, height.
local plot = require "evalua.plot"

local API = "plot.compare"

local function check(opts)
  local function list_of_strings(field)
    local v = opts[field]
    if type(v) ~= "table" or #v == 0 then plot.fail(API, "field '%s' must be a non-empty list of names", field) end
    for i, s in ipairs(v) do
      if type(s) ~= "string" then plot.fail(API, "%s[%d] must be a string, got %s", field, i, type(s)) end
    end
    return v
  end
  local runs, metrics = list_of_strings("runs"), list_of_strings("metrics")
  if type(opts.values) ~= "table" then plot.fail(API, "field 'values' must be a table, got %s", type(opts.values)) end
  if opts.intervals ~= nil and type(opts.intervals) ~= "table" then
    plot.fail(API, "field 'intervals' must be a table, got %s", type(opts.intervals))
  end
  for r = 1, #runs do
    local row = opts.values[r]
    if type(row) ~= "table" then plot.fail(API, "values[%d] must be a list (one value per metric), got %s", r, type(row)) end
    for m = 1, #metrics do
      local v = row[m]
      if v ~= nil and type(v) ~= "number" then plot.fail(API, "values[%d][%d] must be a number, got %s", r, m, type(v)) end
      local iv = opts.intervals and opts.intervals[r] and opts.intervals[r][m]
      if iv ~= nil and (type(iv) ~= "table" or type(iv[1]) ~= "number" or type(iv[2]) ~= "number" or iv[1] > iv[2]) then
        plot.fail(API, "intervals[%d][%d] must be {lo, hi} with lo <= hi", r, m)
      end
    end
  end
  if opts.title ~= nil and type(opts.title) ~= "string" then
    plot.fail(API, "field 'title' must be a string, got %s", type(opts.title))
  end
  return runs, metrics
end

local function panel(p, opts, m, name, runs, px_w, px_h)
  local lo, hi = 0, 0
  for r = 1, #runs do
    local v = opts.values[r][m]
    local iv = opts.intervals and opts.intervals[r] and opts.intervals[r][m]
    for _, x in ipairs { v or 0, iv and iv[1] or 0, iv and iv[2] or 0 } do
      if x == x then lo, hi = math.min(lo, x), math.max(hi, x) end
    end
  end
  if hi == lo then hi = lo + 1 end
  local step = plot.tick_step(lo, hi, 4)
  local ymin = lo < 0 and math.floor(lo * 1.15 / step) * step or 0
  local ymax = math.ceil(hi * 1.18 / step) * step
  if ymax <= hi then ymax = hi + step end
  p:wind(0, #runs, ymin, ymax)
  p:rgb(table.unpack(plot.track))
  for y = ymin, ymax + step / 2, step do p:join(0, y, #runs, y) end
  if ymin < 0 then
    p:rgb(table.unpack(plot.muted))
    p:join(0, 0, #runs, 0)
  end
  for r = 1, #runs do
    local v = opts.values[r][m]
    local x0, x1 = r - 1 + 0.18, r - 0.18
    if v and v == v then
      p:rgb(table.unpack(plot.palette[(r - 1) % #plot.palette + 1]))
      p:fill({ x0, x1, x1, x0 }, { 0, 0, v, v })
    end
    local iv = opts.intervals and opts.intervals[r] and opts.intervals[r][m]
    local label_y = v or 0
    if iv then
      local xc = r - 0.5
      p:rgb(table.unpack(plot.ink))
      p:width(1.5)
      p:join(xc, iv[1], xc, iv[2])
      p:join(xc - 0.08, iv[1], xc + 0.08, iv[1])
      p:join(xc - 0.08, iv[2], xc + 0.08, iv[2])
      p:width(1)
      label_y = math.max(label_y, iv[2])
    end
    p:rgb(table.unpack(plot.ink))
    p:schr(0, 0.85)
    p:ptex(r - 0.5, label_y + (ymax - ymin) * 12 / px_h, 1, 0, 0.5, v and plot.fmt(v) or "n/a")
  end
  p:rgb(table.unpack(plot.ink))
  p:schr(0, 0.85)
  p:box("b", 0, 0, "bt", step, 0)
  plot.tick_labels(p, "l", ymin, ymax, step)
  -- the metric's name over its panel: shrunk, or on two lines, to fit
  p:font("sans", "upright", "bold")
  local lines, sc = plot.fit(name, px_w, 1, 0.8)
  p:schr(0, sc)
  for k, line in ipairs(lines) do
    p:mtex("t", 0.9 + (#lines - k) * 1.25 * sc, 0.0, 0, line)
  end
  p:font("sans", "upright", "medium")
end

return function(opts)
  if type(opts) ~= "table" then plot.fail(API, "expected a table of options, got %s", type(opts)) end
  local runs, metrics = check(opts)
  local k = #metrics
  local cols = math.min(k, 4)
  local rows = math.ceil(k / cols)
  local W = opts.width or math.max(360, cols * math.max(280, 70 + 90 * #runs))
  -- the title (fitted to the width) and the legend (wrapped onto more
  -- lines when the runs' names do not fit on one) take the top
  local tlines, tscale = {}, 1.25
  if opts.title then tlines, tscale = plot.fit(opts.title, W - 24, 1.25, 0.9) end
  local legend, lx, ly = {}, 16, 0
  for r, name in ipairs(runs) do
    local label = plot.cut(name, W - 50, 1)
    local w = 18 + plot.text_width(label, 1) + 22
    if lx > 16 and lx + w > W - 8 then lx, ly = 16, ly + 1 end
    legend[r] = { x = lx, line = ly, label = label }
    lx = lx + w
  end
  local title_h = #tlines > 0 and (1 + #tlines * 20 * tscale) or 0
  local head = math.floor(title_h + 16 + (ly + 1) * 22 + 6)
  local H = opts.height or head + rows * 260
  local p <close> = plot.open(API, opts, { runs = true, metrics = true, values = true,
    intervals = true, title = true }, W, H)
  p:vpor(0, 1, 0, 1)
  p:wind(0, W, H, 0)
  if #tlines > 0 then
    p:font("sans", "upright", "bold")
    p:schr(0, tscale)
    for k, line in ipairs(tlines) do p:ptex(W / 2, 4 + k * 20 * tscale, 1, 0, 0.5, line) end
    p:font("sans", "upright", "medium")
  end
  p:schr(0, 1)
  for r, item in ipairs(legend) do
    local x, y = item.x, title_h + 16 + item.line * 22
    p:rgb(table.unpack(plot.palette[(r - 1) % #plot.palette + 1]))
    p:fill({ x, x + 12, x + 12, x }, { y + 6, y + 6, y - 6, y - 6 })
    p:rgb(table.unpack(plot.ink))
    p:ptex(x + 18, y + 4, 1, 0, 0, item.label)
  end
  local cw, ch = W / cols, (H - head) / rows
  for m, name in ipairs(metrics) do
    local c, r = (m - 1) % cols, (m - 1) // cols
    local px0, py0 = c * cw, head + r * ch
    local x0, x1, y0, y1 = px0 + 56, px0 + cw - 14, py0 + 44, py0 + ch - 22
    p:vpor(x0 / W, x1 / W, 1 - y1 / H, 1 - y0 / H)
    panel(p, opts, m, name, runs, cw - 60, y1 - y0)
  end
  p:close()
  return opts.file
end
