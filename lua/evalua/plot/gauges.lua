-- evalua.plot.gauges: one half-circle gauge per value, side by side, the
-- number in the middle and the range at the ends. Copy and change freely.
--   plot.gauges{ file = "out/gauges.png",
--     { value = 4.2, max = 5, title = "Cultural sensitivity" },
--     { value = 97.5, min = 0, max = 100, title = "Non-toxicity %" } }
-- Options: file (.png or .svg), width (default 300 per gauge), height (240),
-- title (over all gauges). Per gauge: value, max, min (0), title, color {r,g,b}.
local plot = require "evalua.plot"

local API = "plot.gauges"

local function check(opts)
  local gauges = {}
  for i, g in ipairs(opts) do
    local function bad(fmt, ...) plot.fail(API, "gauge %d: " .. fmt, i, ...) end
    if type(g) ~= "table" then bad("expected a table, got %s", type(g)) end
    if type(g.value) ~= "number" then bad("value must be a number, got %s", type(g.value)) end
    if type(g.max) ~= "number" then bad("max must be a number, got %s", type(g.max)) end
    local min = g.min or 0
    if type(min) ~= "number" then bad("min must be a number, got %s", type(min)) end
    if not (g.max > min) then bad("max (%s) must be greater than min (%s)", plot.fmt(g.max), plot.fmt(min)) end
    if g.title ~= nil and type(g.title) ~= "string" then bad("title must be a string, got %s", type(g.title)) end
    local color = g.color or plot.palette[(i - 1) % #plot.palette + 1]
    if type(color) ~= "table" or #color ~= 3 then bad("color must be {r, g, b}") end
    gauges[i] = { value = g.value, min = min, max = g.max, title = g.title or "", color = color }
  end
  if #gauges == 0 then plot.fail(API, "no gauges given") end
  if opts.title ~= nil and type(opts.title) ~= "string" then
    plot.fail(API, "field 'title' must be a string, got %s", type(opts.title))
  end
  return gauges
end

-- The ring between radii r0 and r1 from angle a0 down to a1 (degrees, 180 is
-- the left end), as a polygon.
local function ring(p, a0, a1, r0, r1)
  local xs, ys = {}, {}
  local steps = math.max(2, math.ceil(math.abs(a0 - a1) / 2))
  for k = 0, steps do
    local a = math.rad(a0 + (a1 - a0) * k / steps)
    xs[#xs + 1], ys[#ys + 1] = r1 * math.cos(a), r1 * math.sin(a)
  end
  for k = steps, 0, -1 do
    local a = math.rad(a0 + (a1 - a0) * k / steps)
    xs[#xs + 1], ys[#ys + 1] = r0 * math.cos(a), r0 * math.sin(a)
  end
  p:fill(xs, ys)
end

return function(opts)
  if type(opts) ~= "table" then plot.fail(API, "expected a table of options, got %s", type(opts)) end
  local gauges = check(opts)
  local n = #gauges
  local p <close> = plot.open(API, opts, { title = true }, 300 * n, 240)
  local top = opts.title and 0.86 or 0.98
  if opts.title then
    p:vpor(0, 1, 0, 1)
    p:wind(0, 1, 0, 1)
    p:font("sans", "upright", "bold")
    p:schr(0, 1.25)
    p:rgb(table.unpack(plot.ink))
    p:ptex(0.5, 0.93, 1, 0, 0.5, opts.title)
  end
  -- each title fits its gauge's width: shrunk a little, or on two lines
  local W = opts.width or 300 * n
  local fits, two = {}, false
  for i, g in ipairs(gauges) do
    local lines, sc = plot.fit(g.title, 0.9 * W / n, 1.1, 0.85) -- PLplot clips text at the viewport
    fits[i] = { lines = lines, scale = sc }
    two = two or #lines > 1
  end
  local extra = two and 0.3 or 0 -- world units above the arc for a second title line
  for i, g in ipairs(gauges) do
    -- the largest box of the right shape inside this gauge's cell
    local x0, x1 = (i - 1) / n, i / n
    local pad = 0.04 / n
    p:vpas(x0 + pad, x1 - pad, 0.02, top, (1.6 + extra) / 2.5)
    p:wind(-1.25, 1.25, -0.32, 1.28 + extra)
    local vx0, vx1 = p:gvpd()
    local px_per_unit = (vx1 - vx0) * W / 2.5
    local frac = (g.value - g.min) / (g.max - g.min)
    if frac ~= frac then frac = 0 end
    frac = math.max(0, math.min(1, frac))
    p:rgb(table.unpack(plot.track))
    ring(p, 180, 0, 0.7, 1.0)
    if frac > 0 then
      p:rgb(table.unpack(g.color))
      ring(p, 180, 180 - 180 * frac, 0.7, 1.0)
    end
    -- the number in the middle, the range under the ends, the title on top
    p:rgb(table.unpack(plot.ink))
    p:font("sans", "upright", "bold")
    local text = plot.fmt(g.value)
    p:schr(0, #text <= 4 and 2.3 or 1.9)
    p:ptex(0, 0.06, 1, 0, 0.5, text)
    p:font("sans", "upright", "medium")
    p:schr(0, 0.9)
    p:rgb(table.unpack(plot.muted))
    p:ptex(-0.85, -0.2, 1, 0, 0.5, plot.fmt(g.min))
    p:ptex(0.85, -0.2, 1, 0, 0.5, plot.fmt(g.max))
    p:rgb(table.unpack(plot.ink))
    local f = fits[i]
    p:schr(0, f.scale)
    local step = 1.3 * 12 * f.scale / px_per_unit
    for k, line in ipairs(f.lines) do
      p:ptex(0, 1.14 + (#f.lines - k) * step, 1, 0, 0.5, line)
    end
  end
  p:close()
  return opts.file
end
