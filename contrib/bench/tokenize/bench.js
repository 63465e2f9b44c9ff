// bench.js CORPUS [REPEAT]: npm tiktoken@1.0.22 (OpenAI's Rust core built to
// wasm) and gpt-tokenizer@4.0.0 (pure JS) on the same corpus, single
// thread: best of REPEAT whole-text passes, as JSON lines for run.sh.
const fs = require('fs');
const path = require('path');
const [corpus, repArg] = process.argv.slice(2);
const rep = Number(repArg || 5);
const text = fs.readFileSync(corpus, 'utf8');
const mb = Buffer.byteLength(text, 'utf8') / 1e6;
const here = __dirname;
const { get_encoding } = require(path.join(here, 'node_modules/tiktoken'));

function cpu() {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

function measure(impl, enc, fn) {
  let n = fn(); // warm-up: table load, JIT, gpt-tokenizer's cache
  let best = Infinity, bestCpu = Infinity;
  for (let i = 0; i < rep; i++) {
    const t0 = process.hrtime.bigint(), c0 = cpu();
    n = fn();
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e9);
    bestCpu = Math.min(bestCpu, cpu() - c0);
  }
  console.log(JSON.stringify({ impl, mode: 'whole text', encoding: enc,
    mb_s: +(mb / best).toFixed(3), cpu_mb_s: +(mb / bestCpu).toFixed(3), tokens: n }));
}

for (const enc of ['cl100k_base', 'o200k_base']) {
  const e = get_encoding(enc);
  measure('tiktoken-wasm', enc, () => e.encode(text, [], []).length);
  e.free();
  const gpt = require(path.join(here, `node_modules/gpt-tokenizer/cjs/encoding/${enc}.js`));
  measure('gpt-tokenizer', enc, () => gpt.encode(text, { disallowedSpecial: new Set() }).length);
}
