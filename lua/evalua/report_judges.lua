-- evalua.report_judges: the report's judge sections. "Agreement with
-- people" (from the run's agreement.json: statistics with intervals, the
-- confusion matrix as a heat map, the 10 worst disagreements) and
-- "Pairwise verdicts" (from the results table: rates with intervals,
-- Bradley-Terry strengths for evalua.compare runs). Each section is HTML
-- whose every string from the run goes through esc.
local M = {}

local function fmt(v) return require("evalua.agreement").fmt(v) end

local function interval(c, esc)
  if type(c) ~= "table" or c[1] == nil then return "" end
  return esc(string.format("[%s, %s]", fmt(c[1]), fmt(c[2])))
end

-- The confusion matrix as a heat map: cell shade by the share of its
-- human row (rows: people's score, columns: the judge's).
local function heat_map(conf, esc)
  local L = #conf.labels
  local out = { '<table class="heat"><tr><th>human \\ judge</th>' }
  for _, v in ipairs(conf.labels) do out[#out + 1] = "<th>" .. esc(fmt(v)) .. "</th>" end
  out[#out + 1] = "</tr>"
  for a = 1, L do
    local row = conf.counts[a] or {}
    local total = 0
    for b = 1, L do total = total + (row[b] or 0) end
    out[#out + 1] = "<tr><th>" .. esc(fmt(conf.labels[a])) .. "</th>"
    for b = 1, L do
      local c = row[b] or 0
      local share = total > 0 and c / total or 0
      -- diagonal cells (agreement) in green, the rest in red, darker with the share
      local hue = a == b and 140 or 0
      out[#out + 1] = string.format('<td style="background:hsl(%d,60%%,%d%%);text-align:center" title="%s">%d</td>',
        hue, math.floor(97 - 50 * share + 0.5), esc(string.format("%.0f%% of human score %s", 100 * share, fmt(conf.labels[a]))), c)
    end
    out[#out + 1] = "</tr>"
  end
  out[#out + 1] = "</table>"
  return table.concat(out)
end

local function agreement_html(e, esc)
  local ag = require "evalua.agreement"
  local out = { string.format("<h3>%s vs people's column %s</h3><p class=\"muted\">n = %s; %s%% percentile bootstrap intervals, %s resamples</p>",
    esc(e.metric), esc(e.human), esc(tostring(e.n)), esc(fmt((e.level or 0.95) * 100)), esc(tostring(e.resamples or "-"))) }
  out[#out + 1] = "<table><tr><th>statistic</th><th>value</th><th>interval</th></tr>"
  for _, s in ipairs(ag.STATS) do
    out[#out + 1] = string.format("<tr><td>%s</td><td>%s</td><td>%s</td></tr>", esc(s), esc(fmt((e.stats or {})[s])),
      interval((e.ci or {})[s], esc))
  end
  out[#out + 1] = "</table>"
  if type(e.confusion) == "table" and type(e.confusion.labels) == "table" then
    out[#out + 1] = "<h4>Confusion matrix</h4>" .. heat_map(e.confusion, esc)
  end
  if type(e.worst) == "table" and #e.worst > 0 then
    out[#out + 1] = "<h4>Worst disagreements</h4><table><tr><th>row</th><th>judge</th><th>human</th><th>input</th><th>output</th><th>justification</th></tr>"
    for _, w in ipairs(e.worst) do
      out[#out + 1] = string.format("<tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>",
        esc(fmt(w.row)), esc(fmt(w.judge)), esc(fmt(w.human)), esc(w.input or ""), esc(w.output or ""),
        esc(w.justification or ""))
    end
    out[#out + 1] = "</table>"
  end
  for _, wmsg in ipairs(e.warnings or {}) do out[#out + 1] = '<p class="muted">warning: ' .. esc(wmsg) .. "</p>" end
  return table.concat(out, "\n")
end

-- Sections for report.run: a list of { title, html }, empty when the run
-- has neither human_scores agreement nor pairwise verdicts.
function M.sections(run, esc)
  local out = {}
  local id = run.info and run.info.id
  if not id then return out end
  local tracking = require "evalua.tracking"
  local bytes = tracking.artifact(id, "agreement.json")
  if bytes then
    local ok, rep = pcall(require("cjson").decode, bytes)
    if ok and type(rep) == "table" and #rep > 0 then
      local parts = {}
      for _, e in ipairs(rep) do parts[#parts + 1] = agreement_html(e, esc) end
      out[#out + 1] = { "Agreement with people", table.concat(parts, "\n") }
    end
  end
  local lines = require("evalua.metrics.pairwise").show_lines(tracking, id)
  if #lines > 0 then
    out[#out + 1] = { "Pairwise verdicts", "<pre>" .. esc(table.concat(lines, "\n")) .. "</pre>" }
  end
  return out
end

return M
