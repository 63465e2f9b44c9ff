-- eval.lua ROWS JUDGES: the judged run a user executes: ROWS rows through an
-- OpenAI model (the loopback test server via OPENAI_BASE_URL) and JUDGES
-- make_genai_metric judges, with evalua.evaluate. Prints seconds inside
-- evaluate, requests, failures and the process's peak RSS.
local evalua = require "evalua"
local core = require "evalua.core"
local genai = evalua.metrics.genai
local rows, njudges = tonumber(arg[1]), tonumber(arg[2] or "2")
local inputs = { n = rows }
for i = 1, rows do inputs[i] = "Sentence number " .. i .. " to translate." end
local data = evalua.table.from({ { "user_input", inputs } })
local judges = {}
for k = 1, njudges do
  judges[k] = genai.make_genai_metric{ name = "judge" .. k, definition = "How good the translation is.",
    grading_prompt = "Score 1-5: 1 bad, 5 good.", model = "openai:/gpt-4" }
end
local model = evalua.openai.model{ model = "gpt-3.5-turbo",
  messages = { { role = "system", content = "Translate into Spanish." }, { role = "user", content = "{user_input}" } } }
local t0, c0 = core.clock(), os.clock()
local r = evalua.evaluate{ model = model, data = data, extra_metrics = judges,
  evaluator_config = { col_mapping = { inputs = "user_input" } } }
local secs, cpu = core.clock() - t0, os.clock() - c0
local st = require("evalua.http").stats()
local rss = io.open("/proc/self/status"):read("a"):match("VmHWM:%s*(%d+)")
local failed = 0
for k = 1, njudges do failed = failed + (r.metrics["judge" .. k .. "/v1/failures"] or 0) end
print(string.format("evaluate_s=%.2f cpu_s=%.2f requests=%d judge_failures=%d rss_mb=%.1f", secs, cpu,
  st.requests, failed, tonumber(rss) / 1024))
