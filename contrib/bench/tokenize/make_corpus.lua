-- make_corpus.lua OUT BYTES: a deterministic mixed corpus for the tokenizer
-- benchmark from text a Debian machine with evalua's build dependencies has
-- (licences, package copyright files, the Lua and curl C headers), with a
-- multilingual line every 40 lines. Run by the evalua binary (needs lfs).
local lfs = require "lfs"
local out_path, target = arg[1], tonumber(arg[2] or "4000000")

local multi = {
  "¡Estoy feliz por la noticia! Más vale tarde que nunca.",
  "Le renard brun rapide saute par-dessus le chien paresseux, n'est-ce pas ?",
  "Die Prüfung der Übersetzung ergab größere Schwierigkeiten bei Redewendungen.",
  "Быстрая коричневая лиса прыгает через ленивую собаку.",
  "敏捷的棕色狐狸跳过了懒狗。机器翻译的评估需要文化敏感性。",
  "素早い茶色の狐がのろまな犬を飛び越える。評価は難しい。",
  "빠른 갈색 여우가 게으른 개를 뛰어넘습니다.",
  "الثعلب البني السريع يقفز فوق الكلب الكسول.",
  "तेज़ भूरी लोमड़ी आलसी कुत्ते के ऊपर कूदती है।",
  "Η γρήγορη καφέ αλεπού πηδά πάνω από τον τεμπέλη σκύλο.",
  "Szybki brązowy lis przeskakuje nad leniwym psem — zażółć gęślą jaźń.",
  "Hızlı kahverengi tilki tembel köpeğin üzerinden atlar. 👍🏽 🎉 👩‍👩‍👧",
}

local function read(p)
  local f = io.open(p, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

local files = {}
local function add_dir(dir, pattern, limit)
  local names = {}
  local ok, iter, state = pcall(lfs.dir, dir)
  if not ok then return end
  for name in iter, state do
    if name ~= "." and name ~= ".." then names[#names + 1] = name end
  end
  table.sort(names)
  local n = 0
  for _, name in ipairs(names) do
    local p = dir .. "/" .. name
    local attr = lfs.attributes(p)
    if attr and attr.mode == "directory" and pattern == "copyright" then
      if lfs.attributes(p .. "/copyright") then
        files[#files + 1] = p .. "/copyright"
        n = n + 1
      end
    elseif attr and attr.mode == "file" and name:match(pattern) then
      files[#files + 1] = p
      n = n + 1
    end
    if limit and n >= limit then break end
  end
end
add_dir("/usr/share/common-licenses", ".")
add_dir("/usr/include/lua5.4", "%.h$")
add_dir("/usr/include/curl", "%.h$")
add_dir("/usr/share/doc", "copyright", 600)

local out, size, lines = {}, 0, 0
while size < target do
  for _, p in ipairs(files) do
    local s = read(p)
    if s and utf8.len(s) and not s:find("<|", 1, true) then
      for line in s:gmatch("[^\n]*\n?") do
        if line == "" then break end
        out[#out + 1] = line
        size = size + #line
        lines = lines + 1
        if lines % 40 == 0 then
          local m = multi[(lines // 40) % #multi + 1] .. "\n"
          out[#out + 1] = m
          size = size + #m
        end
        if size >= target then break end
      end
    end
    if size >= target then break end
  end
end
local f = assert(io.open(out_path, "wb"))
f:write(table.concat(out))
f:close()
io.stderr:write(string.format("%s: %d bytes, %d source files\n", out_path, size, #files))
