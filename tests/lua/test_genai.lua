-- LLM-judge metrics without a network: prompt rendering against golden files,
-- the answer parse ladder over real-looking judge answers, example checks,
-- from-prompt variables, and the literal insertion of braces.
local h = require "helper"
local genai = require "evalua.metrics.genai"

local GOLDEN = h.source_dir .. "/tests/data/genai/"
local update = os.getenv("EVALUA_UPDATE_GOLDEN") == "1"

local function golden(name, text)
  local path = GOLDEN .. name
  if update then h.write(path, text) return end
  local want = h.read(path)
  assert(want, "missing golden file " .. path .. " (run with EVALUA_UPDATE_GOLDEN=1)")
  if want ~= text then
    local i = 1
    while i <= #want and want:sub(i, i) == text:sub(i, i) do i = i + 1 end
    error(string.format("%s differs at byte %d: want %q, got %q", name, i,
      want:sub(i, i + 40), text:sub(i, i + 40)), 2)
  end
end

local Ex = genai.EvaluationExample

h.case("prompt with input and examples", function()
  local m = genai.make_genai_metric{ name = "cultural_sensitivity",
    definition = "Assesses how well the translation preserves cultural nuances and idioms.",
    grading_prompt = "Score from 1-5, where 1 is culturally insensitive and 5 is highly culturally aware.",
    examples = {
      Ex{ input = "Kick the bucket.", output = "Patear el balde.", score = 1, justification = "Literal." },
      Ex{ input = "Kick the bucket.", output = "Estirar la pata.", score = 5, justification = "The idiom." },
    } }
  golden("with_examples.txt", m.render_row{ inputs = "Spill the beans.", predictions = "Revela el secreto." })
end)

h.case("prompt with grading context, no input, no examples", function()
  local m = genai.make_genai_metric{ name = "faith", definition = "Claims supported by context.",
    grading_prompt = "1 bad, 5 good.", grading_context_columns = { "context", "source" },
    include_input = false }
  golden("context_no_input.txt", m.render_row{ inputs = "ignored question", predictions = "Answer.",
    context = "Returns within 30 days.", source = { "doc1", "doc2" } })
end)

h.case("prompt with example context and numbers", function()
  local m = genai.make_genai_metric{ name = "rel", definition = "D", grading_prompt = "R",
    grading_context_columns = "context",
    examples = { Ex{ input = "q", output = "a", score = 3.0, justification = "j", grading_context = "ctx" } } }
  golden("example_context.txt", m.render_row{ inputs = 42, predictions = 1.5, context = "c" })
end)

h.case("braces in user text are sent literally", function()
  local m = genai.make_genai_metric{ name = "b", definition = "Use {format} and {{x}}.",
    grading_prompt = "Rubric with {score} and a } stray brace",
    examples = { Ex{ input = "{input}", output = "{output}", score = 1, justification = "{justification}" } } }
  local p = m.render_row{ inputs = "the {user} asks", predictions = "{\"json\": true}" }
  assert(p:find("Use {format} and {{x}}.", 1, true))
  assert(p:find("Rubric with {score} and a } stray brace", 1, true))
  assert(p:find("Example input:\n{input}", 1, true))
  assert(p:find("the {user} asks", 1, true))
  assert(p:find("{\"json\": true}", 1, true))
end)

h.case("include_input=false changes the header", function()
  local m = genai.make_genai_metric{ name = "x", definition = "d", grading_prompt = "g", include_input = false }
  local p = m.render_row{ predictions = "out" }
  assert(not p:find("input that was given", 1, true))
  assert(not p:find("Model input:", 1, true))
  local _, count = p:gsub("x", "x")
  assert(count >= 6)
end)

h.case("the metric name appears six times", function()
  local m = genai.make_genai_metric{ name = "zqzq", definition = "d", grading_prompt = "g" }
  local _, count = m.render_row{ inputs = "i", predictions = "o" }:gsub("zqzq", "")
  h.eq(count, 6, "name count")
end)

-- { answer, score or nil, justification (or the start of the failure note) }
local ANSWERS = {
  { "score: 4\njustification: The translation keeps the idiom.", 4, "The translation keeps the idiom." },
  { "Score: 5\nJustification: Perfect.\nMore detail on a second line.", 5, "Perfect." },
  { "score: 3, justification: fine", 3, "fine" },
  { "score:2\n\njustification:\n  It is literal.", 2, "It is literal." },
  { "SCORE: 1 JUSTIFICATION: nope", 1, "nope" },
  { "**Score:** 4\n**Justification:** Good but literal.", 4, "Good but literal." },
  { '{"score": 4, "justification": "Captures the meaning."}', 4, "Captures the meaning." },
  { '{"Score": 5, "Justification": "Exact idiom."}', 5, "Exact idiom." },
  { '```json\n{"score": 2, "justification": "Too literal."}\n```', 2, "Too literal." },
  { 'Here is my grading:\n```\n{"score": 3, "justification": "Partly."}\n```\nThanks.', 3, "Partly." },
  { '{"score": "4", "justification": "string score"}', 4, "string score" },
  { '{"score": 4.7, "justification": "float score is truncated like int()"}', 4, "float score is truncated like int()" },
  { "", nil, "failed: the judge's answer is empty" },
  { "   \n ", nil, "failed: the judge's answer is empty" },
  { "I think this translation is quite good overall.", nil,
    "failed: could not read a score and a justification from the judge's answer; raw answer: I think" },
  { "score: 4.5\njustification: half points", nil, "failed: could not read a score" },
  { "score: -1\njustification: negative", nil, "failed: could not read a score" },
  { "score: high\njustification: words", nil, "failed: could not read a score" },
  { "score: 4", nil, "failed: could not read a score" },
  { '{"score": null, "justification": "x"}', nil, "failed: could not read a score and a justification from the judge's answer (the JSON score is not an integer)" },
  { '{"score": "high", "justification": "x"}', nil, "(the JSON score is not an integer)" },
  { '{"justification": "no score"}', nil, "(the JSON has no score)" },
  { '{"score": 3}', nil, "(the JSON justification is not a string)" },
  { "5", nil, "failed: could not read a score" },
  { 'score: 4\njustification: the output {"a": 1} matches', 4, 'the output {"a": 1} matches' },
  { 'score: 2\njustification: see ```json\n{"k": 1}\n``` here', 2, "see ```json" },
  { "score: " .. string.rep("1", 60) .. "\njustification: huge", nil, "(the score is too large)" },
  { "\0\1\2 garbage \255\254", nil, "failed: could not read a score" },
}

h.case("parse ladder", function()
  for i, c in ipairs(ANSWERS) do
    local score, just = genai.parse_answer(c[1])
    if c[2] == nil then
      h.eq(score, nil, "answer " .. i .. " score")
      assert(type(just) == "string" and just:find(c[3], 1, true),
        string.format("answer %d: expected note containing %q, got %q", i, c[3], tostring(just)))
      if c[1]:match("%S") then assert(just:find("raw answer: ", 1, true), "answer " .. i .. " keeps raw") end
    else
      h.eq(score, c[2], "answer " .. i .. " score")
      h.eq(math.type(score), "integer", "answer " .. i .. " integer")
      h.eq(just, c[3], "answer " .. i .. " justification")
    end
  end
end)

h.case("examples are checked against grading_context_columns", function()
  h.raises("make_genai_metric: examples[1] grading_context keys {context} do not match grading_context_columns {docs, question}",
    genai.make_genai_metric, { name = "x", definition = "d", grading_prompt = "g",
      grading_context_columns = { "docs", "question" },
      examples = { Ex{ output = "o", score = 1, justification = "j", grading_context = { context = "c" } } } })
  h.raises("make_genai_metric: examples[1] has a grading_context but the metric has no grading_context_columns",
    genai.make_genai_metric, { name = "x", definition = "d", grading_prompt = "g",
      examples = { Ex{ output = "o", score = 1, justification = "j", grading_context = "c" } } })
  h.raises("EvaluationExample: field 'score' must be a number, got string", Ex,
    { output = "o", score = "5", justification = "j" })
  h.raises("make_genai_metric: unknown version 'v2'", genai.make_genai_metric,
    { name = "x", definition = "d", grading_prompt = "g", version = "v2" })
  h.raises("make_genai_metric: malformed model URI 'openai:gpt-4'", genai.make_genai_metric,
    { name = "x", definition = "d", grading_prompt = "g", model = "openai:gpt-4" })
end)

h.case("metric fields follow MLflow", function()
  local m = genai.make_genai_metric{ name = "x", definition = "d", grading_prompt = "g",
    grading_context_columns = { "context" } }
  h.same(m.params, { "predictions", "inputs", "context" })
  h.same(m.aggregations, { "mean", "variance", "p90" })
  -- unset: no cap beyond --concurrency; set: caps this metric (MLflow's meaning)
  h.eq(m.max_workers, nil)
  h.eq(genai.make_genai_metric{ name = "y", definition = "d", grading_prompt = "g", max_workers = 3 }.max_workers, 3)
  h.same(m.genai_metric_args.parameters, { temperature = 0.0, max_tokens = 200, top_p = 1.0 })
  h.eq(m.key, "x/v1")
  local noinput = genai.make_genai_metric{ name = "y", definition = "d", grading_prompt = "g", include_input = false }
  h.same(noinput.params, { "predictions" })
end)

h.case("from_prompt: variables, wrapper, names without version", function()
  local m = genai.make_genai_metric_from_prompt{ name = "polite",
    judge_prompt = "Is this reply to {question} polite? Reply: {predictions}. Literal {\"a\": 1}." }
  h.same(m.params, { "predictions", "question" })
  h.eq(m.key, "polite") h.eq(m.score_column, "polite/score")
  local p = m.render_row{ predictions = "Sure {thing}", question = "Q?" }
  assert(p:find("Is this reply to Q? polite? Reply: Sure {thing}. Literal {\"a\": 1}.", 1, true), p)
  assert(p:find("score: the numeric polite score", 1, true))
  local none, missing = m.render_row{ predictions = "x" }
  h.eq(none, nil) h.eq(missing, "question")
end)

h.case("a missing output fails the row without a request", function()
  local m = genai.make_genai_metric{ name = "x", definition = "d", grading_prompt = "g" }
  local s, j = m.score_row({ inputs = "i" }, 1)
  h.eq(s, nil)
  h.eq(j, "failed: the row has no model output to judge")
end)

h.case("numbers in prompts: one format (util.number_text) for judges and models", function()
  local util = require "evalua.util"
  for _, c in ipairs { { 3, "3" }, { 2.0, "2" }, { 0.5, "0.5" }, { 1 / 3, "0.333333333333333" },
      { 1e15, "1000000000000000" }, { 2 ^ 53, "9.00719925474099e+15" }, { -7.0, "-7" },
      { math.huge, "inf" }, { 1e300, "1e+300" } } do
    h.eq(util.number_text(c[1]), c[2], tostring(c[1]))
    h.eq(genai.render(c[1]), c[2], "judge " .. tostring(c[1]))
  end
end)

h.done()
