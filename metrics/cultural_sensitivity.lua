-- cultural_sensitivity: the seed walkthrough's custom judge. How well a
-- translation keeps cultural nuance and idioms (1-5), taught with ten scored
-- English->Spanish examples. Load with evalua.metrics.load("cultural_sensitivity",
-- { args = { model = "openai:/gpt-4o-mini" } }) to pick another judge.
local genai = require "evalua.metrics.genai"
local Ex = genai.EvaluationExample

local EXAMPLES = {
  Ex{ input = "Break a leg!", output = "¡Rómpete una pierna!", score = 2,
    justification = "This is a literal translation that doesn't capture the idiomatic meaning." },
  Ex{ input = "Break a leg!", output = "¡Mucha mierda!", score = 5,
    justification = "This translation uses the equivalent Spanish theater idiom, showing high cultural awareness." },
  Ex{ input = "It's raining cats and dogs.", output = "Está lloviendo gatos y perros.", score = 1,
    justification = "This literal translation does not convey the idiomatic meaning of heavy rain." },
  Ex{ input = "It's raining cats and dogs.", output = "Está lloviendo a cántaros.", score = 5,
    justification = "This translation uses a Spanish idiom that accurately conveys the meaning of heavy rain." },
  Ex{ input = "Kick the bucket.", output = "Patear el balde.", score = 1,
    justification = "This literal translation fails to convey the idiomatic meaning of dying." },
  Ex{ input = "Kick the bucket.", output = "Estirar la pata.", score = 5,
    justification = "This translation uses the equivalent Spanish idiom for dying, showing high cultural awareness." },
  Ex{ input = "Once in a blue moon.", output = "Una vez en una luna azul.", score = 2,
    justification = "This literal translation does not capture the rarity implied by the idiom." },
  Ex{ input = "Once in a blue moon.", output = "De vez en cuando.", score = 4,
    justification = "This translation captures the infrequency but lacks the idiomatic color of the original." },
  Ex{ input = "The ball is in your court.", output = "La pelota está en tu cancha.", score = 3,
    justification = "This translation is understandable but somewhat lacks the idiomatic nuance of making a decision." },
  Ex{ input = "The ball is in your court.", output = "Te toca a ti.", score = 5,
    justification = "This translation accurately conveys the idiomatic meaning of it being someone else's turn to act." },
}

return function(opts)
  opts = opts or {}
  return genai.make_genai_metric{
    name = "cultural_sensitivity",
    definition = "Assesses how well the translation preserves cultural nuances and idioms.",
    grading_prompt = "Score from 1-5, where 1 is culturally insensitive and 5 is highly culturally aware.",
    examples = EXAMPLES,
    model = opts.model or "openai:/gpt-4",
    parameters = opts.parameters or { temperature = 0.0 },
    max_workers = opts.max_workers,
    score_range = { 1, 5 },
  }
end
