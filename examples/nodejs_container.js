#!/usr/bin/env node
'use strict';
// The Moltbook transition system in JavaScript, reported step by step to tracer.
//
//   node examples/nodejs_container.js [--steps N] [--seed S] [--agent ID] [--shard N]
//   node examples/nodejs_container.js --actions FILE.jsonl
//   node examples/nodejs_container.js --steps N --seed S --emit-actions > FILE.jsonl
//
// It runs a workload (generated from --seed, or replayed from --actions) through
// transition(), a faithful copy of the Lean specification (lean/,
// MoltbookBisim.transition), and reports the initial state and every step
// through probe/node/tracer_probe.js. examples/python_container.py is the same
// program in Python: the same seed gives the same actions in both.
//
// Naturals: data and distribute items are Numbers up to 2^53 - 1 and BigInts
// above; a workload's items are parsed exactly (see parseJSON), never rounded.
//
// Exit codes: 0 done; 2 bad arguments or a bad workload line ("FILE:LINE: problem").

const fs = require('fs');
const path = require('path');
const { Probe } = require(path.join(__dirname, '..', 'probe', 'node', 'tracer_probe.js'));

// transition is one step of the specification: the state after action.
// States are { agent_id, shard_id, data } and are never modified in place. A
// post prepends the length of its content in Unicode scalar values (Lean's
// String.length), not in UTF-16 units (content.length).
function transition(state, action) {
  switch (action.type) {
    case 'register':
      return { agent_id: action.name, shard_id: state.shard_id, data: state.data };
    case 'post':
      return { agent_id: state.agent_id, shard_id: state.shard_id, data: [scalarLength(action.content), ...state.data] };
    case 'comment':
      return state;
    case 'distribute':
      return { agent_id: state.agent_id, shard_id: state.shard_id, data: action.items.slice() };
    default:
      throw new Error(`unknown action type ${JSON.stringify(action.type)}`);
  }
}

// scalarLength counts code points: for..of walks a string by code point.
function scalarLength(s) {
  let n = 0;
  for (const _ of s) n++; // eslint-disable-line no-unused-vars
  return n;
}

// The workload generator. python_container.py implements exactly the same one;
// change both or neither.
//
// PRNG: a 32-bit Weyl sequence finished by murmur3's fmix32. All arithmetic is
// on unsigned 32-bit integers (mod 2^32); s starts at seed (0 <= seed < 2^32):
//   s = s + 0x9E3779B9
//   z = s
//   z = (z ^ (z >> 16)) * 0x85EBCA6B
//   z = (z ^ (z >> 13)) * 0xC2B2AE35
//   draw() = z ^ (z >> 16)                  in [0, 2^32)
//   below(n) = draw() mod n
// (here: Math.imul for the products and >>> 0 to read the result unsigned).
//
// Each step draws, in this order:
//   k = below(100): k < 10 register, k < 50 post, k < 85 comment, else distribute
//   register:        name = a name (below)
//   post, comment:   author = a name; content = below(9) words, each
//                    WORDS[below(WORDS.length)], joined by single spaces
//   distribute:      below(6) items, each: if below(4) > 0 then below(1000) else draw()
// a name = NAMES[below(NAMES.length)] + "-" + decimal(below(100)).
//
// The words mix ASCII, accented Latin (precomposed and combining), Greek,
// Cyrillic, CJK, Hangul, astral-plane emoji (with skin tone and ZWJ sequences),
// mathematical letters, quotes, backslashes and control characters, so that
// counting Unicode scalar values and escaping are exercised on every run.

const NAMES = [
  'CICADA-Harbot',
  'Moltbook',
  'Zo\u00eb',
  '\u00c5sa',
  '\u82b1\u5b50',
  '\u0414\u043c\u0438\u0442\u0440\u0438\u0439',
  '\u{1f980}crab',
  'agent',
];

const WORDS = [
  'hello',
  'world',
  'caf\u00e9',
  'nai\u0308ve',
  '\u65e5\u672c\u8a9e',
  '\u4f60\u597d',
  '\ub370\uc774\ud130',
  '\u03a9\u03bc\u03ad\u03b3\u03b1',
  '\u{1f980}',
  '\u{1f680}',
  '\u{1f44d}\u{1f3fd}',
  '\u{1f469}\u200d\u{1f4bb}',
  '\u{1d518}\u{1d52b}\u{1d526}',
  'say "hi"',
  'back\\slash',
  'tab\there\nnewline',
  '',
  'x',
];

// Rand is the PRNG specified above.
class Rand {
  constructor(seed) {
    this.s = seed >>> 0;
  }

  draw() {
    this.s = (this.s + 0x9e3779b9) >>> 0;
    let z = this.s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  }

  below(n) {
    return this.draw() % n;
  }
}

// generate yields the first `steps` actions generated from seed.
function* generate(seed, steps) {
  const r = new Rand(seed);
  const name = () => NAMES[r.below(NAMES.length)] + '-' + String(r.below(100));
  for (let i = 0; i < steps; i++) {
    const k = r.below(100);
    if (k < 10) {
      yield { type: 'register', name: name() };
    } else if (k < 85) {
      const type = k < 50 ? 'post' : 'comment';
      const author = name();
      const words = [];
      for (let j = r.below(9); j > 0; j--) words.push(WORDS[r.below(WORDS.length)]);
      yield { type, author, content: words.join(' ') };
    } else {
      const items = [];
      for (let j = r.below(6); j > 0; j--) items.push(r.below(4) > 0 ? r.below(1000) : r.draw());
      yield { type: 'distribute', items };
    }
  }
}

// WorkloadError is a bad line of a workload file; its message is "FILE:LINE: problem".
class WorkloadError extends Error {}

// loadActions reads a workload: one trace-format action object per line; blank
// lines are skipped. Every line is checked before the first step runs.
function loadActions(file) {
  let raw;
  try {
    raw = fs.readFileSync(file);
  } catch (e) {
    throw new WorkloadError(`${file}: cannot read the workload: ${e.code || e.message}`);
  }
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const lines = [];
  let start = 0;
  while (start <= raw.length) {
    let end = raw.indexOf(0x0a, start);
    if (end < 0) end = raw.length;
    lines.push(raw.subarray(start, end));
    start = end + 1;
  }
  const actions = [];
  lines.forEach((bytes, i) => {
    const no = i + 1;
    let text;
    try {
      text = decoder.decode(bytes);
    } catch (e) {
      throw new WorkloadError(`${file}:${no}: not UTF-8`);
    }
    if (text.trim() === '') return;
    let obj;
    try {
      obj = parseJSON(text);
    } catch (e) {
      throw new WorkloadError(`${file}:${no}: not JSON: ${e.message}`);
    }
    const problem = checkAction(obj);
    if (problem) throw new WorkloadError(`${file}:${no}: ${problem}`);
    actions.push(obj);
  });
  return actions;
}

// checkAction returns what is wrong with a workload action, or '' if it is valid.
function checkAction(a) {
  if (a === null || typeof a !== 'object' || Array.isArray(a)) return 'an action must be a JSON object';
  const fields = { register: ['name'], post: ['author', 'content'], comment: ['author', 'content'] };
  if (Object.prototype.hasOwnProperty.call(fields, a.type)) {
    for (const f of fields[a.type]) {
      if (typeof a[f] !== 'string') return `${a.type} needs a string "${f}"`;
    }
    return '';
  }
  if (a.type === 'distribute') {
    if (!Array.isArray(a.items)) return 'distribute needs an array "items"';
    for (let i = 0; i < a.items.length; i++) {
      const x = a.items[i];
      const nat = typeof x === 'bigint' ? x >= 0n : Number.isSafeInteger(x) && x >= 0;
      if (!nat) return `distribute item ${i + 1} is ${show(x)}, not a natural number`;
    }
    return '';
  }
  return `unknown action type ${show(a.type)} (want register, post, comment or distribute)`;
}

function show(v) {
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof JSONFloat) return v.text;
  if (v === undefined) return 'missing';
  return JSON.stringify(v);
}

// JSONFloat is a number literal with a fraction or an exponent ("1.5", "1e3"):
// never a natural, as in Python's json, where such a literal is a float.
class JSONFloat {
  constructor(text) {
    this.text = text;
  }

  toJSON() {
    return Number(this.text);
  }
}

// parseJSON parses one JSON text like JSON.parse, except that an integer
// literal beyond Number.MAX_SAFE_INTEGER becomes a BigInt instead of being
// rounded (JSON.parse would turn 18446744073709551615 into ...616), and a
// literal with a fraction or an exponent becomes a JSONFloat.
function parseJSON(text) {
  let i = 0;
  const fail = (what) => {
    throw new Error(`${what} at column ${i + 1}`);
  };
  const ws = () => {
    while (i < text.length) {
      const c = text.charCodeAt(i);
      if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) break;
      i++;
    }
  };
  const numRe = /-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/y;
  const value = () => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      const obj = {};
      ws();
      if (text[i] === '}') {
        i++;
        return obj;
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail('expected a string key');
        const k = string();
        ws();
        if (text[i] !== ':') fail("expected ':'");
        i++;
        obj[k] = value();
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === '}') {
          i++;
          return obj;
        }
        fail("expected ',' or '}'");
      }
    }
    if (c === '[') {
      i++;
      const arr = [];
      ws();
      if (text[i] === ']') {
        i++;
        return arr;
      }
      for (;;) {
        arr.push(value());
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === ']') {
          i++;
          return arr;
        }
        fail("expected ',' or ']'");
      }
    }
    if (c === '"') return string();
    for (const [word, v] of [['true', true], ['false', false], ['null', null]]) {
      if (text.startsWith(word, i)) {
        i += word.length;
        return v;
      }
    }
    numRe.lastIndex = i;
    const m = numRe.exec(text);
    if (m === null) fail(i < text.length ? 'unexpected character' : 'unexpected end');
    i += m[0].length;
    if (m[1] === undefined && m[2] === undefined) {
      const n = Number(m[0]);
      if (Object.is(n, -0)) return 0;
      return Number.isSafeInteger(n) ? n : BigInt(m[0]);
    }
    return new JSONFloat(m[0]);
  };
  const string = () => {
    const start = i;
    i++;
    for (;;) {
      if (i >= text.length) fail('unterminated string');
      const c = text.charCodeAt(i);
      if (c === 0x22) break;
      if (c === 0x5c) i++;
      else if (c < 0x20) fail('control character in string');
      i++;
    }
    i++;
    try {
      return JSON.parse(text.slice(start, i));
    } catch (e) {
      i = start;
      return fail('bad string escape');
    }
  };
  const v = value();
  ws();
  if (i < text.length) fail('unexpected text after the value');
  return v;
}

// actionLine is one workload line for --emit-actions: JSON with exact naturals.
function actionLine(a) {
  if (a.type === 'distribute') return `{"type":"distribute","items":[${a.items.join(',')}]}`;
  return JSON.stringify(a);
}

const USAGE = `usage: nodejs_container.js [--steps N] [--seed S] [--actions FILE.jsonl]
                          [--agent ID] [--shard N] [--emit-actions] [--no-probe]

Run the Moltbook transition system and report every step to tracer.

  --steps N            steps to generate (default 1000)
  --seed S             workload seed, 0..4294967295 (default 1)
  --actions FILE       replay this workload (one action object per line) instead
  --agent ID           initial agent_id (default CICADA-Harbot-0)
  --shard N            initial shard_id (default 0)
  --emit-actions       print the workload as JSONL and exit
  --no-probe           run without the probe (to measure its cost)`;

class UsageError extends Error {}

function parseArgs(argv) {
  const args = { steps: 1000, seed: 1, actions: null, agent: 'CICADA-Harbot-0', shard: 0, emitActions: false, noProbe: false };
  const nat = (flag, v, max) => {
    if (v === undefined || !/^[0-9]+$/.test(v) || Number(v) > max) {
      throw new UsageError(`${flag} must be an integer from 0 to ${max}`);
    }
    return Number(v);
  };
  for (let i = 0; i < argv.length; i++) {
    let flag = argv[i];
    let val;
    const eq = flag.indexOf('=');
    if (flag.startsWith('--') && eq > 0) {
      val = flag.slice(eq + 1);
      flag = flag.slice(0, eq);
    }
    const next = () => (val !== undefined ? val : argv[++i]);
    switch (flag) {
      case '--steps':
        args.steps = nat(flag, next(), Number.MAX_SAFE_INTEGER);
        break;
      case '--seed':
        args.seed = nat(flag, next(), 0xffffffff);
        break;
      case '--shard':
        args.shard = nat(flag, next(), Number.MAX_SAFE_INTEGER);
        break;
      case '--actions':
        args.actions = next();
        if (args.actions === undefined) throw new UsageError('--actions needs a file');
        break;
      case '--agent':
        args.agent = next();
        if (args.agent === undefined) throw new UsageError('--agent needs a value');
        break;
      case '--emit-actions':
        args.emitActions = true;
        break;
      case '--no-probe':
        args.noProbe = true;
        break;
      case '-h':
      case '--help':
        process.stdout.write(USAGE + '\n');
        process.exit(0);
        break;
      default:
        throw new UsageError(`unknown argument ${JSON.stringify(argv[i])}`);
    }
  }
  return args;
}

function main(argv = process.argv.slice(2), step = transition, impl = 'node') {
  let args;
  let actions;
  try {
    args = parseArgs(argv);
    actions = args.actions !== null ? loadActions(args.actions) : generate(args.seed, args.steps);
  } catch (e) {
    if (!(e instanceof UsageError || e instanceof WorkloadError)) throw e;
    if (e instanceof UsageError) process.stderr.write(USAGE + '\n');
    process.stderr.write(`nodejs_container: ${e.message}\n`);
    return 2;
  }

  if (args.emitActions) {
    const out = [];
    for (const a of actions) out.push(actionLine(a) + '\n');
    process.stdout.write(out.join(''));
    return 0;
  }

  let state = { agent_id: args.agent, shard_id: args.shard, data: [] };
  let n = 0;
  if (args.noProbe) {
    for (const action of actions) {
      state = step(state, action);
      n++;
    }
  } else {
    const probe = new Probe({ impl });
    probe.init(state);
    for (const action of actions) {
      const t0 = process.hrtime.bigint();
      state = step(state, action);
      probe.step(action, state, t0);
      n++;
    }
    probe.close();
  }
  process.stderr.write(`nodejs_container: ${n} steps, ${state.data.length} items in data\n`);
  return 0;
}

module.exports = { transition, scalarLength, Rand, generate, parseJSON, checkAction, main };

if (require.main === module) process.exitCode = main();
