-- evalua.export: a stored table (tracking.load_table_columns) as the text of
-- an export file: csv, jsonl or MLflow's eval_results_table JSON ("split"
-- orientation, pandas' number forms). Used by `evalua runs export` and by
-- `evalua runs push` (evalua.mlflow).
local M = {}

local function csv_field(v, t)
  if v == nil then return "" end
  local s
  if type(v) == "table" then s = t.json_encode(v)
  elseif type(v) == "number" then
    s = t.json_encode(v)
    if s == "NaN" then s = "nan" elseif s == "Infinity" then s = "inf" elseif s == "-Infinity" then s = "-inf" end
  elseif type(v) == "boolean" then s = v and "True" or "False"
  else s = tostring(v) end
  if s:find('[,"\r\n]') or s:match("^%s") or s:match("%s$") then s = '"' .. s:gsub('"', '""') .. '"' end
  return s
end

-- The export text of a loaded table (tracking.load_table_columns) in format
-- csv, jsonl or mlflow-json.
function M.text(tc, format)
  local t = require "evalua.tracking"
  local names, cols, n = tc.names, tc.columns, tc.n_rows
  local out = {}
  if format == "csv" then
    local head = {}
    for j, name in ipairs(names) do head[j] = csv_field(name, t) end
    out[1] = table.concat(head, ",")
    for r = 1, n do
      local line = {}
      for j, name in ipairs(names) do line[j] = csv_field(cols[name][r], t) end
      out[#out + 1] = table.concat(line, ",")
    end
    return table.concat(out, "\r\n") .. "\r\n"
  elseif format == "jsonl" then
    for r = 1, n do
      local parts = {}
      for j, name in ipairs(names) do
        parts[j] = t.json_encode(name) .. ":" .. t.json_encode(cols[name][r])
      end
      out[#out + 1] = "{" .. table.concat(parts, ",") .. "}"
    end
    return #out > 0 and (table.concat(out, "\n") .. "\n") or ""
  elseif format == "mlflow-json" then
    local opts = { ascii = true, decimals = 10 }
    -- pandas makes a numeric column with a missing value or a float in it
    -- float64, and writes its integers as 5.0: do the same
    local floaty = {}
    for j, name in ipairs(names) do
      local c, numeric, holes, floats = cols[name], true, false, false
      for r = 1, n do
        local v = c[r]
        if v == nil then holes = true
        elseif type(v) ~= "number" then numeric = false break
        elseif math.type(v) == "float" then floats = true end
      end
      floaty[j] = numeric and (holes or floats)
    end
    local data = {}
    for r = 1, n do
      local row = {}
      for j, name in ipairs(names) do
        local v = cols[name][r]
        if floaty[j] and math.type(v) == "integer" then v = v + 0.0 end
        row[j] = t.json_encode(v, opts)
      end
      data[r] = "[" .. table.concat(row, ",") .. "]"
    end
    return '{"columns":' .. t.json_encode(names, opts) .. ',"data":[' .. table.concat(data, ",") .. "]}"
  end
  error("export: format must be csv, jsonl or mlflow-json, got '" .. tostring(format) .. "'", 2)
end

return M
