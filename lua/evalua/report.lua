-- evalua.report: one self-contained HTML page for a run, or for two runs
-- compared: info, metrics, plots (inline SVG drawn by evalua.plot), and the
-- per-row table, sortable (click a header) and filterable (the text box).
-- No network: inline CSS and JS only, and a Content-Security-Policy that
-- allows nothing else. Every cell and name is HTML-escaped.
--
--   report.run(run, opts) -> html           run: see below
--   report.compare(a, b, opts) -> html      a, b: two runs of that shape
--   report.comparison(a, b) -> rows         the statistics compare shows
--   report.write(path, html)
-- A run is what the store's reading API gives (evalua.tracking):
--   { info = { id, name, experiment, status, start_time, end_time, ... },
--     params = {k = v}, metrics = {k = number}, greater_is_better = {k = bool},
--     accounting = {...}, table = { names = {...}, columns = {name = list}, n_rows = n } }
-- opts.plots = false leaves the charts out (they need a temporary directory);
-- opts.max_rows caps the run's row table (default M.default_max_rows, 0 = all).
local M = {}

local plot -- evalua.plot, loaded when charts are drawn

-- rows shown by default in a run's table (0 or false: all); a page with
-- 100,000 rows would be too large for a browser to sort quickly
M.default_max_rows = 5000

-- ------------------------------------------------------------ escaping ---

local ESC = { ["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;", ['"'] = "&quot;", ["'"] = "&#39;" }

-- Any value as HTML text: &, <, >, quotes escaped; invalid UTF-8 bytes shown
-- as U+FFFD so the page stays valid.
function M.escape(v)
  local s = tostring(v)
  if not utf8.len(s) then
    local out, i = {}, 1
    while i <= #s do
      local ok, cp_len = pcall(function()
        local _, e = utf8.codepoint(s, i)
        return utf8.offset(s, 2, i) - i, e
      end)
      if ok and cp_len then
        out[#out + 1] = s:sub(i, i + cp_len - 1)
        i = i + cp_len
      else
        out[#out + 1] = "\u{FFFD}"
        i = i + 1
      end
    end
    s = table.concat(out)
  end
  return (s:gsub("[&<>\"']", ESC))
end
local esc = M.escape

-- ------------------------------------------------------------ formatting ---

local function fmt_num(v)
  if v ~= v then return "NaN" end
  if math.type(v) == "integer" then return tostring(v) end
  if v == math.huge then return "inf" elseif v == -math.huge then return "-inf" end
  local a = math.abs(v)
  if a ~= 0 and (a >= 1e6 or a < 1e-4) then return string.format("%.3e", v) end
  local s = string.format("%.4f", v):gsub("0+$", ""):gsub("%.$", "")
  return s
end
M.format_number = fmt_num

local function fmt_time(t)
  if type(t) ~= "number" then return "" end
  return os.date("!%Y-%m-%d %H:%M:%S UTC", math.floor(t))
end

local function fmt_duration(a, b)
  if type(a) ~= "number" or type(b) ~= "number" then return "" end
  local s = b - a
  if s < 60 then return string.format("%.1f s", s) end
  if s < 3600 then return string.format("%d min %02d s", s // 60, math.floor(s % 60)) end
  return string.format("%d h %02d min", s // 3600, math.floor(s % 3600) // 60)
end

local function sorted_keys(t)
  local ks = {}
  for k in pairs(t or {}) do ks[#ks + 1] = k end
  table.sort(ks, function(x, y) return tostring(x) < tostring(y) end)
  return ks
end

local function json(v)
  local ok, s = pcall(require("cjson").encode, v)
  return ok and s or tostring(v)
end

-- one table cell; numbers carry data-v so that sorting is numeric
local function cell(v)
  if v == nil then return '<td class="na" data-v="">—</td>' end
  if type(v) == "number" then
    local key = v == v and string.format("%.17g", v) or ""
    return string.format('<td class="num" data-v="%s">%s</td>', key, esc(fmt_num(v)))
  end
  if type(v) == "boolean" then return "<td>" .. tostring(v) .. "</td>" end
  if type(v) == "table" then v = json(v) end
  local s = tostring(v)
  return '<td><div class="txt">' .. esc(s) .. "</div></td>"
end

-- ------------------------------------------------------------ page ---

local CSS = [[
:root{--ink:#1f2430;--muted:#687080;--line:#e3e6eb;--bg:#f6f7f9;--card:#fff;--accent:#0072b2;--good:#1a7f4b;--bad:#b42318}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:var(--ink);background:var(--bg)}
header{background:#1f2430;color:#fff;padding:20px 32px}
header h1{margin:0;font-size:22px;font-weight:600}
header .sub{color:#c5cad3;margin-top:4px;font-size:13px}
main{max-width:1280px;margin:0 auto;padding:24px 32px 48px}
section{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:18px 20px;margin-bottom:20px}
h2{font-size:16px;margin:0 0 12px;font-weight:600}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(210px,1fr));gap:10px}
.kv{border:1px solid var(--line);border-radius:6px;padding:8px 12px}
.kv .k{color:var(--muted);font-size:12px;overflow-wrap:anywhere}
.kv .v{font-size:15px;font-weight:600;overflow-wrap:anywhere}
.metric .v{font-size:20px;font-variant-numeric:tabular-nums}
.metric .aggs{font-size:12px;font-weight:400;color:var(--muted);margin-top:2px}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;font-weight:600;background:#e7f0f7;color:#0b4f7c}
.badge.FINISHED{background:#e3f4ea;color:var(--good)}.badge.FAILED,.badge.KILLED{background:#fdecea;color:var(--bad)}
table{border-collapse:collapse;width:100%}
th,td{border-bottom:1px solid var(--line);padding:6px 8px;text-align:left;vertical-align:top}
th{background:#fafbfc;font-weight:600;font-size:12px;color:#3a4150;position:sticky;top:0;white-space:nowrap}
table.sortable th{cursor:pointer;user-select:none}
table.sortable th:hover{background:#eef1f5}
th[aria-sort=ascending]::after{content:" \25B2";font-size:10px}
th[aria-sort=descending]::after{content:" \25BC";font-size:10px}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.na{color:#b0b6c0;text-align:center}
.txt{max-width:46ch;max-height:9.5em;overflow:auto;white-space:pre-wrap;overflow-wrap:anywhere}
.rows{max-height:78vh;overflow:auto;border:1px solid var(--line);border-radius:6px}
.toolbar{display:flex;gap:12px;align-items:center;margin-bottom:10px}
.toolbar input{flex:0 1 360px;padding:7px 10px;border:1px solid #cfd4dc;border-radius:6px;font:inherit}
.toolbar .count{color:var(--muted)}
.plots svg{max-width:100%;height:auto;display:block;margin:6px 0 14px}
.good{color:var(--good);font-weight:600}.bad{color:var(--bad);font-weight:600}.muted{color:var(--muted)}
.params td:first-child{color:var(--muted);width:30%}
.params td.num{text-align:left}
#flips td:nth-child(2) .txt{white-space:nowrap}
.runs th{position:static;width:16%;background:none;font-size:13px;color:var(--muted);font-weight:500}.runs td{width:42%;overflow-wrap:anywhere}
.changed{background:#fff4d6;padding:0 4px;border-radius:3px}
footer{color:var(--muted);font-size:12px;text-align:center;padding-bottom:24px}
]]

-- sorting, filtering; the last line marks the page as ready (the tests read it)
local JS = [[
(function () {
  function key(td) {
    var v = td.getAttribute('data-v');
    if (v !== null) return v === '' ? null : parseFloat(v);
    return td.textContent.toLowerCase();
  }
  function sortBy(table, col, th) {
    var body = table.tBodies[0];
    var dir = th.getAttribute('aria-sort') === 'ascending' ? -1 : 1;
    var heads = table.tHead.rows[0].cells;
    for (var i = 0; i < heads.length; i++) heads[i].removeAttribute('aria-sort');
    th.setAttribute('aria-sort', dir === 1 ? 'ascending' : 'descending');
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = key(a.cells[col]), y = key(b.cells[col]);
      if (x === null || y === null) return x === y ? 0 : (x === null ? 1 : -1);
      if (typeof x !== typeof y) { x = String(x); y = String(y); }
      return x < y ? -dir : x > y ? dir : 0;
    });
    rows.forEach(function (r) { body.appendChild(r); });
  }
  Array.prototype.forEach.call(document.querySelectorAll('table.sortable'), function (t) {
    Array.prototype.forEach.call(t.tHead.rows[0].cells, function (th, i) {
      th.addEventListener('click', function () { sortBy(t, i, th); });
    });
  });
  Array.prototype.forEach.call(document.querySelectorAll('input.filter'), function (box) {
    var t = document.getElementById(box.getAttribute('data-table'));
    var count = document.getElementById(box.getAttribute('data-count'));
    var total = t.tBodies[0].rows.length;
    function apply() {
      var q = box.value.toLowerCase(), shown = 0;
      Array.prototype.forEach.call(t.tBodies[0].rows, function (r) {
        var hit = q === '' || r.textContent.toLowerCase().indexOf(q) >= 0;
        r.hidden = !hit;
        if (hit) shown++;
      });
      count.textContent = shown === total ? total + ' rows' : shown + ' of ' + total + ' rows';
    }
    box.addEventListener('input', apply);
    apply();
  });
  // a link may carry the view of the row table: #q=text&sort=column&dir=desc
  var box0 = document.querySelector('input.filter');
  var first = box0 && document.getElementById(box0.getAttribute('data-table'));
  var hash = {};
  location.hash.replace(/^#/, '').split('&').forEach(function (kv) {
    var i = kv.indexOf('=');
    if (i > 0) hash[kv.slice(0, i)] = decodeURIComponent(kv.slice(i + 1));
  });
  if (hash.sort && first) {
    Array.prototype.forEach.call(first.tHead.rows[0].cells, function (th, i) {
      if (th.textContent === hash.sort) {
        sortBy(first, i, th);
        if (hash.dir === 'desc') sortBy(first, i, th);
      }
    });
  }
  if (hash.q && box0) { box0.value = hash.q; box0.dispatchEvent(new Event('input')); }
  document.body.setAttribute('data-ready', '1');
})();
]]

local B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
local function base64(bytes)
  local out = {}
  for i = 1, #bytes, 3 do
    local a, b, c = bytes:byte(i, i + 2)
    local n = a * 65536 + (b or 0) * 256 + (c or 0)
    local s = ""
    for k = 3, 0, -1 do
      local idx = (n >> (6 * k)) & 63
      s = s .. B64:sub(idx + 1, idx + 1)
    end
    if not b then s = s:sub(1, 2) .. "==" elseif not c then s = s:sub(1, 3) .. "=" end
    out[#out + 1] = s
  end
  return table.concat(out)
end

local function script_hash(js)
  local hex = require("evalua.core").sha256(js)
  return base64((hex:gsub("%x%x", function(h) return string.char(tonumber(h, 16)) end)))
end

local function page(title, subtitle, body)
  local csp = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src 'sha256-"
    .. script_hash(JS) .. "'"
  return table.concat {
    '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n',
    '<meta http-equiv="Content-Security-Policy" content="', csp, '">\n',
    '<meta name="viewport" content="width=device-width, initial-scale=1">\n',
    "<title>", esc(title), "</title>\n<style>", CSS, "</style>\n</head>\n<body>\n",
    "<header><h1>", esc(title), '</h1><div class="sub">', subtitle, "</div></header>\n<main>\n",
    body,
    "</main>\n<footer>evalua ", esc(require("evalua.core").version or ""), " · generated ",
    esc(fmt_time(os.time())), "</footer>\n<script>", JS, "</script>\n</body>\n</html>\n",
  }
end

local function section(title, inner, id)
  return string.format('<section%s><h2>%s</h2>\n%s\n</section>\n',
    id and (' id="' .. id .. '"') or "", esc(title), inner)
end

local function kv(k, v, class)
  return string.format('<div class="kv%s"><div class="k">%s</div><div class="v">%s</div></div>',
    class and (" " .. class) or "", esc(k), v)
end

local function info_grid(run)
  local i = run.info or {}
  local out = { '<div class="grid">' }
  out[#out + 1] = kv("run id", esc(i.id or ""))
  out[#out + 1] = kv("name", esc(i.name or ""))
  out[#out + 1] = kv("experiment", esc(i.experiment or ""))
  out[#out + 1] = kv("status", string.format('<span class="badge %s">%s</span>',
    esc(i.status or ""), esc(i.status or "")))
  out[#out + 1] = kv("started", esc(fmt_time(i.start_time)))
  out[#out + 1] = kv("duration", esc(fmt_duration(i.start_time, i.end_time)))
  if i.n_rows then out[#out + 1] = kv("rows", esc(i.n_rows)) end
  if i.script then out[#out + 1] = kv("script", esc(i.script)) end
  if i.evalua_version then out[#out + 1] = kv("evalua", esc(i.evalua_version)) end
  out[#out + 1] = "</div>"
  return table.concat(out, "\n")
end

local AGG = { mean = 1, median = 2, p90 = 3, variance = 4, min = 5, max = 6, ratio = 7, sum = 8 }

-- one card per metric: the mean (or its only value) large, the other
-- aggregates of the same metric small under it
local function metrics_grid(run)
  local groups, order = {}, {}
  for _, k in ipairs(sorted_keys(run.metrics)) do
    local base, agg = k:match("^(.*)/([%w_]+)$")
    if not (base and AGG[agg]) then base, agg = k, "" end
    if not groups[base] then groups[base] = {}; order[#order + 1] = base end
    table.insert(groups[base], { agg = agg, key = k, value = run.metrics[k] })
  end
  if #order == 0 then return '<p class="muted">no metrics logged</p>' end
  local out = { '<div class="grid">' }
  for _, base in ipairs(order) do
    local list = groups[base]
    table.sort(list, function(x, y) return (AGG[x.agg] or 0) < (AGG[y.agg] or 0) end)
    local main = list[1]
    local title = main.agg ~= "" and (base .. "/" .. main.agg) or base
    local rest = {}
    for i = 2, #list do
      rest[#rest + 1] = esc(list[i].agg) .. " " .. esc(fmt_num(list[i].value))
    end
    local v = esc(fmt_num(main.value))
    if #rest > 0 then v = v .. '<div class="aggs">' .. table.concat(rest, " · ") .. "</div>" end
    out[#out + 1] = kv(title, v, "metric")
  end
  out[#out + 1] = "</div>"
  return table.concat(out, "\n")
end

local function kv_table(t)
  local ks = sorted_keys(t)
  if #ks == 0 then return '<p class="muted">none</p>' end
  local out = { '<table class="params"><tbody>' }
  for _, k in ipairs(ks) do
    local v = t[k]
    out[#out + 1] = "<tr><td>" .. esc(k) .. "</td>" .. cell(type(v) == "table" and json(v) or v) .. "</tr>"
  end
  out[#out + 1] = "</tbody></table>"
  return table.concat(out, "\n")
end

-- a sortable, filterable table; rows is a list of lists of cell values
local function data_table(id, headers, rows)
  local out = {
    '<div class="toolbar"><input class="filter" type="search" placeholder="Filter rows…" data-table="',
    id, '" data-count="', id, '-count" aria-label="filter rows"><span class="count" id="', id,
    '-count">', #rows, ' rows</span></div>\n<div class="rows"><table class="sortable" id="', id,
    '"><thead><tr>' }
  for _, h in ipairs(headers) do out[#out + 1] = "<th>" .. esc(h) .. "</th>" end
  out[#out + 1] = "</tr></thead>\n<tbody>\n"
  for _, r in ipairs(rows) do
    out[#out + 1] = "<tr>"
    for c = 1, #headers do out[#out + 1] = cell(r[c]) end
    out[#out + 1] = "</tr>\n"
  end
  out[#out + 1] = "</tbody></table></div>"
  return table.concat(out)
end

local function rows_of(tbl, max_rows)
  local rows = {}
  local n = tbl.n_rows or 0
  if max_rows and max_rows > 0 then n = math.min(n, max_rows) end
  for r = 1, n do
    local row = { r }
    for c, name in ipairs(tbl.names) do row[c + 1] = (tbl.columns[name] or {})[r] end
    rows[r] = row
  end
  local headers = { "row" }
  for _, name in ipairs(tbl.names) do headers[#headers + 1] = name end
  return headers, rows
end

-- ------------------------------------------------------------ plots ---

-- Makes a fresh temporary directory; returns its path.
local function tmpdir()
  local lfs = require "lfs"
  local base = os.getenv("TMPDIR") or "/tmp"
  for _ = 1, 100 do
    local d = string.format("%s/evalua-report-%d-%06d", base, os.time(), math.random(0, 999999))
    if lfs.mkdir(d) then return d end
  end
  error("report: cannot make a temporary directory under " .. base, 0)
end

-- An SVG file's markup for inlining: no XML prolog, and its ids (cairo
-- names glyphs glyph0-1, clip1, ... in every file) prefixed so that several
-- charts on one page do not resolve each other's glyphs.
local function inline_svg(path, prefix)
  local f = assert(io.open(path, "rb"))
  local s = f:read("a")
  f:close()
  s = s:gsub("^%s*<%?xml.-%?>%s*", "")
  s = s:gsub('(%sid=")([^"]*)"', "%1" .. prefix .. '%2"')
  s = s:gsub('(href=")#([^"]*)"', "%1#" .. prefix .. '%2"')
  s = s:gsub("url%(#([^)]*)%)", "url(#" .. prefix .. "%1)")
  -- cairo sizes the page in points; at 1 px per unit the text is 12 px
  s = s:gsub('(<svg[^>]-%swidth=")([%d%.]+)pt"', "%1%2\"", 1)
  s = s:gsub('(<svg[^>]-%sheight=")([%d%.]+)pt"', "%1%2\"", 1)
  s = s:gsub("<svg ", '<svg role="img" ', 1)
  return s
end

-- Draws each chart (name, fn(file)) into a temporary directory and returns
-- the inlined SVG blocks; a chart that fails is replaced by its error text.
local function draw(charts)
  if #charts == 0 then return "" end
  local dir = tmpdir()
  local out = {}
  for i, ch in ipairs(charts) do
    local file = string.format("%s/%d.svg", dir, i)
    local ok, err = pcall(ch.draw, file)
    if ok then
      out[#out + 1] = string.format('<figure aria-label="%s">%s</figure>', esc(ch.name),
        inline_svg(file, "c" .. i .. "-"))
    else
      out[#out + 1] = string.format('<p class="bad">%s: %s</p>', esc(ch.name), esc(err))
    end
    os.remove(file)
  end
  require("lfs").rmdir(dir)
  return '<div class="plots">' .. table.concat(out, "\n") .. "</div>"
end

local function numbers(list, n)
  local out = {}
  for i = 1, n or list.n or #list do
    local v = list[i]
    if type(v) == "number" and v == v then out[#out + 1] = v end
  end
  return out
end

-- the score columns of a table: { {name=, metric=, values=}, ... }
local function score_columns(tbl)
  local out = {}
  if not tbl then return out end
  for _, name in ipairs(tbl.names) do
    local metric = name:match("^(.*)/score$")
    if metric then
      local vals = numbers(tbl.columns[name] or {}, tbl.n_rows)
      if #vals > 0 then out[#out + 1] = { name = name, metric = metric, values = vals } end
    end
  end
  return out
end

-- a gauge for every mean whose scores have a known range: [0, 1], or judge
-- scores 1..5
local function gauge_specs(run, scores)
  local gs = {}
  for _, s in ipairs(scores) do
    local mean = run.metrics and run.metrics[s.metric .. "/mean"]
    if type(mean) == "number" and mean == mean then
      local lo, hi, int = math.huge, -math.huge, true
      for _, v in ipairs(s.values) do
        lo, hi = math.min(lo, v), math.max(hi, v)
        if v ~= math.floor(v) then int = false end
      end
      local min, max
      if lo >= 0 and hi <= 1 then min, max = 0, 1
      elseif int and lo >= 1 and hi <= 5 then min, max = 1, 5 end
      if max and #gs < 6 then
        gs[#gs + 1] = { value = mean, min = min, max = max, title = plot.clip(s.metric, 24) .. " (mean)" }
      end
    end
  end
  return gs
end

-- ------------------------------------------------------------ one run ---

function M.run(run, opts)
  opts = opts or {}
  local i = run.info or {}
  local title = "evalua run " .. (i.name and i.name ~= "" and i.name or (i.id or ""):sub(1, 12))
  local sub = esc((i.experiment and ("experiment " .. i.experiment .. " · ") or "") .. "run " .. (i.id or ""))
  local body = { section("Run", info_grid(run)), section("Metrics", metrics_grid(run)) }
  local scores = score_columns(run.table)
  if opts.plots ~= false and #scores > 0 then
    plot = plot or require "evalua.plot"
    local charts = {}
    local gs = gauge_specs(run, scores)
    if #gs > 0 then
      charts[#charts + 1] = { name = "gauges", draw = function(file)
        local o = { file = file }
        for k, g in ipairs(gs) do o[k] = g end
        plot.gauges(o)
      end }
    end
    local values = {}
    for k, s in ipairs(scores) do
      if k <= 9 then values[s.metric] = s.values end
    end
    charts[#charts + 1] = { name = "score distributions", draw = function(file)
      plot.histogram { file = file, values = values, title = #scores > 1 and "Score distributions" or nil }
    end }
    body[#body + 1] = section("Plots", draw(charts))
  end
  body[#body + 1] = section("Parameters", kv_table(run.params))
  if run.accounting and next(run.accounting) then body[#body + 1] = section("Accounting", kv_table(run.accounting)) end
  if run.table then
    local max_rows = opts.max_rows == nil and M.default_max_rows or opts.max_rows
    local headers, rows = rows_of(run.table, max_rows)
    local note = ""
    if #rows < (run.table.n_rows or 0) then
      note = string.format('<p class="muted">The first %d of %d rows (<code>--max-rows 0</code> for all; '
        .. "<code>evalua runs export</code> for the whole table).</p>", #rows, run.table.n_rows)
    end
    body[#body + 1] = section("Rows", note .. data_table("rows", headers, rows), "rows-section")
  else
    body[#body + 1] = section("Rows", '<p class="muted">this run has no results table</p>')
  end
  return page(title, sub, table.concat(body))
end

-- ------------------------------------------------------------ two runs ---

local function label(run)
  local i = run.info or {}
  local id = (i.id or ""):sub(1, 8)
  if i.name and i.name ~= "" and i.name ~= i.id then return i.name .. " (" .. id .. ")" end
  return id
end

local function column(run, name)
  return run.table and run.table.columns[name]
end

-- Mean and 95% normal interval of the scores (for the chart's error bars).
local function mean_interval(vals)
  local n = #vals
  if n == 0 then return nil end
  local s = 0
  for _, v in ipairs(vals) do s = s + v end
  local mean = s / n
  if n < 2 then return mean, nil end
  local ss = 0
  for _, v in ipairs(vals) do ss = ss + (v - mean) ^ 2 end
  local half = 1.96 * math.sqrt(ss / (n - 1) / n)
  return mean, { mean - half, mean + half }
end

-- Pairs the rows of the two runs as `evalua runs compare` does
-- (evalua.stats.pair_rows: row i with row i when the data hash matches, else
-- by the first column's values when they are distinct strings, else by
-- index). Returns a list of {row_a, row_b} and the method.
local function pairing(a, b)
  if not (a.table and b.table) then return {}, nil end
  local ia, ib = a.info or {}, b.info or {}
  local same = ia.data_hash ~= nil and ia.data_hash == ib.data_hash
  return require("evalua.stats").pair_rows(a.table, b.table, same)
end

-- The rows of the comparison: for every metric of either run, the two
-- values, the difference (b - a), and for means with per-row scores in both
-- runs a paired bootstrap 95% interval (evalua.stats, the same resamples and
-- seed as `evalua runs compare`) over the paired rows both runs scored.
function M.comparison(a, b, opts)
  opts = opts or {}
  local stats = require "evalua.stats"
  local pairs_ = pairing(a, b)
  local keys, seen = {}, {}
  for _, r in ipairs { a, b } do
    for k in pairs(r.metrics or {}) do
      if not seen[k] then seen[k] = true; keys[#keys + 1] = k end
    end
  end
  table.sort(keys)
  local out = {}
  for _, k in ipairs(keys) do
    local va, vb = a.metrics[k], b.metrics[k]
    local row = { metric = k, a = va, b = vb }
    if type(va) == "number" and type(vb) == "number" then row.diff = vb - va end
    local gib = b.greater_is_better and b.greater_is_better[k]
    if gib == nil and a.greater_is_better then gib = a.greater_is_better[k] end
    row.greater_is_better = gib
    local base = k:match("^(.*)/mean$")
    local ca, cb = base and column(a, base .. "/score"), base and column(b, base .. "/score")
    if ca and cb then
      local diffs = {}
      for _, p in ipairs(pairs_) do
        local x, y = ca[p[1]], cb[p[2]]
        if type(x) == "number" and type(y) == "number" and x == x and y == y then
          diffs[#diffs + 1] = y - x
        end
      end
      row.paired = #diffs
      if #diffs >= 2 then
        local ci = stats.paired_bootstrap(diffs, { resamples = opts.resamples, seed = opts.seed })
        row.paired_mean, row.lo, row.hi = ci.mean, ci.lo, ci.hi
        if row.lo > 0 or row.hi < 0 then
          if gib == nil then row.verdict = "changed"
          else row.verdict = ((row.hi < 0) ~= gib) and "better" or "worse" end
        else
          row.verdict = "no significant change"
        end
      end
    end
    out[#out + 1] = row
  end
  return out
end

-- Paired rows whose score changed between the runs, for judge metrics
-- (score columns with a justification column) and other integer scores:
-- { row = row in A, row_b =, metric =, a =, b =, ja =, jb = }.
function M.flips(a, b)
  local out = {}
  if not (a.table and b.table) then return out end
  local pairs_ = pairing(a, b)
  for _, name in ipairs(a.table.names) do
    local metric = name:match("^(.*)/score$")
    local ca, cb = column(a, name), column(b, name)
    if metric and ca and cb then
      local judge = column(a, metric .. "/justification") ~= nil
      local ints = true
      for _, p in ipairs(pairs_) do
        for _, v in ipairs { ca[p[1]], cb[p[2]] } do
          if type(v) == "number" and v ~= math.floor(v) then ints = false end
        end
      end
      if judge or ints then
        local jsa, jb = column(a, metric .. "/justification") or {}, column(b, metric .. "/justification") or {}
        for _, p in ipairs(pairs_) do
          local x, y = ca[p[1]], cb[p[2]]
          if x ~= y and not (x ~= x and y ~= y) then
            out[#out + 1] = { row = p[1], row_b = p[2], metric = metric, a = x, b = y,
              ja = jsa[p[1]], jb = jb[p[2]] }
          end
        end
      end
    end
  end
  return out
end

local function input_of(run, r)
  local t = run.table
  for _, name in ipairs { "inputs", "input", "question", "llm_inputs" } do
    if t.columns[name] then return t.columns[name][r] end
  end
  local first = t.names[1]
  return first and t.columns[first][r]
end

local function output_of(run, r)
  local t = run.table
  for _, name in ipairs { "outputs", "predictions", "output" } do
    if t.columns[name] then return t.columns[name][r] end
  end
  return nil
end

-- the two runs' facts side by side
local function runs_table(a, b)
  local ia, ib = a.info or {}, b.info or {}
  local out = { '<table class="runs"><thead><tr><th></th><th>A</th><th>B</th></tr></thead><tbody>' }
  local function row(k, va, vb)
    out[#out + 1] = "<tr><th>" .. esc(k) .. "</th><td>" .. va .. "</td><td>" .. vb .. "</td></tr>"
  end
  row("run id", esc(ia.id or ""), esc(ib.id or ""))
  row("name", esc(ia.name or ""), esc(ib.name or ""))
  row("experiment", esc(ia.experiment or ""), esc(ib.experiment or ""))
  row("status", string.format('<span class="badge %s">%s</span>', esc(ia.status or ""), esc(ia.status or "")),
    string.format('<span class="badge %s">%s</span>', esc(ib.status or ""), esc(ib.status or "")))
  row("started", esc(fmt_time(ia.start_time)), esc(fmt_time(ib.start_time)))
  row("duration", esc(fmt_duration(ia.start_time, ia.end_time)), esc(fmt_duration(ib.start_time, ib.end_time)))
  if ia.n_rows or ib.n_rows then row("rows", esc(ia.n_rows or ""), esc(ib.n_rows or "")) end
  local keys, seen = {}, {}
  for _, r in ipairs { a, b } do
    for k in pairs(r.params or {}) do
      if not seen[k] then seen[k] = true; keys[#keys + 1] = k end
    end
  end
  table.sort(keys)
  for _, k in ipairs(keys) do
    local va, vb = (a.params or {})[k], (b.params or {})[k]
    local fa = va == nil and "" or esc(type(va) == "table" and json(va) or va)
    local fb = vb == nil and "" or esc(type(vb) == "table" and json(vb) or vb)
    if va ~= vb then fb = '<span class="changed">' .. fb .. "</span>" end
    row("param " .. k, fa, fb)
  end
  out[#out + 1] = "</tbody></table>"
  return table.concat(out, "\n")
end

function M.compare(a, b, opts)
  opts = opts or {}
  local la, lb = label(a), label(b)
  local title = "evalua: " .. la .. " vs " .. lb
  local sub = esc("A = run " .. ((a.info or {}).id or "") .. " · B = run " .. ((b.info or {}).id or ""))
  local body = {}
  body[#body + 1] = section("Runs", runs_table(a, b))

  local rows = M.comparison(a, b, opts)
  local t = { '<table class="sortable" id="metrics"><thead><tr><th>metric</th><th>A</th><th>B</th>'
    .. "<th>B − A</th><th>95% interval (paired)</th><th>rows paired</th><th>verdict</th></tr></thead><tbody>" }
  for _, r in ipairs(rows) do
    local verdict = r.verdict or ""
    local cls = verdict == "better" and "good" or verdict == "worse" and "bad" or "muted"
    t[#t + 1] = "<tr><td>" .. esc(r.metric) .. "</td>" .. cell(r.a) .. cell(r.b) .. cell(r.diff)
      .. (r.lo and ('<td class="num" data-v="' .. string.format("%.17g", r.lo) .. '">['
        .. esc(fmt_num(r.lo)) .. ", " .. esc(fmt_num(r.hi)) .. "]</td>") or '<td class="na" data-v="">—</td>')
      .. cell(r.paired) .. '<td class="' .. cls .. '">' .. esc(verdict) .. "</td></tr>"
  end
  t[#t + 1] = "</tbody></table>"
  body[#body + 1] = section("Metrics", '<div class="rows">' .. table.concat(t) .. "</div>"
    .. '<p class="muted">B − A is the difference of the aggregates; the interval is a paired '
    .. "bootstrap (2000 resamples) of the mean per-row difference over the rows both runs scored. "
    .. "Better or worse only when the interval excludes zero.</p>")

  if opts.plots ~= false then
    plot = plot or require "evalua.plot"
    local ms, va, vb, ia, ib = {}, {}, {}, {}, {}
    for _, r in ipairs(rows) do
      local base = r.metric:match("^(.*)/mean$")
      if base and type(r.a) == "number" and type(r.b) == "number" and #ms < 8 then
        ms[#ms + 1] = r.metric
        va[#ms], vb[#ms] = r.a, r.b
        local ca, cb = column(a, base .. "/score"), column(b, base .. "/score")
        if ca then _, ia[#ms] = mean_interval(numbers(ca, a.table.n_rows)) end
        if cb then _, ib[#ms] = mean_interval(numbers(cb, b.table.n_rows)) end
      end
    end
    if #ms > 0 then
      body[#body + 1] = section("Plots", draw { { name = "comparison", draw = function(file)
        plot.compare { file = file, runs = { "A: " .. la, "B: " .. lb }, metrics = ms,
          values = { va, vb }, intervals = { ia, ib } }
      end } } .. '<p class="muted">Bars: the mean of each run; error bars: its 95% normal interval.</p>')
    end
  end

  local flips = M.flips(a, b)
  local frows = {}
  local max_rows = opts.max_rows == nil and M.default_max_rows or opts.max_rows
  for i, f in ipairs(flips) do
    if max_rows and max_rows > 0 and i > max_rows then break end
    frows[#frows + 1] = { f.row, f.metric, input_of(a, f.row), output_of(a, f.row), output_of(b, f.row_b),
      f.a, f.b, (type(f.a) == "number" and type(f.b) == "number") and f.b - f.a or nil, f.ja, f.jb }
  end
  local note = #frows < #flips and string.format('<p class="muted">The first %d of %d flips '
    .. "(<code>--max-rows 0</code> for all).</p>", #frows, #flips) or ""
  body[#body + 1] = section("Per-row flips (" .. #flips .. ")", note .. data_table("flips",
    { "row", "metric", "input", "output A", "output B", "score A", "score B", "B − A",
      "justification A", "justification B" }, frows), "flips-section")
  return page(title, sub, table.concat(body))
end

function M.write(path, html)
  local f, err = io.open(path, "wb")
  if not f then error("report: cannot write '" .. path .. "': " .. tostring(err), 0) end
  f:write(html)
  f:close()
  return path
end

return M
