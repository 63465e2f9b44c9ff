-- evalua.prices: the default price table, USD per 1,000,000 tokens, as
-- { input = prompt price, output = completion price }. A model name matches
-- its exact entry or else the longest entry it starts with, so dated
-- snapshots ("gpt-4o-mini-2024-07-18") find their family. Prices change:
-- edit this table, or point EVALUA_PRICES at a JSON file of the same shape
-- ({ "model": { "input": 0.15, "output": 0.6 } }) whose entries win.
-- Figures are the providers' published list prices as of mid-2025.
return {
  ["gpt-4o-mini"] = { input = 0.15, output = 0.60 },
  ["gpt-4o"] = { input = 2.50, output = 10.00 },
  ["gpt-4.1-nano"] = { input = 0.10, output = 0.40 },
  ["gpt-4.1-mini"] = { input = 0.40, output = 1.60 },
  ["gpt-4.1"] = { input = 2.00, output = 8.00 },
  ["gpt-4-turbo"] = { input = 10.00, output = 30.00 },
  ["gpt-4"] = { input = 30.00, output = 60.00 },
  ["gpt-3.5-turbo"] = { input = 0.50, output = 1.50 },
  ["o1-mini"] = { input = 1.10, output = 4.40 },
  ["o1"] = { input = 15.00, output = 60.00 },
  ["o3-mini"] = { input = 1.10, output = 4.40 },
  ["o4-mini"] = { input = 1.10, output = 4.40 },
  ["claude-3-haiku"] = { input = 0.25, output = 1.25 },
  ["claude-3-5-haiku"] = { input = 0.80, output = 4.00 },
  ["claude-3-5-sonnet"] = { input = 3.00, output = 15.00 },
  ["claude-3-7-sonnet"] = { input = 3.00, output = 15.00 },
  ["claude-3-opus"] = { input = 15.00, output = 75.00 },
  ["claude-sonnet-4"] = { input = 3.00, output = 15.00 },
  ["claude-opus-4"] = { input = 15.00, output = 75.00 },
}
