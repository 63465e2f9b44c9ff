-- test_tokenize: evalua.tokenize from Lua, the token_count metric and the
-- `evalua tokens` command. Exact ids against the reference are in
-- tests/c/test_tokenize.c; here the binding, its errors and the wiring.
local h = require "helper"
local tokenize = require "evalua.tokenize"

h.case("seed rows and defaults", function()
  h.eq(tokenize.count("¡Estoy feliz por la noticia!"), 9, "row 1")
  h.eq(tokenize.count("Revela el secreto."), 7, "row 2")
  h.eq(tokenize.count("Más vale tarde que nunca.", "cl100k_base"), 7, "row 4")
  h.eq(tokenize.count("Morder la bala."), 6, "row 3")
  h.eq(tokenize.count("¡Estoy feliz por la noticia!", "o200k_base"), 7, "o200k row 1")
  h.eq(tokenize.count(""), 0, "empty")
  h.same(tokenize.encode("hello world"), { 15339, 1917 })
  h.same(tokenize.encode("hello world", "o200k_base"), { 24912, 2375 })
  h.same(tokenize.encode("Revela el secreto."), { 697, 899, 64, 658, 19733, 998, 13 })
  h.same(tokenize.encode(""), {})
  h.same(tokenize.encodings, { "cl100k_base", "o200k_base" })
end)

h.case("tiktoken's own regex cases", function()
  h.same(tokenize.encode("'rer"), { 2351, 81 })
  h.same(tokenize.encode("today\n "), { 31213, 198, 220 })
  h.same(tokenize.encode("today\n \n"), { 31213, 27907 })
  h.same(tokenize.encode("today\n  \n"), { 31213, 14211 })
  h.same(tokenize.encode(" \u{85}0"), { 220, 126, 227, 15 })
  h.same(tokenize.encode("👍"), { 9468, 239, 235 })
end)

h.case("special-token text is ordinary text", function()
  local ids = tokenize.encode("a <|endoftext|> b")
  h.eq(#ids, 8, "tokens")
  for _, id in ipairs(ids) do assert(id ~= 100257, "no special id") end
  h.eq(tokenize.decode(ids), "a <|endoftext|> b", "round trip")
  h.eq(tokenize.decode({ 15339, 100257 }), "hello<|endoftext|>", "special id decodes")
  h.eq(tokenize.decode({ 199999 }, "o200k_base"), "<|endoftext|>", "o200k special")
end)

h.case("invalid UTF-8 is replaced as Python does", function()
  h.same(tokenize.encode("a\xffb"), tokenize.encode("a\u{FFFD}b"))
  h.same(tokenize.encode("\xed\xa0\x80"), tokenize.encode("\u{FFFD}\u{FFFD}\u{FFFD}"))
  h.same(tokenize.encode("x\xf0\x90\x80"), tokenize.encode("x\u{FFFD}"))
  h.eq(tokenize.count("\xc3"), tokenize.count("\u{FFFD}"), "truncated sequence")
  -- decode gives the raw bytes of the tokens, even when they are not UTF-8
  h.eq(tokenize.decode({ 126 }), "\xc2", "a lone byte token")
end)

h.case("errors name the function and the thing", function()
  h.raises("tokenize.count: unknown encoding 'p50k_base' (known: cl100k_base, o200k_base)",
    tokenize.count, "x", "p50k_base")
  h.raises("tokenize.encode: unknown encoding 'nope'", tokenize.encode, "x", "nope")
  h.raises("tokenize.decode: item 2: 100256 is not a token of cl100k_base", tokenize.decode, { 1, 100256 })
  h.raises("tokenize.decode: item 1: 200019 is not a token of o200k_base", tokenize.decode, { 200019 }, "o200k_base")
  h.raises("tokenize.decode: item 3 is not a token id (got x)", tokenize.decode, { 1, 2, "x" })
  h.raises("tokenize.decode: item 1 is not a token id (got -1)", tokenize.decode, { -1 })
  h.raises("tokenize.count' (string expected, got nil)", tokenize.count, nil)
  h.raises("tokenize.count_list: unknown encoding 'x'", tokenize.count_list, { "a", n = 1 }, "x")
end)

h.case("count_list: one call per column, nil for non-strings", function()
  local got = tokenize.count_list({ "hello world", 42, nil, "Revela el secreto.", true, "", n = 6 })
  h.same(got, { 2, nil, nil, 7, nil, 0, n = 6 })
  h.same(tokenize.count_list({ "a", "b c" }), { 1, 2, n = 2 })
  h.same(tokenize.count_list({ n = 0 }), { n = 0 })
  h.same(tokenize.count_list({ "¡Estoy feliz por la noticia!", n = 1 }, "o200k_base"), { 7, n = 1 })
end)

-- deterministic mixed corpus (~1.5 MB): words of several scripts, code,
-- digits, odd spaces, emoji sequences, CRLF
local function corpus(target)
  local parts = {
    "The ", "quick ", "brown ", "fox ", "jumps", " over", " the lazy dog. ", "don't ", "WE'LL ",
    "café ", "naïve ", "中文 ", "こんにちは ", "Привет ", "مرحبا ", "नमस्ते ", "안녕 ", "👍 ",
    "👩‍👩‍👧 ", "🇫🇷", "12345678 ", "3.14 ", "int main(void) { return 0; }\n", "    if (x) {\n",
    "\t\treturn;\n", "\r\n", "\n\n", "   ", "\u{a0}", "\u{3000}", "\u{85}", "e\u{301}", "//",
    "<|endoftext|>", "$$$", "—", "'s", "ǅ", "Ⅻ", "١٢٣", "\u{200d}", "\u{feff}",
  }
  local out, n, x = {}, 0, 12345
  while n < target do
    x = (x * 1103515245 + 12345) % 2147483648
    local p = parts[x % #parts + 1]
    out[#out + 1] = p
    n = n + #p
  end
  return table.concat(out)
end

h.case("round trip encode -> decode on a large mixed corpus", function()
  local text = corpus(1500000)
  for _, enc in ipairs(tokenize.encodings) do
    local ids = tokenize.encode(text, enc)
    assert(#ids > #text / 8 and #ids < #text, enc .. ": plausible token count " .. #ids)
    h.eq(tokenize.count(text, enc), #ids, enc .. " count")
    assert(tokenize.decode(ids, enc) == text, enc .. ": decode(encode(text)) ~= text")
  end
end)

h.case("token_count metric", function()
  local metrics = require "evalua.metrics"
  local m = metrics.token_count()
  h.eq(m.name, "token_count", "name")
  h.eq(m.key, "token_count", "key (no version)")
  h.eq(m.score_column, "token_count", "column")
  h.same(m.aggregations, {})
  local mv = m.eval_fn({ "¡Estoy feliz por la noticia!", "Revela el secreto.", 12, "Más vale tarde que nunca.", n = 4 })
  h.same(mv.scores, { 9, 7, nil, 7, n = 4 })
  h.eq(#mv.warnings, 1, "one warning")
  assert(mv.warnings[1]:find("1 of 4 rows have a prediction that is not a string (row 3)", 1, true),
    mv.warnings[1])
  local clean = m.eval_fn({ "a", n = 1 })
  h.eq(clean.warnings, nil, "no warning")
  local o2 = metrics.token_count { encoding = "o200k_base" }
  h.same(o2.eval_fn({ "¡Estoy feliz por la noticia!", n = 1 }).scores, { 7, n = 1 })
  h.raises("token_count: unknown encoding 'gpt2' (known: cl100k_base, o200k_base)",
    metrics.token_count, { encoding = "gpt2" })
  h.raises("token_count: unknown option 'encodng' (known: encoding)", metrics.token_count, { encodng = "x" })
end)

h.case("evalua tokens", function()
  local d = h.tmpdir()
  local f = h.write(d .. "/in.txt", "hello world\n¡Estoy feliz por la noticia!\r\n\nRevela el secreto.")
  local code, out, err = h.evalua({ "tokens", f })
  h.eq(code, 0, "exit code " .. err)
  h.eq(out, "2\n9\n0\n7\n", "per-line counts")
  code, out = h.evalua({ "tokens", "--encoding", "o200k_base", "--total", f })
  h.eq(code, 0, "exit code")
  h.eq(out, "2\n7\n0\n5\n14\n", "o200k counts and total")
  code, out = h.sh("printf 'a b c\\n<|endoftext|>\\n' | " .. h.quote(h.bin) .. " tokens")
  h.eq(code, 0, "stdin exit code")
  h.eq(out, "3\n7\n", "stdin")
  code, out, err = h.evalua({ "tokens", "--encoding", "gpt2", f })
  h.eq(code, 2, "bad encoding exit")
  assert(err:find("tokens: unknown encoding 'gpt2' (known: cl100k_base, o200k_base)", 1, true), err)
  code, out, err = h.evalua({ "tokens", d .. "/missing.txt" })
  h.eq(code, 2, "missing file exit (an input error)")
  assert(err:find("tokens: cannot open", 1, true) and err:find("missing.txt", 1, true), err)
  code, out = h.evalua({ "--help" })
  assert(out:find("tokens", 1, true), "--help lists tokens")
  -- many lines go through count_list in batches
  local lines = {}
  for i = 1, 10000 do lines[i] = string.rep("word ", i % 7) .. i end
  f = h.write(d .. "/many.txt", table.concat(lines, "\n") .. "\n")
  code, out = h.evalua({ "tokens", f })
  h.eq(code, 0, "many lines")
  local k = 0
  for c in out:gmatch("[^\n]+") do
    k = k + 1
    if k == 1 or k == 4097 or k == 10000 then h.eq(tonumber(c), tokenize.count(lines[k]), "line " .. k) end
  end
  h.eq(k, 10000, "one count per line")
end)

h.case("evalua score writes the bare token_count column", function()
  local d = h.tmpdir()
  local data = h.write(d .. "/in.jsonl", table.concat({
    '{"text":"¡Estoy feliz por la noticia!"}', '{"text":"Revela el secreto."}', '{"text":5}',
    '{"text":"Más vale tarde que nunca."}' }, "\n") .. "\n")
  local code, _, err = h.evalua({ "--store", d .. "/runs.db", "score", "--data", data,
    "--predictions", "text", "--metrics", "token_count", "--out", d .. "/out.jsonl" })
  h.eq(code, 0, "exit code: " .. err)
  assert(err:find("token_count: 1 of 4 rows have a prediction that is not a string (row 3); scored nil", 1, true), err)
  local cjson = require "cjson"
  local got = {}
  for line in (h.read(d .. "/out.jsonl") or ""):gmatch("[^\n]+") do
    local row = cjson.decode(line)
    got[#got + 1] = row.token_count == cjson.null and "nil" or row.token_count
  end
  h.same(got, { 9, 7, "nil", 7 })
end)

h.done()
