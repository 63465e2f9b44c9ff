-- rag_faithfulness: the seed's RAG walkthrough. A custom model function (my_llm) answers
-- question+context rows; a custom faithfulness judge from four examples, then the built-in one.
local evalua = require "evalua"
local genai = evalua.metrics.genai

local eval_data = evalua.table.from{
  llm_inputs = {
    [[Question: What is the company's policy on employee training?
context: "Our company offers various training programs to support employee development. Employees are required to complete at least one training course per year related to their role. Additional training opportunities are available based on performance reviews."]],
    [[Question: What is the company's policy on sick leave?
context: "Employees are entitled to 10 days of paid sick leave per year. Sick leave can be used for personal illness or to care for an immediate family member. A doctor's note is required for sick leave exceeding three consecutive days."]],
    [[Question: How does the company handle performance reviews?
context: "Performance reviews are conducted annually. Employees are evaluated based on their job performance, goal achievement, and overall contribution to the team. Feedback is provided, and development plans are created to support employee growth."]],
  },
}

local remote = [[Question: What is the company's policy on remote work?
context: "Our company supports a flexible working environment. Employees can work remotely up to three days a week, provided they maintain productivity and attend all mandatory meetings."]]
local examples = {
  genai.EvaluationExample{ input = remote,
    output = "Employees can work remotely up to three days a week if they maintain productivity and attend mandatory meetings.",
    score = 5, justification = "The answer is accurate and directly related to the question and context provided." },
  genai.EvaluationExample{ input = remote,
    output = "Employees are allowed to work remotely as long as they want.",
    score = 2, justification = "The answer is somewhat related but incorrect because it does not mention the three-day limit." },
  genai.EvaluationExample{ input = remote,
    output = "Our company supports flexible work arrangements.",
    score = 3, justification = "The answer is related to the context but does not specifically answer the question about the remote work policy." },
  genai.EvaluationExample{ input = [[Question: What is the company's annual leave policy?
context: "Employees are entitled to 20 days of paid annual leave per year. Leave must be approved by the employee's direct supervisor and should be planned in advance to ensure minimal disruption to work."]],
    output = "Employees are entitled to 20 days of paid annual leave per year, which must be approved by their supervisor.",
    score = 5, justification = "The answer is accurate and directly related to the question and context provided." },
}

local faithfulness = genai.make_genai_metric{
  name = "faithfulness",
  definition = "Assesses how well the answer relates to the question and provided context.",
  grading_prompt = "Score from 1-5, where 1 is not related at all and 5 is highly relevant and accurate.",
  examples = examples,
}

-- each row runs in its own task, so the requests go out concurrently
local function my_llm(inputs)
  return inputs:map(function(row)
    local text, err = evalua.openai.chat{ model = "gpt-3.5-turbo", messages = {
      { role = "system", content = "Please answer the following question in formal language based on the context provided." },
      { role = "user", content = row.llm_inputs } } }
    if not text then error(err, 0) end
    return text
  end)
end

local custom = evalua.evaluate{
  model = my_llm, data = eval_data, model_type = "text", evaluators = "default",
  extra_metrics = { faithfulness },
  evaluator_config = { col_mapping = { inputs = "llm_inputs" } },
}
print(custom.tables.eval_results_table:select{ "outputs", "faithfulness/v1/score", "faithfulness/v1/justification" })
print("custom faithfulness mean: " .. tostring(custom.metrics["faithfulness/v1/mean"]))

local builtin = evalua.evaluate{
  model = my_llm, data = eval_data, model_type = "text", evaluators = "default",
  extra_metrics = { genai.faithfulness{ model = "openai:/gpt-4" } },
  evaluator_config = { col_mapping = { inputs = "llm_inputs", context = "llm_inputs" } },
}
print(builtin.tables.eval_results_table:select{ "outputs", "faithfulness/v1/score", "faithfulness/v1/justification" })
print("built-in faithfulness mean: " .. tostring(builtin.metrics["faithfulness/v1/mean"]))
