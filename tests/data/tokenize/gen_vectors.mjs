// gen_vectors.mjs: writes the tokenizer test vectors of tests/data/tokenize/
// with expected ids from npm tiktoken@1.0.22 (OpenAI's Rust core built to
// wasm: the reference). Run it through contrib/bench/tokenize/vectors.sh.
// Lines: ENCODING <tab> HEX(UTF-8 input bytes) <tab> comma-separated ids.
// Deterministic: the random cases come from a fixed-seed generator.
import { createRequire } from 'node:module';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const [modDir, testPlans, outDir] = process.argv.slice(2);
const require = createRequire(path.resolve(modDir) + '/');
const { get_encoding } = require('tiktoken');
const ENCS = ['cl100k_base', 'o200k_base'];
const enc = Object.fromEntries(ENCS.map((n) => [n, get_encoding(n)]));
// disallowed_special=() as evalua counts special-token text as plain text
const ids = (e, s) => Array.from(enc[e].encode(s, [], []));
const hex = (b) => Buffer.from(b).toString('hex');
const line = (e, bytes, v) => `${e}\t${hex(bytes)}\t${v.join(',')}`;

// 1. gpt-tokenizer's TestPlans.txt (cl100k_base, o200k_base; we ship no p50k/r50k ranks)
{
  const out = ['# gpt-tokenizer@4.0.0 data/TestPlans.txt (MIT), cl100k_base and o200k_base cases'];
  const blocks = readFileSync(testPlans, 'utf8').split(/\n\n/);
  let n = 0, bad = 0;
  for (const b of blocks) {
    const m = /^EncodingName: (\S+)\nSample: (.*)\nEncoded: \[(.*)\]\s*$/s.exec(b);
    if (!m || !ENCS.includes(m[1])) continue;
    const want = m[3].trim() ? m[3].split(',').map((x) => Number(x.trim())) : [];
    if (ids(m[1], m[2]).join() !== want.join()) bad++;
    out.push(line(m[1], Buffer.from(m[2], 'utf8'), want));
    n++;
  }
  if (bad) throw new Error(`${bad} TestPlans cases disagree with tiktoken`);
  writeFileSync(path.join(outDir, 'testplans.tsv'), out.join('\n') + '\n');
  console.error(`testplans.tsv: ${n} cases`);
}

// 2. hand-picked cases: tiktoken's own tests, Unicode edges, the seed rows
const picked = [
  'hello world', 'rer', "'rer", 'today\n ', 'today\n \n', 'today\n  \n', ' \x850', '',
  '👍', '\ufffd', 'hello <|endoftext|>', '<|endoftext|> hello <|fim_prefix|> there <|fim_middle|>',
  'a <|endoftext|> b', '<|endofprompt|>',
  '¡Estoy feliz por la noticia!', 'Revela el secreto.', 'Morder la bala.', 'Más vale tarde que nunca.',
  'hello', 'hello ', 'hello  ', ' hello', ' hello ', ' hello  ', '请考试我的软件！12345',
  // White_Space that JavaScript's \s gets wrong, and U+FEFF which is not \s
  'a\x85b', ' \x85 0', 'a\xa0b', 'a\xa0\xa0b', 'x\u3000y', 'x\u3000\u3000y', '\u1680a', '\u2028\u2029',
  '\u202f\u205f', 'a\ufeffb', ' \ufeff ', '\u200bword', '\u2000\u2001\u200a.',
  // combining marks, o200k case classes
  'cafe\u0301', 'cafe\u0301s', 'e\u0301e\u0301e\u0301', '\u0301abc', ' \u0301', 'A\u0301B',
  'HELLOworld', 'helloWORLD', 'ǅemal', 'ʰa', 'ABCdef\'s', "DON'T", "don'T", "I'M", "we'LL", "it'Ve",
  "they're", "x'ſ", "X'ſa", 'KELVIN \u212a', 'İstanbul', 'ﬁnance ﬀ', '𝐀𝐁𝐜', 'Σίσυφος',
  'क्षत्रिय', 'กั', 'नमस्ते दुनिया', 'مرحبا بالعالم', '안녕하세요', 'こんにちは世界',
  // emoji: ZWJ sequences, skin tones, flags, keycaps
  '👩‍👩‍👧‍👦', '👍🏽', '🏳️‍🌈', '🇫🇷🇩🇪', '1️⃣', '❤️‍🔥 love',
  // CR/LF runs and spaces
  '\r\n', 'a\r\nb', 'a\r\n\r\n\r\nb', 'a \r\n b', 'a\n\n\n', 'a  \n  \n  b', '   a', 'a   ', '\t\tb',
  ' \t \n', 'x\r\r\ry', 'line1\nline2\r\nline3\rline4', '...\n\n///\n', 'a/b//c\n/', ' !!!\n\r\n',
  // digits: ASCII, other scripts, long runs
  '1', '12', '123', '1234', '1234567890123', '0'.repeat(40), '٣٤٥٦', 'Ⅻ½²', '१२३४५', '3.14159e-10',
  // letters new in Unicode 15/16 (\p{L} in tiktoken 1.0.22) and 17 (not yet)
  "a\u{11f04}'s", "\u{10d50}\u{10d70}'s", "x\u{1e5d0}y", "\u{11db0}'s", "\u{16ea0}'s",
  // private use, noncharacters, replacement character
  '\ue000\uf8ff', '\ufdd0a', '\ufffd\ufffd',
];
// long inputs: tiktoken's "catastrophically repetitive" test shapes
for (const c of ['^', '0', 'a', "'s", ' ', '\n']) {
  const big = c.repeat(10000);
  picked.push(big, ' ' + big, ' ' + big + '\n');
}
picked.push('x'.repeat(50000), 'ab'.repeat(3000), 'é'.repeat(2000), '中'.repeat(3000));
// long pieces that are not repetitive: the heap merge with varied ranks
{
  let st = 777;
  const r = () => ((st = (Math.imul(st, 1103515245) + 12345) >>> 0) >>> 8) / 16777216;
  const from = (chars, n) => Array.from({ length: n }, () => chars[Math.floor(r() * chars.length)]).join('');
  const lower = [...'abcdefghijklmnopqrstuvwxyz'], latin = [...'aeiounrstlcdmpéñüçàò'];
  picked.push(from(lower, 3000), from(lower, 700), from(latin, 1500), from([...'.,;:!?-()[]{}<>*&^%$#@'], 2000),
    from([...'aAbBcCdDeEéÉ'], 1200), ' ' + from(lower, 400), from([...' \t'], 600) + 'x');
}
{
  const out = ['# hand-picked cases; ids from npm tiktoken@1.0.22'];
  for (const e of ENCS) for (const s of picked) out.push(line(e, Buffer.from(s, 'utf8'), ids(e, s)));
  writeFileSync(path.join(outDir, 'cases.tsv'), out.join('\n') + '\n');
  console.error(`cases.tsv: ${out.length - 1} cases`);
}

// 3. random strings over an alphabet of the characters the scanner cares about
let seed = 20240601;
const rnd = () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const alphabet = [
  ...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789',
  ...'     \t\n\n\r\'\'\'\'sStTdDmMlLrReEvV.,;:!?-_/\\()[]{}<>|@#$%^&*"`~+=',
  '\x85', '\xa0', '\u1680', '\u2003', '\u2028', '\u3000', '\ufeff', '\u200b', '\u200d', '\u017f',
  '\u0301', '\u0308', '\u20dd', '\u0903', '\ufe0f', '\u094d', '\u0e31',
  'é', 'ß', 'Σ', 'ς', 'ǅ', 'ʰ', 'ᵃ', '中', 'あ', 'ア', '한', 'ﬁ', 'İ', '\u212a', 'क', 'ก', 'ع',
  '٣', 'Ⅻ', '½', '²', '१', '👍', '👩', '🏽', '🇫', '\u{1d400}', '\u{1d41a}', '\u{10d50}', '\u{11db0}',
  '\ue000', '\ufffd', '€', '©', '—', '“', '”', '…', '¡', '¿',
];
{
  const out = ['# random strings (fixed seed); ids from npm tiktoken@1.0.22'];
  for (const e of ENCS) {
    for (let k = 0; k < 3000; k++) {
      const len = 1 + Math.floor(rnd() * (k % 10 === 9 ? 200 : 24));
      let s = '';
      for (let i = 0; i < len; i++) s += alphabet[Math.floor(rnd() * alphabet.length)];
      out.push(line(e, Buffer.from(s, 'utf8'), ids(e, s)));
    }
  }
  writeFileSync(path.join(outDir, 'random.tsv'), out.join('\n') + '\n');
  console.error(`random.tsv: ${out.length - 1} cases`);
}

// 4. random code points from the whole of Unicode (BMP, planes 1-3, some
// unassigned): the Unicode 16 tables against tiktoken's own, one string at a time
{
  let st = 99;
  const r = () => ((st = (Math.imul(st, 1103515245) + 12345) >>> 0) >>> 8) / 16777216;
  const out = ['# random code points over all of Unicode (fixed seed); ids from npm tiktoken@1.0.22'];
  for (const e of ENCS) {
    for (let k = 0; k < 2500; k++) {
      let s = '';
      const len = 1 + Math.floor(r() * 30);
      for (let i = 0; i < len; i++) {
        const x = r();
        let cp;
        if (x < 0.3) cp = 0x20 + Math.floor(r() * 0x5f);
        else if (x < 0.4) cp = [0x20, 0x20, 0x0a, 0x0d, 0x09, 0x27][Math.floor(r() * 6)];
        else if (x < 0.8) cp = Math.floor(r() * 0x3000);
        else if (x < 0.95) cp = Math.floor(r() * 0x10000);
        else cp = 0x10000 + Math.floor(r() * 0x30000);
        if (cp >= 0xd800 && cp <= 0xdfff) cp = 0x41;
        s += String.fromCodePoint(cp);
      }
      out.push(line(e, Buffer.from(s, 'utf8'), ids(e, s)));
    }
  }
  writeFileSync(path.join(outDir, 'wide.tsv'), out.join('\n') + '\n');
  console.error(`wide.tsv: ${out.length - 1} cases`);
}

// 5. invalid UTF-8: bytes as given; expected = ids of the text after
// replacement by U+FFFD per maximal subpart (what Python's "replace" and
// WHATWG's decoder, used here, both do)
{
  const dec = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });
  const bad = [
    [0x80], [0xff], [0xc0, 0x80], [0xc2], [0xc2, 0x41], [0xe0, 0x80, 0x80], [0xe0, 0xa0],
    [0xe0, 0xa0, 0x41], [0xed, 0xa0, 0x80], [0xed, 0x9f, 0xbf], [0xf0, 0x80, 0x80, 0x80],
    [0xf0, 0x90, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xf5, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80],
    [0x61, 0xe2, 0x82, 0x20, 0x62], [0x20, 0xec, 0x8b, 0xa4, 0xed], [0x80, 0x80, 0x80, 0x80],
    [0x68, 0x69, 0xc3], [0xef, 0xbb, 0xbf, 0x41], [0x27, 0x73, 0xfe, 0x27, 0x74],
  ];
  for (let k = 0; k < 400; k++) {
    const len = 1 + Math.floor(rnd() * 16), b = [];
    for (let i = 0; i < len; i++) {
      const r = rnd();
      b.push(r < 0.4 ? 0x20 + Math.floor(rnd() * 0x5f) : r < 0.5 ? 0x0a : 0x80 + Math.floor(rnd() * 0x80));
    }
    bad.push(b);
  }
  const out = ['# invalid UTF-8: input bytes; ids of the U+FFFD-replaced text from npm tiktoken@1.0.22'];
  for (const e of ENCS) for (const b of bad) out.push(line(e, b, ids(e, dec.decode(Uint8Array.from(b)))));
  writeFileSync(path.join(outDir, 'invalid_utf8.tsv'), out.join('\n') + '\n');
  console.error(`invalid_utf8.tsv: ${out.length - 1} cases`);
}
