-- evalua.plot: charts drawn with PLplot, to PNG or SVG by file extension.
--   plot.pl         the primitives (engine/lplot.c), for charts of your own
--   plot.gauges     an arc gauge per value, side by side   (plot/gauges.lua)
--   plot.histogram  score distributions, one panel per metric (plot/histogram.lua)
--   plot.compare    grouped bars of runs x metrics with intervals (plot/compare.lua)
-- The helpers below are what the three charts share; a chart you copy and
-- change can keep using them.
local M = {}

M.pl = require "evalua.plot.pl"

-- a categorical palette (colour-blind safe, after Okabe and Ito, darkened a
-- little for contrast on white)
M.palette = {
  { 0, 114, 178 }, { 230, 159, 0 }, { 0, 158, 115 }, { 204, 121, 167 },
  { 86, 180, 233 }, { 213, 94, 0 }, { 240, 228, 66 }, { 80, 80, 80 },
}
M.ink = { 34, 38, 46 }       -- text and axes
M.muted = { 110, 118, 129 }  -- secondary text
M.track = { 229, 232, 237 }  -- backgrounds of gauges and grid lines

-- Raises "api: msg" at the caller of the chart function.
function M.fail(api, fmt, ...)
  error(api .. ": " .. string.format(fmt, ...), 0)
end

-- Checks opts.file, opts.width, opts.height and rejects unknown named fields;
-- returns an open plot handle (white page, sans font, ink colour).
function M.open(api, opts, allowed, width, height)
  if type(opts) ~= "table" then M.fail(api, "expected a table of options, got %s", type(opts)) end
  for k in pairs(opts) do
    if type(k) ~= "number" and not allowed[k] and k ~= "file" and k ~= "width" and k ~= "height" then
      M.fail(api, "unknown field '%s'", tostring(k))
    end
  end
  if type(opts.file) ~= "string" then
    M.fail(api, "field 'file' must be a string, got %s", type(opts.file))
  end
  local ext = opts.file:match("%.(%w+)$")
  ext = ext and ext:lower()
  if ext ~= "png" and ext ~= "svg" and ext ~= "pdf" then
    M.fail(api, "'%s': unknown file type (use .png or .svg)", opts.file)
  end
  for _, k in ipairs { "width", "height" } do
    local v = opts[k]
    if v ~= nil and (math.type(v) ~= "integer" or v < 16 or v > 16384) then
      M.fail(api, "field '%s' must be an integer 16..16384, got %s", k, tostring(v))
    end
  end
  local ok, p = pcall(M.pl.open, { file = opts.file, width = opts.width or width,
    height = opts.height or height })
  if not ok then M.fail(api, "%s", (tostring(p):gsub("^plot%.open: ", ""))) end
  p:rgb(table.unpack(M.ink))
  return p
end

-- The numbers of a list, skipping nil and NaN holes (a column list may have
-- them); any other non-number is an error naming what.
function M.numbers(api, what, list)
  if type(list) ~= "table" then M.fail(api, "%s must be a list of numbers, got %s", what, type(list)) end
  local n = list.n or #list
  local out = {}
  for i = 1, n do
    local v = list[i]
    if type(v) == "number" then
      if v == v then out[#out + 1] = v end
    elseif v ~= nil then
      M.fail(api, "%s: value %d must be a number, got %s", what, i, type(v))
    end
  end
  return out
end

-- A column of an evalua table (t:column) or of a plain table of columns.
function M.column(api, t, name)
  if type(name) ~= "string" then M.fail(api, "column name must be a string, got %s", type(name)) end
  local ok, col = pcall(function()
    if type(t.column) == "function" then return t:column(name) end
    return t[name]
  end)
  if not ok or type(col) ~= "table" then M.fail(api, "no column '%s' in the table", name) end
  return col
end

-- A "nice" tick step so that (hi - lo) spans about n ticks: 1, 2 or 5 x 10^k.
function M.tick_step(lo, hi, n)
  local span = hi - lo
  if not (span > 0) then return 1 end
  local raw = span / (n or 5)
  local mag = 10 ^ math.floor(math.log(raw, 10))
  for _, m in ipairs { 1, 2, 5, 10 } do
    if raw <= m * mag then return m * mag end
  end
  return 10 * mag
end

-- Short display of a number: integers as is, others with 3 significant
-- digits (0.731, 12.4, 1.50e+06); NaN and infinities by name.
function M.fmt(v)
  if v ~= v then return "n/a" end
  if v == math.huge then return "inf" end
  if v == -math.huge then return "-inf" end
  if math.type(v) == "integer" or (v == math.floor(v) and math.abs(v) < 1e5) then
    return string.format("%d", math.floor(v))
  end
  local a = math.abs(v)
  if a >= 1e5 or a < 1e-3 then return string.format("%.2e", v) end
  if a >= 100 then return string.format("%.1f", v) end
  return string.format("%.3g", v)
end

-- Labels the ticks lo, lo+step, ... <= hi on side "b" or "l" of the current
-- viewport with plot.fmt (PLplot's own labels switch to a x10^k factor).
function M.tick_labels(p, side, lo, hi, step)
  local n = math.floor((hi - lo) / step + 1e-9)
  for k = 0, n do
    local v = lo + k * step
    if math.abs(v) < step * 1e-9 then v = 0 end
    local pos = (v - lo) / (hi - lo)
    if side == "l" then
      p:mtex("lv", 0.7, pos, 1.0, M.fmt(v))
    else
      p:mtex("b", 1.5, pos, 0.5, M.fmt(v))
    end
  end
end

-- s cut to at most n characters (UTF-8 aware), with an ellipsis when cut.
function M.clip(s, n)
  if utf8.len(s) == nil or utf8.len(s) <= n then return s end
  return s:sub(1, utf8.offset(s, n) - 1) .. "…"
end

-- The width in pixels of text drawn at character scale `scale`, estimated
-- from DejaVu Sans' advance widths by character class (measured against
-- cairo's glyph positions); a little wide rather than narrow, so what fits
-- by it fits on the page.
local NARROW = "[%.,:;'|!iljIft%(%)%[%]/ ]"
function M.text_width(s, scale)
  local w = 0
  for _, c in utf8.codes(s) do
    local ch = utf8.char(c)
    if ch:match(NARROW) then w = w + 0.34
    elseif ch:match("[mwMW@]") then w = w + 0.98
    elseif ch:match("[A-Z%d]") then w = w + 0.66
    else w = w + 0.62 end
  end
  return w * 16 * (scale or 1) -- an em of PLplot's text at scale 1 is 16 px (measured)
end

-- Fits a title into avail pixels: at `scale` on one line if it fits; else
-- smaller, down to min_scale (default 0.8 of scale); else on two lines
-- broken at a space (or at a '/' or '_'), at the largest scale that fits;
-- else the second line is cut with an ellipsis. Returns lines, scale.
function M.fit(s, avail, scale, min_scale)
  scale = scale or 1
  min_scale = min_scale or scale * 0.8
  if s == "" then return { s }, scale end
  for sc = scale, min_scale - 1e-9, -0.05 do
    if M.text_width(s, sc) <= avail then return { s }, sc end
  end
  -- two lines: the break nearest the middle
  local best, best_d
  local n = #s
  for i = 2, n - 1 do
    local c = s:sub(i, i)
    if c == " " or c == "/" or c == "_" or c == "-" then
      local d = math.abs(M.text_width(s:sub(1, i)) - M.text_width(s:sub(i + 1)))
      if not best_d or d < best_d then best, best_d = i, d end
    end
  end
  if best then
    local keep = s:sub(best, best) ~= " "
    local a, b = s:sub(1, keep and best or best - 1), s:sub(best + 1)
    for sc = scale, min_scale - 1e-9, -0.05 do
      if M.text_width(a, sc) <= avail and M.text_width(b, sc) <= avail then return { a, b }, sc end
    end
    local lines = { a, M.cut(b, avail, min_scale) }
    if M.text_width(a, min_scale) > avail then lines[1] = M.cut(a, avail, min_scale) end
    return lines, min_scale
  end
  return { M.cut(s, avail, min_scale) }, min_scale
end

-- s cut at the end (with an ellipsis) until it fits avail pixels at scale.
function M.cut(s, avail, scale)
  if M.text_width(s, scale) <= avail then return s end
  local line = s
  while utf8.len(line) > 1 and M.text_width(line .. "…", scale) > avail do
    line = line:sub(1, utf8.offset(line, -1) - 1)
  end
  return line .. "…"
end

function M.gauges(opts) return require("evalua.plot.gauges")(opts) end
function M.histogram(opts) return require("evalua.plot.histogram")(opts) end
function M.compare(opts) return require("evalua.plot.compare")(opts) end

return M
