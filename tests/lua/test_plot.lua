-- evalua.plot: the PLplot binding (handles, streams, errors) and the charts
-- (gauges, histogram, compare) to PNG and SVG.
local h = require "helper"
local plot = require "evalua.plot"
local pl = plot.pl

local dir = h.tmpdir()

-- PNG: signature, IHDR width and height, and an IEND chunk at the end (the
-- file was finished).
local function png_size(path)
  local s = h.read(path)
  assert(s, "no file " .. path)
  assert(s:sub(1, 8) == "\137PNG\r\n\26\n", path .. ": not a PNG")
  assert(s:sub(13, 16) == "IHDR", path .. ": no IHDR")
  local w, ht = string.unpack(">I4I4", s, 17)
  assert(s:sub(-8, -5) == "IEND", path .. ": no IEND (unfinished file)")
  return w, ht, #s
end

-- A small XML well-formedness check: every tag closes in order, one root.
local function check_xml(s, what)
  local stack, roots = {}, 0
  s = s:gsub("^%s*<%?xml.-%?>", "")
  for slash, name, attrs, selfclose in s:gmatch("<(/?)([%w:_%-]+)([^>]-)(/?)>") do
    local _ = attrs
    if slash == "/" then
      local top = table.remove(stack)
      assert(top == name, string.format("%s: </%s> closes <%s>", what, name, tostring(top)))
    elseif selfclose == "/" then
      if #stack == 0 then roots = roots + 1 end
    else
      if #stack == 0 then roots = roots + 1 end
      stack[#stack + 1] = name
    end
  end
  assert(#stack == 0, what .. ": unclosed <" .. tostring(stack[#stack]) .. ">")
  h.eq(roots, 1, what .. ": root elements")
end

-- SVG: well formed, <svg> root of the given size in points, text drawn as
-- cairo glyphs (real fonts; Hershey text would be bare strokes)
local function check_svg(path, w, ht)
  local s = h.read(path)
  assert(s and #s > 500, path .. ": empty")
  check_xml(s, path)
  local sw, sh = s:match('<svg[^>]-width="([%d%.]+)pt" height="([%d%.]+)pt"')
  h.eq(tonumber(sw), w, path .. " width")
  h.eq(tonumber(sh), ht, path .. " height")
  assert(s:find('<symbol overflow="visible" id="glyph', 1, true), path .. ": no font glyphs")
  return s
end

h.case("pl.open: png and svg by extension, exact size, white page", function()
  for _, ext in ipairs { "png", "svg" } do
    local f = dir .. "/prim." .. ext
    do
      local p <close> = pl.open { file = f, width = 321, height = 123 }
      p:vpor(0.1, 0.9, 0.1, 0.9)
      p:wind(0, 10, 0, 5)
      p:box("bcnst", 0, 0, "bcnstv", 0, 0)
      p:lab("x", "y", "title")
      p:rgb(200, 30, 30)
      p:fill({ 1, 3, 3, 1 }, { 0, 0, 4, 4 })
      p:line({ 0, 5, 10 }, { 0, 5, 0 })
      p:ptex(5, 2, 1, 0, 0.5, "text")
      p:mtex("t", 1, 0.5, 0.5, "mtex")
      p:erry({ 5 }, { 1 }, { 2 })
      p:arc(7, 2, 1, 1, 0, 180, 0, true)
      p:poin({ 8 }, { 4 }, 2)
      p:join(0, 0, 10, 5)
    end
    if ext == "png" then
      local w, ht, n = png_size(f)
      h.eq(w, 321, "width")
      h.eq(ht, 123, "height")
      assert(n > 1500, "png too small: " .. n)
    else
      local s = check_svg(f, 321, 123)
      -- the background is white and the fill is our red
      assert(s:find("fill:rgb(100%,100%,100%)", 1, true), "white background")
      assert(s:find("fill:rgb(78.431373%,11.764706%,11.764706%)", 1, true), "red fill")
    end
  end
end)

h.case("pl: hist and bin draw", function()
  local f = dir .. "/hist.svg"
  local p <close> = pl.open { file = f, width = 300, height = 200 }
  p:env(0, 10, 0, 5)
  p:hist({ 1, 2, 2, 3, 3, 3, 9 }, 0, 10, 5, pl.HIST_NOEXPAND)
  p:bin({ 1, 2, 3 }, { 1, 4, 2 }, pl.BIN_CENTRED)
  p:close()
  check_svg(f, 300, 200)
end)

h.case("pl: handle life cycle", function()
  local f = dir .. "/life.png"
  local p = pl.open { file = f, width = 100, height = 80 }
  assert(tostring(p):find("^plot %(stream %d+%)"), tostring(p))
  p:close()
  p:close() -- idempotent
  h.eq(tostring(p), "plot (closed)", "tostring")
  h.raises("attempt to use a closed plot", p.vsta, p)
  png_size(f)
  -- the garbage collector finishes a forgotten plot
  local g = dir .. "/gc.png"
  do local q = pl.open { file = g, width = 90, height = 70 }; q:vpor(0, 1, 0, 1) end
  collectgarbage()
  collectgarbage()
  h.eq(select(1, png_size(g)), 90, "gc plot width")
end)

h.case("pl: <close> finishes the file when an error leaves the scope", function()
  local f = dir .. "/err.png"
  local ok, err = pcall(function()
    local p <close> = pl.open { file = f, width = 200, height = 100 }
    p:vpor(0, 1, 0, 1)
    error("boom", 0)
  end)
  assert(not ok and err == "boom", tostring(err))
  local w, ht = png_size(f)
  h.eq(w * 1000 + ht, 200100, "size")
end)

h.case("pl: several plots at once keep their own streams", function()
  local ps = {}
  for i = 1, 6 do ps[i] = pl.open { file = dir .. "/m" .. i .. ".png", width = 100 + i, height = 60 + i } end
  for i = 6, 1, -1 do
    ps[i]:vpor(0, 1, 0, 1)
    ps[i]:wind(0, 1, 0, 1)
    ps[i]:box("bc", 0, 0, "bc", 0, 0)
  end
  for i = 1, 6, 2 do ps[i]:close() end
  for i = 2, 6, 2 do ps[i]:close() end
  for i = 1, 6 do
    local w, ht = png_size(dir .. "/m" .. i .. ".png")
    h.eq(w, 100 + i, "width " .. i)
    h.eq(ht, 60 + i, "height " .. i)
  end
  -- streams are reused after close: many plots in a row work
  for i = 1, 120 do
    local p <close> = pl.open { file = dir .. "/r.svg", width = 50, height = 50 }
    p:vpor(0, 1, 0, 1)
  end
end)

h.case("pl: errors", function()
  h.raises("plot.open: cannot open '/nonexistent/dir/x.png': No such file or directory",
    pl.open, { file = "/nonexistent/dir/x.png" })
  h.raises("plot.open: '" .. dir .. "/x.gif': unknown file type (use .png, .svg or .pdf)",
    pl.open, { file = dir .. "/x.gif" })
  h.raises("plot.open: field 'file' must be a string, got nil", pl.open, {})
  h.raises("plot.open: size 5x100 out of range (16..16384)", pl.open, { file = dir .. "/s.png", width = 5, height = 100 })
  h.raises("plot.open: field 'width' must be an integer, got string", pl.open, { file = dir .. "/s.png", width = "x" })
  local p <close> = pl.open { file = dir .. "/e.png", width = 100, height = 100 }
  -- PLplot's own aborts become Lua errors naming the call
  h.raises("plot.vpor: plvpor: Invalid limits", p.vpor, p, 0.5, 0.5, 0, 1)
  h.raises("plot.wind: plwind: Please set up viewport first", p.wind, p, 0, 1, 0, 1)
  h.raises("a fill needs at least 3 points", p.fill, p, { 1, 2 }, { 1, 2 })
  h.raises("number expected at index 2, got string", p.line, p, { 1, "a" }, { 1, 2 })
  h.raises("length 1, expected 2", p.line, p, { 1, 2 }, { 1 })
  h.raises("colour component out of range 0..255", p.rgb, p, 1, 2, 300)
  h.raises("bad argument #1 to 'font' (invalid option 'comic')", function() p:font("comic") end)
  -- the handle still works after a caught error
  p:vpor(0.1, 0.9, 0.1, 0.9)
  p:wind(0, 1, 0, 1)
end)

h.case("pl: PLplot's fatal errors and aborts become Lua errors", function()
  local s = h.write(dir .. "/fatal.lua", string.format([[
    local pl = require "evalua.plot.pl"
    local p = pl.open { file = %q, width = 60, height = 40 }
    local ok, err = pcall(p._fail, p, "abort", "something odd")
    assert(not ok and err == "plot._fail: something odd", tostring(err))
    p:vpor(0, 1, 0, 1) -- an abort leaves the plot usable
    ok, err = pcall(p._fail, p, "exit", "fatal thing")
    assert(not ok and err == "plot._fail: fatal thing", tostring(err))
    ok, err = pcall(p.vpor, p, 0, 1, 0, 1)
    assert(not ok and err:find("attempt to use a failed plot", 1, true), tostring(err))
    p:close()
    p:close()
    -- the process goes on, and plots still work
    local q <close> = pl.open { file = %q, width = 70, height = 50 }
    q:vpor(0, 1, 0, 1)
    print("alive")
  ]], dir .. "/fatal.png", dir .. "/after.png"))
  local code, out, err = h.evalua({ s })
  h.eq(code, 0, "exit: " .. err)
  h.eq(out, "alive\n", "stdout")
  h.eq(err, "", "stderr")
  h.eq(select(1, png_size(dir .. "/after.png")), 70, "a plot after the failure")
end)

h.case("pl: at most 99 plots open at once, quietly", function()
  local s = h.write(dir .. "/many.lua", string.format([[
    local pl = require "evalua.plot.pl"
    local ps = {}
    for i = 1, 99 do ps[i] = pl.open { file = %q .. i .. ".svg", width = 40, height = 40 } end
    local ok, err = pcall(pl.open, { file = %q, width = 40, height = 40 })
    assert(not ok and err == "plot.open: too many plots open at once (99)", tostring(err))
    ps[1]:close()
    ps[1] = pl.open { file = %q, width = 40, height = 40 }
    for _, p in ipairs(ps) do p:close() end
  ]], dir .. "/many", dir .. "/many100.svg", dir .. "/many100.svg"))
  local code, out, err = h.evalua({ s })
  h.eq(code, 0, "exit: " .. err)
  h.eq(out .. err, "", "output")
end)

h.case("plotting prints nothing", function()
  local s = h.write(dir .. "/quiet.lua", string.format([[
    local plot = require "evalua.plot"
    plot.gauges{ file = %q, { value = 3, max = 5, title = "q" } }
    plot.histogram{ file = %q, values = { 1, 2, 3 } }
    plot.compare{ file = %q, runs = { "a", "b" }, metrics = { "m" }, values = { { 1 }, { 2 } } }
  ]], dir .. "/q1.png", dir .. "/q2.svg", dir .. "/q3.png"))
  local code, out, err = h.evalua({ s })
  h.eq(code, 0, "exit: " .. err)
  h.eq(out, "", "stdout")
  h.eq(err, "", "stderr")
end)

h.case("gauges: png and svg at the default and a given size", function()
  local f = dir .. "/g.png"
  h.eq(plot.gauges { file = f,
    { value = 4.2, max = 5, title = "Cultural sensitivity" },
    { value = 97.5, min = 0, max = 100, title = "Non-toxicity %" },
    { value = 0 / 0, max = 1, title = "nothing yet" } }, f, "returns the file")
  local w, ht, n = png_size(f)
  h.eq(w, 900, "width")
  h.eq(ht, 240, "height")
  assert(n > 5000, "gauges png too small: " .. n)
  local s = dir .. "/g.svg"
  plot.gauges { file = s, width = 500, height = 300, title = "Run 1",
    { value = 0.5, max = 1, title = "half", color = { 10, 20, 30 } } }
  local svg = check_svg(s, 500, 300)
  assert(svg:find("fill:rgb(3.921569%,7.843137%,11.764706%)", 1, true), "the gauge's own colour")
end)

h.case("gauges: bad arguments", function()
  local f = dir .. "/bad.png"
  local cases = {
    { { file = f, { value = 1, max = 5 }, { max = 5 } }, "plot.gauges: gauge 2: value must be a number, got nil" },
    { { file = f, { value = 1 } }, "plot.gauges: gauge 1: max must be a number, got nil" },
    { { file = f, { value = 1, max = 5, min = 5 } }, "plot.gauges: gauge 1: max (5) must be greater than min (5)" },
    { { file = f, { value = 1, max = 5, title = 3 } }, "plot.gauges: gauge 1: title must be a string, got number" },
    { { file = f, "x" }, "plot.gauges: gauge 1: expected a table, got string" },
    { { file = f }, "plot.gauges: no gauges given" },
    { { { value = 1, max = 2 } }, "plot.gauges: field 'file' must be a string, got nil" },
    { { file = dir .. "/g.gif", { value = 1, max = 2 } }, "plot.gauges: '" .. dir .. "/g.gif': unknown file type (use .png or .svg)" },
    { { file = "/nonexistent/g.png", { value = 1, max = 2 } }, "plot.gauges: cannot open '/nonexistent/g.png': No such file or directory" },
    { { file = f, colour = 1, { value = 1, max = 2 } }, "plot.gauges: unknown field 'colour'" },
    { { file = f, width = 2.5, { value = 1, max = 2 } }, "plot.gauges: field 'width' must be an integer 16..16384, got 2.5" },
  }
  for i, c in ipairs(cases) do
    local ok, err = pcall(plot.gauges, c[1])
    assert(not ok, "case " .. i .. " did not fail")
    h.eq(err, c[2], "case " .. i)
  end
  h.raises("plot.gauges: expected a table of options, got nil", plot.gauges)
end)

h.case("histogram: one panel, several panels, a table column", function()
  local f = dir .. "/h.png"
  local vals = { n = 7, 1, 2, nil, 2, 3, 0 / 0, 5 }
  plot.histogram { file = f, values = vals, title = "judge" }
  local w, ht = png_size(f)
  h.eq(w * 1000 + ht, 640400, "single panel size")
  local many = { a = { 0.1, 0.2, 0.25 }, b = { 1, 2, 3 }, c = { 10.5, 11 }, d = {} }
  plot.histogram { file = dir .. "/h4.png", values = many, title = "all" }
  w, ht = png_size(dir .. "/h4.png")
  h.eq(w, 1260, "3 columns")
  h.eq(ht, 640, "2 rows + title")
  local svg = dir .. "/h.svg"
  plot.histogram { file = svg, table = { ["x/score"] = { 0.5, 0.7, 0.9, n = 3 } }, column = "x/score", bins = 4,
    xlabel = "toxicity", width = 400, height = 300 }
  check_svg(svg, 400, 300)
  local t = require("evalua.table").from({ a = { 1, 2, 3 }, b = { 3, 4, 5 } }, { columns = { "a", "b" } })
  plot.histogram { file = dir .. "/ht.png", table = t, columns = { "a", "b" } }
  h.eq(select(1, png_size(dir .. "/ht.png")), 840, "two panels from an evalua table")
end)

h.case("histogram: bad arguments", function()
  local f = dir .. "/hb.png"
  local cases = {
    { { file = f }, "plot.histogram: field 'values' must be a list of numbers or a table of lists, got nil" },
    { { file = f, values = { 1, "x" } }, "plot.histogram: values: value 2 must be a number, got string" },
    { { file = f, values = { a = { 1 }, b = { true } } }, "plot.histogram: values 'b': value 1 must be a number, got boolean" },
    { { file = f, values = { 1 }, bins = 0 }, "plot.histogram: field 'bins' must be an integer 1..1000, got 0" },
    { { file = f, values = { 1 }, range = { 2, 1 } }, "plot.histogram: field 'range' must be {lo, hi} with lo < hi" },
    { { file = f, table = { a = { 1 } }, column = "b" }, "plot.histogram: no column 'b' in the table" },
    { { file = f, table = { a = { 1 } } }, "plot.histogram: field 'column' or 'columns' is needed with table" },
    { { file = f, values = { 1 }, xlabel = 1 }, "plot.histogram: field 'xlabel' must be a string, got number" },
    { { file = f, values = { 1 }, bins_ = 1 }, "plot.histogram: unknown field 'bins_'" },
  }
  for i, c in ipairs(cases) do
    local ok, err = pcall(plot.histogram, c[1])
    assert(not ok, "case " .. i .. " did not fail")
    h.eq(err, c[2], "case " .. i)
  end
end)

h.case("compare: grouped bars with intervals", function()
  local f = dir .. "/c.png"
  plot.compare { file = f, runs = { "gpt-4o", "gpt-4o-mini" },
    metrics = { "faithfulness/v1/mean", "toxicity/v1/mean", "ari_grade_level/v1/mean" },
    values = { { 4.1, 0.02, 7.5 }, { 3.6, 0.031, 8.2 } },
    intervals = { { { 3.9, 4.3 }, { 0.01, 0.03 }, { 6.9, 8.0 } }, { { 3.3, 3.9 }, nil, { 7.8, 8.7 } } },
    title = "A vs B" }
  local w, ht = png_size(f)
  h.eq(w, 840, "width")
  h.eq(ht, 330, "height")
  local s = dir .. "/c.svg"
  plot.compare { file = s, runs = { "a", "b", "c" }, metrics = { "m" }, values = { { 1 }, { -0.5 }, { nil } } }
  check_svg(s, 360, 304)
end)

h.case("compare: bad arguments", function()
  local f = dir .. "/cb.png"
  local cases = {
    { { file = f, metrics = { "m" }, values = { { 1 } } }, "plot.compare: field 'runs' must be a non-empty list of names" },
    { { file = f, runs = { "a" }, metrics = { 1 }, values = { { 1 } } }, "plot.compare: metrics[1] must be a string, got number" },
    { { file = f, runs = { "a", "b" }, metrics = { "m" }, values = { { 1 } } }, "plot.compare: values[2] must be a list (one value per metric), got nil" },
    { { file = f, runs = { "a" }, metrics = { "m", "n" }, values = { { 1, "x" } } }, "plot.compare: values[1][2] must be a number, got string" },
    { { file = f, runs = { "a" }, metrics = { "m" }, values = { { 1 } }, intervals = { { { 2, 1 } } } }, "plot.compare: intervals[1][1] must be {lo, hi} with lo <= hi" },
  }
  for i, c in ipairs(cases) do
    local ok, err = pcall(plot.compare, c[1])
    assert(not ok, "case " .. i .. " did not fail")
    h.eq(err, c[2], "case " .. i)
  end
end)

h.case("helpers: fmt and tick_step", function()
  local cases = { { 3, "3" }, { 4.0, "4" }, { 0.7312, "0.731" }, { 12.44, "12.4" }, { 97.53, "97.5" },
    { 123.45, "123.5" }, { 0 / 0, "n/a" }, { 1.5e6, "1.50e+06" }, { 0.0004, "4.00e-04" }, { -2.5, "-2.5" } }
  for _, c in ipairs(cases) do h.eq(plot.fmt(c[1]), c[2], "fmt " .. tostring(c[1])) end
  h.eq(plot.tick_step(0, 10, 5), 2, "0..10")
  h.eq(plot.tick_step(0, 1, 5), 0.2, "0..1")
  h.eq(plot.tick_step(0, 45, 4), 20, "0..45")
  h.eq(plot.clip("abcdef", 4), "abc…", "clip")
  h.eq(plot.clip("abc", 4), "abc", "no clip")
end)

h.case("titles fit: text_width, fit and cut", function()
  -- wider text measures wider, a larger scale too
  assert(plot.text_width("mmmm", 1) > plot.text_width("iiii", 1))
  h.near(plot.text_width("abc", 2), 2 * plot.text_width("abc", 1), 1e-9, "scale")
  -- a title that fits stays on one line at its scale
  local lines, sc = plot.fit("toxicity (mean)", 280, 1.1)
  h.eq(#lines, 1) h.eq(lines[1], "toxicity (mean)") h.eq(sc, 1.1)
  -- a long one is shrunk or broken into two lines, each of which fits
  lines, sc = plot.fit("answer relevance (judge: gpt-4o, 40 rows)", 270, 1.1, 0.85)
  h.eq(#lines, 2, "two lines")
  h.eq(table.concat(lines, " "), "answer relevance (judge: gpt-4o, 40 rows)", "nothing lost")
  for _, l in ipairs(lines) do assert(plot.text_width(l, sc) <= 270, l) end
  -- names without spaces break at / or _
  lines = plot.fit("flesch_kincaid_grade_level/v1/mean", 150, 1, 0.8)
  h.eq(#lines, 2)
  h.eq(table.concat(lines), "flesch_kincaid_grade_level/v1/mean")
  -- too long even for two lines: cut with an ellipsis, still fitting
  lines, sc = plot.fit(string.rep("word ", 40), 120, 1, 0.8)
  assert(#lines <= 2)
  for _, l in ipairs(lines) do assert(plot.text_width(l, sc) <= 120, l) end
  assert(lines[#lines]:sub(-3) == "…", lines[#lines])
  h.eq(plot.cut("short", 500, 1), "short")
  -- the estimate is never narrower than what cairo draws (glyph positions in an SVG)
  for _, s in ipairs { "answer relevance (judge: gpt-4o, 40 rows)", "cultural_sensitivity/v1 (mean)", "WWWW iiii 0123" } do
    local f = dir .. "/w.svg"
    local p = pl.open { file = f, width = 2000, height = 60 }
    p:vpor(0, 1, 0, 1) p:wind(0, 2000, 0, 60) p:schr(0, 1) p:ptex(10, 30, 1, 0, 0, s .. "|") p:close()
    local xs = {}
    for x in h.read(f):gmatch('<use xlink:href="#[^"]*" x="([%d%.]+)"') do xs[#xs + 1] = tonumber(x) end
    assert(#xs > 2, "no glyphs in the svg")
    local drawn = xs[#xs] - xs[1]
    local est = plot.text_width(s, 1)
    assert(est >= drawn and est <= drawn * 1.25, string.format("%s: estimated %.1f, drawn %.1f", s, est, drawn))
  end
end)

h.done()
