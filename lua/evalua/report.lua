-- evalua.report: one self-contained HTML page for a run, or for two runs
-- compared: the run's facts and metrics, the rows as the place to read the
-- outputs (each row expands to its input, output, target and every judge's
-- score and justification, wrapped at a readable width), the judges'
-- prompts, plots (inline SVG drawn by evalua.plot), the parameters (names,
-- not hashes) and the accounting per model. No network: inline CSS and JS
-- only, and a Content-Security-Policy that allows nothing else. Every cell
-- and name is HTML-escaped.
--
--   report.run(run, opts) -> html           run: see below
--   report.compare(a, b, opts) -> html      a, b: two runs of that shape
--   report.comparison(a, b) -> rows         the statistics compare shows
--   report.flips(a, b), report.row_pairs(a, b)   the per-row differences
--   report.write(path, html)
-- A run is what the store's reading API gives (evalua.tracking):
--   { info = { id, name, experiment, status, start_time, end_time, ... },
--     params = {k = v}, metrics = {k = number}, greater_is_better = {k = bool},
--     accounting = {...}, table = { names = {...}, columns = {name = list}, n_rows = n },
--     judge_prompts = { records of evalua.judge_prompts } }
-- opts.plots = false leaves the charts out (they need a temporary directory);
-- opts.max_rows caps the rows shown (default M.default_max_rows, 0 = all).
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


-- ------------------------------------------------------------ page ---

-- the page's style and script (evalua.report_assets)
local assets = require "evalua.report_assets"
local CSS, JS = assets.CSS, assets.JS

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


-- the page; toc is a list of { id, title } for the links under the header
local function page(title, subtitle, body, toc)
  local csp = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src 'sha256-"
    .. script_hash(JS) .. "'"
  local nav = {}
  for _, t in ipairs(toc or {}) do
    nav[#nav + 1] = string.format('<a href="#%s">%s</a>', t[1], esc(t[2]))
  end
  return table.concat {
    '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n',
    '<meta http-equiv="Content-Security-Policy" content="', csp, '">\n',
    '<meta name="viewport" content="width=device-width, initial-scale=1">\n',
    "<title>", esc(title), "</title>\n<style>", CSS, "</style>\n</head>\n<body>\n",
    "<header><h1>", esc(title), '</h1><div class="sub">', subtitle, "</div></header>\n",
    #nav > 0 and ('<nav class="toc">' .. table.concat(nav) .. "</nav>\n") or "",
    "<main>\n", body,
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

local function badge(status)
  return string.format('<span class="badge %s">%s</span>', esc(status or ""), esc(status or ""))
end

-- ------------------------------------------------------------ names, not hashes ---

-- A parameter as a person reads it: the model's name without the hash of
-- its prompt, "a Lua function" for a function model, each judge as
-- "metric: model". The stored value stays in the cell's title.
function M.param_text(k, v)
  if type(v) ~= "string" then return v end
  if k == "model" then
    if v:match("^function:") then return "a Lua function (" .. v:sub(10, 17) .. ")" end
    local name = v:match("^(.-):%x%x%x%x%x%x%x%x+$")
    if name and name ~= "" then return name end
  elseif k == "judges" then
    local parts = {}
    for item in v:gmatch("[^,]+") do
      local metric, model = item:match("^([^=]+)=(.-):%x%x%x%x%x%x%x%x+$")
      parts[#parts + 1] = metric and (metric .. ": " .. model) or item
    end
    return table.concat(parts, "\n")
  elseif k:match("sha256$") and v:match("^%x+$") and #v > 16 then
    return v:sub(1, 12) .. "…"
  elseif k == "metrics" then
    return (v:gsub(",", ", "))
  end
  return v
end

local function param_cell(k, v)
  local shown = M.param_text(k, v)
  if type(shown) == "table" then shown = json(shown) end
  if type(shown) == "number" then return cell(shown) end
  local title = shown ~= v and (' title="' .. esc(type(v) == "table" and json(v) or v) .. '"') or ""
  return "<td" .. title .. '><div class="full">' .. esc(shown) .. "</div></td>"
end

-- The model a run's predictions came from, by name (nil without one).
local function model_name(run)
  local m = run.params and run.params.model
  if m == nil then return nil end
  return tostring(M.param_text("model", m))
end

local function info_grid(run)
  local i = run.info or {}
  local out = { '<div class="grid">' }
  out[#out + 1] = kv("name", esc(i.name or ""))
  out[#out + 1] = kv("experiment", esc(i.experiment or ""))
  out[#out + 1] = kv("status", badge(i.status))
  local model = model_name(run)
  if model then out[#out + 1] = kv("model", esc(model)) end
  out[#out + 1] = kv("started", esc(fmt_time(i.start_time)))
  out[#out + 1] = kv("duration", esc(fmt_duration(i.start_time, i.end_time)))
  if i.n_rows then out[#out + 1] = kv("rows", esc(i.n_rows)) end
  if i.script then out[#out + 1] = kv("script", esc(i.script)) end
  out[#out + 1] = kv("run id", esc(i.id or ""))
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

local function params_table(t)
  local ks = sorted_keys(t)
  if #ks == 0 then return '<p class="muted">none</p>' end
  local out = { '<table class="params"><tbody>' }
  for _, k in ipairs(ks) do
    out[#out + 1] = "<tr><td>" .. esc(k) .. "</td>" .. param_cell(k, t[k]) .. "</tr>"
  end
  out[#out + 1] = "</tbody></table>"
  return table.concat(out, "\n")
end

-- ------------------------------------------------------------ accounting ---

local function int_cell(v, class, label)
  local l = label and (' data-label="' .. esc(label) .. '"') or ""
  if type(v) ~= "number" then return '<td class="num na' .. (class or "") .. '"' .. l .. ">—</td>" end
  local s = string.format("%d", math.floor(v + 0.5)):reverse():gsub("(%d%d%d)", "%1,"):reverse():gsub("^,", "")
  return '<td class="num' .. (class or "") .. '"' .. l .. ">" .. s .. "</td>"
end

local function money(v)
  if type(v) ~= "number" then return "—" end
  if v == 0 then return "$0" end
  if v >= 0.01 then return string.format("$%.2f", v) end
  return string.format("$%.4f", v)
end

-- A model's accounting key ("openai:gpt-4o") as "gpt-4o (openai)".
local function account_name(key, e)
  local provider, model = tostring(key):match("^([^:]+):(.+)$")
  provider, model = (e and e.provider) or provider, (e and e.model) or model
  if model and provider then return tostring(model) .. " (" .. tostring(provider) .. ")" end
  return tostring(key)
end

-- The accounting of a run as a table per model (calls, sent, cached,
-- failed, tokens, cost) with a total line; a dry run's estimate under it.
local function accounting_html(acc)
  if type(acc) ~= "table" or not next(acc) then return '<p class="muted">no model was called</p>' end
  local out = { '<table class="acct"><thead><tr><th>model</th><th class="num">calls</th>'
    .. '<th class="num">sent</th><th class="num">cached</th><th class="num">failed</th>'
    .. '<th class="num">prompt tokens</th><th class="num opt">completion tokens</th><th class="num">cost</th></tr></thead><tbody>' }
  local function line(name, e, class)
    out[#out + 1] = "<tr" .. (class and (' class="' .. class .. '"') or "") .. "><td>" .. esc(name) .. "</td>"
      .. int_cell(e.calls, nil, "calls") .. int_cell(e.requests, nil, "sent") .. int_cell(e.cache_hits, nil, "cached")
      .. int_cell(e.failures, nil, "failed") .. int_cell(e.prompt_tokens, nil, "prompt tokens")
      .. int_cell(e.completion_tokens, " opt", "completion tokens")
      .. '<td class="num" data-label="cost">' .. esc(e.priced == false and "unpriced" or money(e.cost_usd)) .. "</td></tr>"
  end
  local models = type(acc.models) == "table" and acc.models or {}
  local names = sorted_keys(models)
  for _, k in ipairs(names) do line(account_name(k, models[k]), models[k]) end
  if #names ~= 1 then line("total", acc, "total") end
  out[#out + 1] = "</tbody></table>"
  local notes = {}
  if type(acc.unpriced) == "table" and #acc.unpriced > 0 then
    local u = {}
    for i, k in ipairs(acc.unpriced) do u[i] = account_name(k) end
    notes[#notes + 1] = "No price is known for " .. table.concat(u, ", ") .. "; the cost leaves it out."
  end
  local dry = acc.dry_run
  if type(dry) == "table" and ((dry.requests or 0) > 0 or (dry.cached or 0) > 0) then
    notes[#notes + 1] = string.format("Dry run: %d requests would be sent (~%d prompt tokens, about %s)%s.",
      dry.requests or 0, dry.prompt_tokens or 0, money(dry.cost_usd or 0),
      (dry.cached or 0) > 0 and string.format("; %d more were answered by the cache, free", dry.cached) or "")
  end
  for _, n in ipairs(notes) do out[#out + 1] = '<p class="muted">' .. esc(n) .. "</p>" end
  return table.concat(out, "\n")
end

-- ------------------------------------------------------------ judge prompts ---

local function value_text(v)
  if type(v) == "table" then return json(v) end
  return tostring(v)
end

-- What each judge was asked (the run's judge_prompts.json): the model and
-- parameters, definition, rubric, examples and the whole prompt template.
local function prompts_html(list)
  local out = {}
  for _, r in ipairs(list) do
    out[#out + 1] = '<details class="prompt" open><summary>' .. esc(r.metric or r.name or "judge")
      .. ' <span class="muted">judged by ' .. esc(r.model or "?") .. "</span></summary>"
    local facts = { '<div class="grid" style="margin-top:10px">' }
    local function fact(k, v) facts[#facts + 1] = kv(k, esc(v)) end
    fact("model", r.model or "?")
    fact("parameters", r.parameters and value_text(r.parameters) or "none sent")
    if r.include_input ~= nil then fact("input in the prompt", r.include_input and "yes" or "no") end
    if type(r.grading_context_columns) == "table" and #r.grading_context_columns > 0 then
      fact("context columns", table.concat(r.grading_context_columns, ", "))
    end
    if type(r.score_range) == "table" then fact("scores", value_text(r.score_range[1]) .. " to " .. value_text(r.score_range[2])) end
    if r.factory then fact("made by", r.factory) end
    facts[#facts + 1] = "</div>"
    out[#out + 1] = table.concat(facts)
    if r.definition then out[#out + 1] = '<h3>Definition</h3><div class="full">' .. esc(r.definition) .. "</div>" end
    if r.grading_prompt then out[#out + 1] = '<h3>Rubric</h3><div class="full">' .. esc(r.grading_prompt) .. "</div>" end
    if type(r.examples) == "table" and #r.examples > 0 then
      out[#out + 1] = "<details><summary>Examples (" .. #r.examples .. ")</summary>"
      for k, ex in ipairs(r.examples) do
        local parts = { '<div class="ex"><b>' .. k .. ".</b> score <b>" .. esc(value_text(ex.score)) .. "</b>" }
        if ex.input ~= nil then parts[#parts + 1] = '<div class="full"><span class="muted">input:</span> ' .. esc(value_text(ex.input)) .. "</div>" end
        parts[#parts + 1] = '<div class="full"><span class="muted">output:</span> ' .. esc(value_text(ex.output)) .. "</div>"
        if ex.justification ~= nil then
          parts[#parts + 1] = '<div class="full"><span class="muted">justification:</span> ' .. esc(value_text(ex.justification)) .. "</div>"
        end
        parts[#parts + 1] = "</div>"
        out[#out + 1] = table.concat(parts)
      end
      out[#out + 1] = "</details>"
    end
    if r.template then
      out[#out + 1] = "<details><summary>The whole prompt (each row's values replace the {placeholders})</summary><pre>"
        .. esc(r.template) .. "</pre></details>"
    end
    out[#out + 1] = "</details>"
  end
  return table.concat(out, "\n")
end



-- ------------------------------------------------------------ rows ---

local INPUT_NAMES = { "inputs", "input", "question", "llm_inputs", "user_input", "prompt", "query" }
local OUTPUT_NAMES = { "outputs", "output", "predictions", "prediction", "answer", "response" }
local TARGET_NAMES = { "targets", "target", "ground_truth", "expected", "reference" }

-- The short name of a metric column: "faithfulness/v1/score" -> "faithfulness".
local function short(name)
  return (name:gsub("/score$", ""):gsub("/v%d+$", ""))
end

-- What each column of a run's table is: the input, the output, the target,
-- the metrics' per-row columns (judges, with a justification, first) and
-- the rest. { input=, output=, target=, metrics = { {name=, base=, just=} },
-- other_values = {names}, others = {names} }
local function roles(run)
  local t = run.table
  local has = {}
  for _, n in ipairs(t.names) do has[n] = true end
  local p = run.params or {}
  local function pick(list, first)
    if first and has[first] then return first end
    for _, n in ipairs(list) do if has[n] then return n end end
  end
  local r = { metrics = {}, other_values = {}, others = {} }
  r.output = pick(OUTPUT_NAMES, p.predictions)
  r.target = pick(TARGET_NAMES, p.targets)
  local justs, used = {}, {}
  for _, n in ipairs(t.names) do
    local base = n:match("^(.*)/justification$")
    if base then justs[base] = n end
  end
  local judges, plain = {}, {}
  for _, n in ipairs(t.names) do
    local base = n:match("^(.*)/score$")
    if base then
      local m = { name = n, base = base, just = justs[base], label = short(n) }
      if m.just then judges[#judges + 1] = m; used[m.just] = true else plain[#plain + 1] = m end
      used[n] = true
    elseif n == "token_count" or n == "latency" then
      plain[#plain + 1] = { name = n, base = n, label = n }
      used[n] = true
    end
  end
  for _, m in ipairs(judges) do r.metrics[#r.metrics + 1] = m end
  for _, m in ipairs(plain) do r.metrics[#r.metrics + 1] = m end
  r.input = pick(INPUT_NAMES)
  for _, n in ipairs(t.names) do
    if not used[n] and n ~= r.output and n ~= r.target then
      if n:find("/", 1, true) then r.other_values[#r.other_values + 1] = n
      elseif not r.input and n ~= "error" then r.input = n
      elseif n ~= r.input then r.others[#r.others + 1] = n end
    end
  end
  return r
end

local function text_of(v)
  if v == nil then return nil end
  if type(v) == "table" then return json(v) end
  if type(v) == "number" then return fmt_num(v) end
  return tostring(v)
end

-- a summary cell: the text cut to a few lines (the row's details have it all)
local function clip_cell(v, class)
  local s = text_of(v)
  if s == nil then return '<td class="' .. class .. ' na">—</td>' end
  return '<td class="' .. class .. '"><div class="clip">' .. esc(s) .. "</div></td>"
end

local function block(title, v, class)
  local s = text_of(v)
  return '<div class="blk' .. (class and (" " .. class) or "") .. '"><h4>' .. esc(title) .. '</h4><div class="full">'
    .. (s and esc(s) or '<span class="muted">—</span>') .. "</div></div>"
end

-- a judge score with a colour by its value on a 1..5 scale
local function score_class(v, gib)
  if math.type(v) ~= "integer" and not (type(v) == "number" and v == math.floor(v)) then return "" end
  if v < 1 or v > 5 then return "" end
  if gib == false then v = 6 - v end
  return " sc" .. math.floor(v)
end

local function gib_of(run, base)
  local g = run.greater_is_better or {}
  local v = g[base .. "/mean"]
  if v == nil then v = g[base] end
  return v
end

local function sort_value(v)
  if type(v) == "boolean" then v = v and 1 or 0 end
  if type(v) ~= "number" or v ~= v then return "" end
  return string.format("%.17g", v)
end

local function toolbar(id, n, options, extra)
  local opts = {}
  for i, o in ipairs(options) do
    opts[i] = string.format('<option value="%s" data-name="%s">%s</option>', esc(o.attr), esc(o.name), esc(o.label))
  end
  return table.concat {
    '<div class="toolbar" data-table="', id, '">',
    '<input class="filter" type="search" placeholder="Filter rows…" aria-label="filter rows">',
    '<label class="muted">sort by <select aria-label="sort by">', table.concat(opts), "</select></label>",
    '<button type="button" class="dir">ascending</button>',
    '<button type="button" class="all" aria-pressed="false">expand all</button>',
    extra or "", '<span class="count">', n, " rows</span></div>\n",
  }
end

-- The row table of one run: a summary line per row (input, output, target
-- cut to a few lines; the scores as chips), which expands to everything.
local function rows_html(run, max_rows)
  local t = run.table
  local r = roles(run)
  local n = t.n_rows or 0
  if max_rows and max_rows > 0 then n = math.min(n, max_rows) end
  local col = function(name) return name and t.columns[name] or {} end
  local inputs, outputs, targets, errors = col(r.input), col(r.output), col(r.target), col("error")
  local options = { { attr = "data-row", name = "row", label = "row" } }
  for k, m in ipairs(r.metrics) do
    options[#options + 1] = { attr = "data-s" .. k, name = m.name, label = m.label }
  end
  local out = { toolbar("rows", n, options),
    '<table class="rowtable', r.target and "" or " no-tg", '" id="rows"><colgroup><col class="c-n"><col class="c-in">',
    '<col class="c-out">', r.target and '<col class="c-tg">' or "", '<col class="c-sc"></colgroup>',
    '<thead><tr><th class="s" title="row">#</th><th class="s">', esc(r.input or "input"), '</th><th class="s o">',
    esc(r.output or "output"), "</th>", r.target and ('<th class="s">' .. esc(r.target) .. "</th>") or "",
    "<th>scores</th></tr></thead>\n" }
  local ncols = r.target and 5 or 4
  for i = 1, n do
    local attrs = { string.format(' id="rows-r%d" data-row="%d"', i, i) }
    local chips, judges, vals = {}, {}, {}
    for k, m in ipairs(r.metrics) do
      local v = col(m.name)[i]
      attrs[#attrs + 1] = string.format(' data-s%d="%s"', k, sort_value(v))
      local gib = gib_of(run, m.base)
      if v ~= nil then
        chips[#chips + 1] = string.format('<span class="chip%s" title="%s">%s <b>%s</b></span>',
          m.just and score_class(v, gib) or "", esc(m.name), esc(m.label), esc(text_of(v)))
      elseif m.just and type(col(m.just)[i]) == "string" and col(m.just)[i]:match("^failed") then
        -- a judge that gave no score: its failure shows on the row's line
        chips[#chips + 1] = string.format('<span class="chip down" title="%s">%s <b>failed</b></span>',
          esc(col(m.just)[i]), esc(m.label))
      end
      if m.just then
        judges[#judges + 1] = string.format('<div class="judge"><div class="jh">%s <span class="score%s">%s</span></div><div class="full">%s</div></div>',
          esc(m.label), score_class(v, gib), esc(text_of(v) or "—"), esc(text_of(col(m.just)[i]) or ""))
      else
        vals[#vals + 1] = "<div><dt>" .. esc(m.label) .. "</dt><dd>" .. esc(text_of(v) or "—") .. "</dd></div>"
      end
    end
    for _, name in ipairs(r.other_values) do
      vals[#vals + 1] = "<div><dt>" .. esc(name) .. "</dt><dd>" .. esc(text_of(col(name)[i]) or "—") .. "</dd></div>"
    end
    local out_cell
    if errors[i] ~= nil and outputs[i] == nil then
      out_cell = '<td class="out err"><div class="clip">error: ' .. esc(text_of(errors[i])) .. "</div></td>"
    else
      out_cell = clip_cell(outputs[i], "out")
    end
    out[#out + 1] = "<tbody" .. table.concat(attrs) .. '><tr class="sum" tabindex="0" aria-expanded="false">'
      .. '<td class="n">' .. i .. "</td>" .. clip_cell(inputs[i], "in") .. out_cell
      .. (r.target and clip_cell(targets[i], "tg") or "")
      .. '<td class="sc">' .. table.concat(chips) .. "</td></tr>\n"
    local det = { '<tr class="det" hidden><td colspan="', ncols, '"><div class="texts">',
      block(r.input or "input", inputs[i]), block(r.output or "output", outputs[i], "out") }
    if r.target then det[#det + 1] = block(r.target, targets[i]) end
    det[#det + 1] = "</div>"
    if errors[i] ~= nil then det[#det + 1] = '<div class="judge err"><div class="jh">error</div><div class="full">' .. esc(text_of(errors[i])) .. "</div></div>" end
    det[#det + 1] = table.concat(judges)
    for _, name in ipairs(r.others) do
      if name ~= "error" then vals[#vals + 1] = "<div><dt>" .. esc(name) .. "</dt><dd>" .. esc(text_of(col(name)[i]) or "—") .. "</dd></div>" end
    end
    if #vals > 0 then det[#det + 1] = '<dl class="vals">' .. table.concat(vals) .. "</dl>" end
    det[#det + 1] = "</td></tr></tbody>\n"
    out[#out + 1] = table.concat(det)
  end
  out[#out + 1] = "</table>"
  return table.concat(out), n
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
        gs[#gs + 1] = { value = mean, min = min, max = max, title = short(s.name) .. " (mean)" }
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
  local model = model_name(run)
  local sub = esc((i.experiment and ("experiment " .. i.experiment .. " · ") or "")
    .. (model and ("model " .. model .. " · ") or "") .. "run " .. (i.id or ""))
  local toc = { { "run", "Run" }, { "metrics", "Metrics" } }
  local body = { section("Run", info_grid(run), "run"), section("Metrics", metrics_grid(run), "metrics") }
  if run.table then
    local max_rows = opts.max_rows == nil and M.default_max_rows or opts.max_rows
    local html, shown = rows_html(run, max_rows)
    local note = '<p class="muted">Click a row (or press Enter on it) to read it whole: the input, the output, '
      .. "the target and each judge's score with its justification.</p>"
    if shown < (run.table.n_rows or 0) then
      note = note .. string.format('<p class="muted">The first %d of %d rows (<code>--max-rows 0</code> for all; '
        .. "<code>evalua runs export</code> for the whole table).</p>", shown, run.table.n_rows)
    end
    body[#body + 1] = section("Rows", note .. html, "rows-section")
  else
    body[#body + 1] = section("Rows", '<p class="muted">this run has no results table</p>', "rows-section")
  end
  toc[#toc + 1] = { "rows-section", "Rows" }
  if type(run.judge_prompts) == "table" and #run.judge_prompts > 0 then
    body[#body + 1] = section("Judge prompts", prompts_html(run.judge_prompts), "prompts")
    toc[#toc + 1] = { "prompts", "Judge prompts" }
  end
  -- judges: agreement with people, pairwise verdicts (evalua.report_judges)
  for k, js in ipairs(require("evalua.report_judges").sections(run, esc)) do
    body[#body + 1] = section(js[1], js[2], "judges-" .. k)
    toc[#toc + 1] = { "judges-" .. k, js[1] }
  end
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
      if k <= 9 then values[short(s.name)] = s.values end
    end
    charts[#charts + 1] = { name = "score distributions", draw = function(file)
      plot.histogram { file = file, values = values,
        title = #scores > 1 and "How the rows scored, per metric" or nil,
        xlabel = "score of a row", ylabel = "number of rows" }
    end }
    body[#body + 1] = section("Plots", draw(charts), "plots")
    toc[#toc + 1] = { "plots", "Plots" }
  end
  body[#body + 1] = section("Parameters", params_table(run.params), "params")
  body[#body + 1] = section("Accounting", accounting_html(run.accounting), "accounting")
  toc[#toc + 1] = { "params", "Parameters" }
  toc[#toc + 1] = { "accounting", "Accounting" }
  return page(title, sub, table.concat(body), toc)
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

-- ------------------------------------------------ comparison maths ---
-- Every statistic of a comparison comes from evalua.stats (pairing,
-- bootstrap, verdict inputs, flips), the engine of `evalua runs compare`,
-- so that the report and the CLI agree.

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

-- The rows of the comparison, from evalua.stats.compare_runs (the engine of
-- `evalua runs compare`, same resamples and seed): for every metric of
-- either run, the two values, the difference (b - a), and for means with
-- per-row scores in both runs the paired bootstrap 95% interval over the
-- paired rows both runs scored (shown from two rows on) and its verdict.
function M.comparison(a, b, opts)
  opts = opts or {}
  local cmp = require("evalua.stats").compare_runs({ a, b }, { a.table, b.table },
    { resamples = opts.resamples, seed = opts.seed, row_means = false })
  local out = {}
  for _, m in ipairs(cmp.metrics) do
    local gib = m.greater_is_better
    local row = { metric = m.key, a = m.values[1], b = m.values[2], diff = m.diffs[2],
      greater_is_better = gib }
    local ci = m.ci[2]
    if m.column then row.paired = ci and ci.n or 0 end
    if ci and ci.n >= 2 then
      row.paired_mean, row.lo, row.hi = ci.mean, ci.lo, ci.hi
      if row.lo > 0 or row.hi < 0 then
        if gib == nil then row.verdict = "changed"
        else row.verdict = ((row.hi < 0) ~= gib) and "better" or "worse" end
      else
        row.verdict = "no significant change"
      end
    end
    out[#out + 1] = row
  end
  return out
end

-- Paired rows whose score changed between the runs (evalua.stats.changed_rows
-- over the rows evalua.stats.pair_rows pairs):
-- { row = row in A, row_b =, metric =, a =, b =, ja =, jb = }.
function M.flips(a, b)
  if not (a.table and b.table) then return {} end
  return require("evalua.stats").changed_rows(a.table, b.table, (pairing(a, b)))
end


-- The paired rows of two runs with every per-row score difference, the
-- rows with a flip (a judge's or another integer score changed) first,
-- largest change first, then the others in row order:
-- { method =, list = { { ra =, rb =, changes = { {m =, a =, b =, diff =, flip =} },
--   flip = bool, size = largest |diff| of a flip } } }.
-- m is a metric of roles(): { name, base, just, label }.
function M.row_pairs(a, b)
  local out = { list = {} }
  if not (a.table and b.table) then return out end
  local pairs_, method = pairing(a, b)
  out.method = method
  local ra = roles(a)
  local shared = {}
  for _, m in ipairs(ra.metrics) do
    if column(b, m.name) then shared[#shared + 1] = m end
  end
  out.metrics = shared
  out.list = require("evalua.stats").row_changes(a.table, b.table, pairs_, shared)
  return out
end



-- ------------------------------------------------ the comparison page ---

local function signed(v)
  if type(v) ~= "number" then return "" end
  local s = fmt_num(v)
  if v > 0 then s = "+" .. s end
  return (s:gsub("^%-", "−"))
end

-- the two runs' facts side by side, parameters by name, changes marked
local function runs_table(a, b)
  local ia, ib = a.info or {}, b.info or {}
  local out = { '<table class="runs"><thead><tr><th></th><th>A (baseline)</th><th>B</th></tr></thead><tbody>' }
  local function row(k, va, vb)
    out[#out + 1] = "<tr><th>" .. esc(k) .. "</th><td>" .. va .. "</td><td>" .. vb .. "</td></tr>"
  end
  row("name", esc(ia.name or ""), esc(ib.name or ""))
  local ma, mb = model_name(a), model_name(b)
  if ma or mb then row("model", esc(ma or ""), (ma ~= mb and '<span class="changed">' .. esc(mb or "") .. "</span>" or esc(mb or ""))) end
  row("experiment", esc(ia.experiment or ""), esc(ib.experiment or ""))
  row("status", badge(ia.status), badge(ib.status))
  row("started", esc(fmt_time(ia.start_time)), esc(fmt_time(ib.start_time)))
  row("duration", esc(fmt_duration(ia.start_time, ia.end_time)), esc(fmt_duration(ib.start_time, ib.end_time)))
  if ia.n_rows or ib.n_rows then row("rows", esc(ia.n_rows or ""), esc(ib.n_rows or "")) end
  row("run id", esc(ia.id or ""), esc(ib.id or ""))
  local keys, seen = {}, {}
  for _, r in ipairs { a, b } do
    for k in pairs(r.params or {}) do
      if not seen[k] and k ~= "model" and k ~= "rows" then seen[k] = true; keys[#keys + 1] = k end
    end
  end
  table.sort(keys)
  for _, k in ipairs(keys) do
    local va, vb = (a.params or {})[k], (b.params or {})[k]
    local function show(v)
      if v == nil then return "" end
      local s = M.param_text(k, v)
      return '<span class="full">' .. esc(type(s) == "table" and json(s) or s) .. "</span>"
    end
    local fa, fb = show(va), show(vb)
    if va ~= vb then fb = '<span class="changed">' .. fb .. "</span>" end
    row(k, fa, fb)
  end
  out[#out + 1] = "</tbody></table>"
  return table.concat(out, "\n")
end

local function change_chip(c, run)
  local gib = gib_of(run, c.m.base)
  if c.a == c.b or (c.diff == 0) then
    return string.format('<span class="chip same" title="%s">%s <b>%s</b></span>', esc(c.m.name), esc(c.m.label),
      esc(text_of(c.a) or "—"))
  end
  local cls = ""
  if c.diff and gib ~= nil then cls = ((c.diff > 0) == gib) and " up" or " down" end
  return string.format('<span class="chip%s" title="%s">%s <b>%s → %s</b>%s</span>', cls, esc(c.m.name),
    esc(c.m.label), esc(text_of(c.a) or "—"), esc(text_of(c.b) or "—"),
    c.diff and (" (" .. esc(signed(c.diff)) .. ")") or "")
end

-- The paired rows: input, output A and B side by side, the score changes;
-- each expands to both outputs whole and both judges' justifications.
local function pairs_html(a, b, rp, max_rows)
  local ra = roles(a)
  local rb = roles(b)
  local ca = function(name) return name and column(a, name) or {} end
  local cb = function(name) return name and column(b, name) or {} end
  local list = rp.list
  local n = #list
  if max_rows and max_rows > 0 then n = math.min(n, max_rows) end
  local options = { { attr = "data-o", name = "changed", label = "changed first" },
    { attr = "data-row", name = "row", label = "row" } }
  for k, m in ipairs(rp.metrics or {}) do
    options[#options + 1] = { attr = "data-d" .. k, name = m.name, label = "change in " .. m.label }
  end
  local out = { toolbar("pairs", n, options),
    '<table class="rowtable cmp" id="pairs"><colgroup><col class="c-n"><col class="c-in"><col class="c-oa">',
    '<col class="c-ob"><col class="c-d"></colgroup><thead><tr><th class="s" title="row">#</th><th class="s">',
    esc(ra.input or "input"), '</th><th class="s o">output A</th><th class="s o">output B</th><th>scores A → B</th></tr></thead>\n' }
  local flips = 0
  for k = 1, n do
    local e = list[k]
    if e.flip then flips = flips + 1 end
    local attrs = { string.format(' id="pairs-r%d" data-row="%d" data-o="%d"%s', e.ra, e.ra, k, e.flip and ' class="flip"' or "") }
    local chips, judges, vals = {}, {}, {}
    for j, c in ipairs(e.changes) do
      attrs[#attrs + 1] = string.format(' data-d%d="%s"', j, sort_value(c.diff))
      if c.m.just or c.flip then chips[#chips + 1] = change_chip(c, b) end
      if c.m.just then
        local gib = gib_of(b, c.m.base)
        judges[#judges + 1] = string.format('<div class="judge"><div class="jh">%s</div><div class="texts two">'
          .. '<div class="blk"><h4>A: <span class="score%s">%s</span></h4><div class="full">%s</div></div>'
          .. '<div class="blk"><h4>B: <span class="score%s">%s</span></h4><div class="full">%s</div></div></div></div>',
          esc(c.m.label), score_class(c.a, gib), esc(text_of(c.a) or "—"), esc(text_of(ca(c.m.just)[e.ra]) or ""),
          score_class(c.b, gib), esc(text_of(c.b) or "—"), esc(text_of(cb(c.m.just)[e.rb]) or ""))
      else
        vals[#vals + 1] = string.format("<div><dt>%s</dt><dd>%s → %s%s</dd></div>", esc(c.m.label),
          esc(text_of(c.a) or "—"), esc(text_of(c.b) or "—"), c.diff and c.diff ~= 0 and (" (" .. esc(signed(c.diff)) .. ")") or "")
      end
    end
    if #chips == 0 then chips[1] = '<span class="muted">no judge or integer score</span>' end
    local rowlabel = e.ra == e.rb and tostring(e.ra) or (e.ra .. "/" .. e.rb)
    out[#out + 1] = "<tbody" .. table.concat(attrs) .. '><tr class="sum" tabindex="0" aria-expanded="false">'
      .. '<td class="n">' .. esc(rowlabel) .. "</td>" .. clip_cell(ca(ra.input)[e.ra], "in")
      .. clip_cell(ca(ra.output)[e.ra], "out") .. clip_cell(cb(rb.output)[e.rb], "out")
      .. '<td class="sc">' .. table.concat(chips) .. "</td></tr>\n"
      .. '<tr class="det" hidden><td colspan="5"><div class="texts">' .. block(ra.input or "input", ca(ra.input)[e.ra])
      .. (ra.target and block(ra.target, ca(ra.target)[e.ra]) or "") .. "</div>"
      .. '<div class="texts two" style="margin-top:12px">' .. block("output A", ca(ra.output)[e.ra], "out")
      .. block("output B", cb(rb.output)[e.rb], "out") .. "</div>"
      .. table.concat(judges) .. (#vals > 0 and ('<dl class="vals">' .. table.concat(vals) .. "</dl>") or "")
      .. "</td></tr></tbody>\n"
  end
  out[#out + 1] = "</table>"
  return table.concat(out), n, flips
end

function M.compare(a, b, opts)
  opts = opts or {}
  local la, lb = label(a), label(b)
  local title = "evalua: " .. la .. " vs " .. lb
  local sub = esc("A = run " .. ((a.info or {}).id or "") .. " · B = run " .. ((b.info or {}).id or ""))
  local toc = { { "runs", "Runs" }, { "metrics", "Metrics" }, { "rows-section", "Rows" } }
  local body = {}
  body[#body + 1] = section("Runs", runs_table(a, b), "runs")

  local rows = M.comparison(a, b, opts)
  local t = { '<table class="cmpm" id="metrics-table"><thead><tr><th>metric</th><th class="num">A</th><th class="num">B</th>'
    .. '<th class="num">B − A</th><th>95% interval (paired)</th><th class="num opt">rows paired</th><th>verdict</th></tr></thead><tbody>' }
  for _, r in ipairs(rows) do
    local verdict = r.verdict or ""
    local cls = verdict == "better" and "good" or verdict == "worse" and "bad" or "muted"
    local function lab(html, l) return '<td data-label="' .. l .. '"' .. html:sub(4) end
    local paired = cell(r.paired):gsub('^<td class="', '<td class="opt ')
    t[#t + 1] = "<tr><td>" .. esc(r.metric) .. "</td>" .. lab(cell(r.a), "A") .. lab(cell(r.b), "B")
      .. lab(cell(r.diff), "B − A")
      .. lab(r.lo and ('<td class="num" data-v="' .. string.format("%.17g", r.lo) .. '">['
        .. esc(fmt_num(r.lo)) .. ", " .. esc(fmt_num(r.hi)) .. "]</td>") or '<td class="na" data-v="">—</td>', "95% interval")
      .. paired .. '<td data-label="verdict" class="' .. cls .. '">' .. esc(verdict) .. "</td></tr>"
  end
  t[#t + 1] = "</tbody></table>"
  body[#body + 1] = section("Metrics", table.concat(t)
    .. '<p class="muted">B − A is the difference of the aggregates; the interval is a paired '
    .. "bootstrap (2000 resamples) of the mean per-row difference over the rows both runs scored. "
    .. "Better or worse only when the interval excludes zero.</p>", "metrics")

  local rp = M.row_pairs(a, b)
  local max_rows = opts.max_rows == nil and M.default_max_rows or opts.max_rows
  local nflips = 0
  for _, e in ipairs(rp.list) do if e.flip then nflips = nflips + 1 end end
  local html, shown = pairs_html(a, b, rp, max_rows)
  local note = string.format('<p class="muted">%d rows paired %s; %d with a changed judge (or other integer) '
    .. "score, listed first, largest change first. Click a row to read both outputs and both judges' "
    .. "justifications side by side.</p>", #rp.list, esc(rp.method or ""), nflips)
  if shown < #rp.list then
    note = note .. string.format('<p class="muted">The first %d of %d rows (<code>--max-rows 0</code> for all).</p>',
      shown, #rp.list)
  end
  body[#body + 1] = section("Rows: " .. nflips .. " changed of " .. #rp.list, note .. html, "rows-section")

  local prompts = {}
  for _, r in ipairs { { "A", a }, { "B", b } } do
    if type(r[2].judge_prompts) == "table" and #r[2].judge_prompts > 0 then
      prompts[#prompts + 1] = "<h3>Run " .. r[1] .. "</h3>" .. prompts_html(r[2].judge_prompts)
    end
  end
  if #prompts > 0 then
    body[#body + 1] = section("Judge prompts", table.concat(prompts), "prompts")
    toc[#toc + 1] = { "prompts", "Judge prompts" }
  end

  if opts.plots ~= false then
    plot = plot or require "evalua.plot"
    local ms, va, vb, ia, ib = {}, {}, {}, {}, {}
    for _, r in ipairs(rows) do
      local base = r.metric:match("^(.*)/mean$")
      if base and type(r.a) == "number" and type(r.b) == "number" and #ms < 8 then
        ms[#ms + 1] = r.metric
        va[#ms], vb[#ms] = r.a, r.b
        local sa, sb = column(a, base .. "/score"), column(b, base .. "/score")
        if sa then _, ia[#ms] = require("evalua.stats").mean_interval(numbers(sa, a.table.n_rows)) end
        if sb then _, ib[#ms] = require("evalua.stats").mean_interval(numbers(sb, b.table.n_rows)) end
      end
    end
    if #ms > 0 then
      body[#body + 1] = section("Plots", draw { { name = "comparison", draw = function(file)
        plot.compare { file = file, runs = { "A: " .. la, "B: " .. lb }, metrics = ms,
          values = { va, vb }, intervals = { ia, ib }, title = "Mean of each metric, A and B" }
      end } } .. '<p class="muted">Bars: the mean of each run; error bars: its 95% normal interval.</p>', "plots")
      toc[#toc + 1] = { "plots", "Plots" }
    end
  end
  body[#body + 1] = section("Accounting", "<h3>A</h3>" .. accounting_html(a.accounting)
    .. "<h3>B</h3>" .. accounting_html(b.accounting), "accounting")
  toc[#toc + 1] = { "accounting", "Accounting" }
  return page(title, sub, table.concat(body), toc)
end

function M.write(path, html)
  local f, err = io.open(path, "wb")
  if not f then error("report: cannot write '" .. path .. "': " .. tostring(err), 0) end
  f:write(html)
  f:close()
  return path
end

return M
