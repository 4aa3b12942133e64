'use strict';
// tracer's transition hook for Node (`tracer run --transition NAME`), loaded
// with NODE_OPTIONS=--require before the program.
//
// It observes every call of the function or method named by
// TRACER_TRANSITION and reports it through the probe binding
// (tracer_probe.js, beside this file) as one step of the trace format
// (docs/trace-format.md): the state it was given ("pre"), the action, the
// state it returned, t0, t1 and the thread. CommonJS modules are rewritten
// as they are compiled (Module.prototype._compile), ES modules by a module
// loader hook (module.register, Node 20.6+); transform.cjs says how. An
// `async` function, or one that returns a Promise, is observed when it
// settles. `this`, the arguments, the result and exceptions are the
// program's own.
//
// Conventions (docs/transition-hooks.md): the state and the action are the
// first two parameters, or those named by TRACER_TRANSITION_ARGS ("self,action":
// self or this is the object the method was called on). What cannot be read
// is counted, and the count and the first example go to
// TRACER_HOOK_REPORT/node.PID.json at exit, which tracer reads. Nothing here
// throws into the program or writes to its output.

const path = require('path');
const fs = require('fs');
const Module = require('module');
const vm = require('vm');
const { transform } = require('./transform.cjs');

const HERE = __dirname;
const spec = (process.env.TRACER_TRANSITION || '').trim();

const NAMED = {
  register: ['name'],
  post: ['author', 'content'],
  comment: ['author', 'content'],
  distribute: ['items'],
};

class Unreadable extends Error {}

function what(v) {
  if (v === null) return 'null';
  if (v === undefined) return 'undefined';
  if (Array.isArray(v)) return 'an Array';
  if (typeof v === 'object') {
    const c = v.constructor && v.constructor.name;
    return c && c !== 'Object' ? `a ${c} object` : 'an object';
  }
  return `a ${typeof v}`;
}

// readState returns the trace-format state of v, its data copied when copy
// is set (so that changes after the call do not alter the record).
function readState(v, role, copy) {
  if (v !== null && typeof v === 'object') {
    const agent = v.agent_id;
    const data = v.data;
    const shard = v.shard_id;
    if (typeof agent === 'string' && Array.isArray(data) && shard !== undefined) {
      return { agent_id: agent, shard_id: shard, data: copy ? data.slice() : data };
    }
  }
  return readStateSlow(v, role);
}

function readStateSlow(v, role) {
  if (v === null || typeof v !== 'object') throw new Unreadable(`${role} is ${what(v)}`);
  const agent = v.agent_id;
  if (agent === undefined) throw new Unreadable(`${role} has no agent_id field (${what(v)})`);
  if (typeof agent !== 'string') throw new Unreadable(`${role}.agent_id is not a string (${what(agent)})`);
  const shard = v.shard_id;
  if (shard === undefined) throw new Unreadable(`${role} has no shard_id field (${what(v)})`);
  const data = v.data;
  if (data === undefined) throw new Unreadable(`${role} has no data field (${what(v)})`);
  if (Array.isArray(data)) return { agent_id: agent, shard_id: shard, data: data.slice() };
  if (data !== null && typeof data === 'object' && typeof data[Symbol.iterator] === 'function') {
    return { agent_id: agent, shard_id: shard, data: Array.from(data) };
  }
  throw new Unreadable(`${role}.data is not a sequence (${what(data)})`);
}

function typeName(t) {
  if (typeof t === 'string') return t.toLowerCase();
  return null;
}

// readAction returns the trace-format action of v.
function readAction(v) {
  if (v !== null && typeof v === 'object') {
    // The common shape first: an object in the trace format itself.
    const t = v.type;
    if ((t === 'post' || t === 'comment') && typeof v.author === 'string' && typeof v.content === 'string') {
      return { type: t, author: v.author, content: v.content };
    }
    if (t === 'register' && typeof v.name === 'string') return { type: t, name: v.name };
  }
  return readActionSlow(v);
}

function readActionSlow(v) {
  if (v === null || typeof v !== 'object') throw new Unreadable(`action is ${what(v)}`);
  let raw;
  let positional = null;
  if (Array.isArray(v)) {
    if (v.length === 0) throw new Unreadable('action is an empty Array');
    raw = v[0];
    positional = v.slice(1);
  } else {
    raw = v.type !== undefined ? v.type : v.action_type !== undefined ? v.action_type : v.kind;
    if (raw === undefined) throw new Unreadable(`action has no type field (${what(v)})`);
  }
  const kind = typeName(raw);
  const fields = kind !== null && Object.prototype.hasOwnProperty.call(NAMED, kind) ? NAMED[kind] : null;
  if (fields === null) throw new Unreadable(`action type ${JSON.stringify(raw)} is not register, post, comment or distribute (${what(v)})`);
  if (positional === null) {
    if (fields.every((f) => v[f] !== undefined)) {
      positional = fields.map((f) => v[f]);
    } else {
      const args = v.args;
      if (args === undefined || args === null || typeof args !== 'object' || typeof args.length !== 'number') {
        const missing = fields.find((f) => v[f] === undefined);
        throw new Unreadable(`${kind} action has neither a ${missing} field nor args (${what(v)})`);
      }
      positional = Array.from(args);
    }
  }
  if (positional.length < fields.length) {
    throw new Unreadable(`${kind} action has ${positional.length} arguments, not ${fields.length} (${what(v)})`);
  }
  const out = { type: kind };
  for (let i = 0; i < fields.length; i++) {
    const x = positional[i];
    out[fields[i]] = fields[i] === 'items' && x !== null && typeof x === 'object' && typeof x[Symbol.iterator] === 'function' ? Array.from(x) : x;
  }
  return out;
}

// The report tracer reads at the end.
const stats = {
  pid: process.pid,
  node: process.version,
  argv: process.argv.slice(1, 4),
  transition: spec,
  found: [],
  calls: 0,
  steps: 0,
  raised: 0,
  unreadable: 0,
  first_unreadable: '',
  errors: 0,
  first_error: '',
};

function unreadable(e) {
  stats.unreadable++;
  if (!stats.first_unreadable) stats.first_unreadable = e instanceof Unreadable ? e.message : `${e && e.name}: ${e && e.message}`;
}

// Parse the specification: "name", "Class.name", "file.js:name".
const colon = spec.lastIndexOf(':');
const fileSpec = colon > 0 ? spec.slice(0, colon) : '';
const qual = colon > 0 ? spec.slice(colon + 1) : spec;
const NAME = qual.slice(qual.lastIndexOf('.') + 1);
let argNames = null;
{
  const raw = (process.env.TRACER_TRANSITION_ARGS || '').split(',').map((s) => s.trim());
  if (raw.length === 2 && raw[0] && raw[1]) argNames = raw;
}

function fileMatches(filename) {
  if (!filename || filename.startsWith(HERE + path.sep)) return false;
  if (!fileSpec) return true;
  const f = filename.startsWith('file://') ? decodeURIComponent(filename.slice(7)) : filename;
  return path.basename(f) === fileSpec || f === fileSpec || f.endsWith('/' + fileSpec) || path.basename(f, path.extname(f)) === fileSpec;
}

// Sites: one per rewritten definition, made at its first call from the key
// the transform wrote into the code.
const sites = new Map();

function site(key) {
  let s = sites.get(key);
  if (s !== undefined) return s;
  let file = '?';
  let line = 0;
  let params = [];
  let kind = 'function';
  try {
    const k = JSON.parse(key);
    file = k[0];
    line = k[1];
    kind = k[3];
    params = k[4] ? k[4].split(',') : [];
  } catch (e) {
    // a key the transform wrote: always JSON
  }
  // Which argument is the state, which the action: -1 is `this`.
  let si = 0;
  let ai = 1;
  if (argNames !== null) {
    const pos = (n) => (n === 'self' || n === 'this' ? -1 : params.indexOf(n));
    si = pos(argNames[0]);
    ai = pos(argNames[1]);
    if (si === -1 && argNames[0] !== 'self' && argNames[0] !== 'this') si = -2;
    if (ai === -1 && argNames[1] !== 'self' && argNames[1] !== 'this') ai = -2;
  }
  s = { si, ai, params, kind };
  sites.set(key, s);
  if (stats.found.length < 8) stats.found.push(`${NAME} (${path.basename(String(file))}:${line})`);
  return s;
}

function pick(s, self, args, i) {
  if (i === -1) return self;
  if (i === -2) {
    throw new Unreadable(`${NAME} has no parameter ${s === undefined ? '?' : argNames.find((n) => n !== 'self' && n !== 'this' && s.params.indexOf(n) < 0)}`);
  }
  return args[i];
}

let probe = null;

function openProbe(firstPre) {
  const { Probe } = require(path.join(HERE, 'tracer_probe.js'));
  probe = new Probe({ impl: 'node' });
  probe.init(firstPre);
  return probe;
}

function record(act, stateObj, t0, pre) {
  const t1 = process.hrtime.bigint();
  let st;
  try {
    st = readState(stateObj, 'result', false);
  } catch (e) {
    unreadable(e);
    return;
  }
  try {
    (probe || openProbe(pre)).step(act, st, t0, pre, t1);
    stats.steps++;
  } catch (e) {
    stats.errors++;
    if (!stats.first_error) stats.first_error = `${e && e.name}: ${e && e.message}`;
  }
}

// observe runs body (the function's own code) and records the call.
function observe(s, self, args, run) {
  stats.calls++;
  let pre;
  let act;
  let sv;
  try {
    sv = pick(s, self, args, s.si);
    const av = pick(s, self, args, s.ai);
    pre = readState(sv, 'pre', true);
    act = readAction(av);
  } catch (e) {
    unreadable(e);
    return run();
  }
  const t0 = process.hrtime.bigint();
  let r;
  try {
    r = run();
  } catch (e) {
    stats.raised++;
    throw e;
  }
  if (r instanceof Promise) {
    return r.then(
      (v) => {
        record(act, v === undefined ? sv : v, t0, pre);
        return v;
      },
      (e) => {
        stats.raised++;
        throw e;
      },
    );
  }
  record(act, r === undefined ? sv : r, t0, pre);
  return r;
}

const api = {
  // call: a function or method; body takes no arguments (it is an arrow
  // function inside the original, which sees its parameters).
  call(key, self, args, body) {
    return observe(site(key), self, args, body);
  },
  // arrow: an arrow function; fn is the original, called with the arguments.
  arrow(key, args, fn) {
    return observe(site(key), undefined, args, () => fn(...args));
  },
};

function writeReport() {
  const dir = process.env.TRACER_HOOK_REPORT || '';
  if (!dir) return;
  try {
    const tid = require('worker_threads').threadId;
    const p = path.join(dir, tid ? `node.${process.pid}.${tid}.json` : `node.${process.pid}.json`);
    fs.writeFileSync(p + '.tmp', JSON.stringify(stats));
    fs.renameSync(p + '.tmp', p);
  } catch (e) {
    // the report is tracer's business, never the program's
  }
}

function install() {
  if (!spec || globalThis.__tracerTransitionHook) return;
  Object.defineProperty(globalThis, '__tracerTransitionHook', { value: api, enumerable: false, configurable: true, writable: false });
  const compile = Module.prototype._compile;
  Module.prototype._compile = function (content, filename) {
    if (fileMatches(filename)) {
      try {
        const t = transform(content, NAME, filename, { concise: true });
        // The rewritten module must parse, or the module stays as it was
        // written (the scanner is not a parser: this is its safety net).
        if (t.code !== content) {
          vm.compileFunction(t.code, ['exports', 'require', 'module', '__filename', '__dirname'], { filename });
          content = t.code;
        }
      } catch (e) {
        // leave the module as it was written
      }
    }
    return compile.call(this, content, filename);
  };
  // Once per process: the loader thread and worker threads run the preloaded
  // modules too.
  if (typeof Module.register === 'function' && require('worker_threads').isMainThread) {
    try {
      const { pathToFileURL } = require('url');
      Module.register(pathToFileURL(path.join(HERE, 'loader.mjs')).href, {
        data: { name: NAME, fileSpec, here: HERE },
      });
    } catch (e) {
      // ES modules go unobserved
    }
  }
  process.on('exit', writeReport);
}

try {
  install();
} catch (e) {
  // the program runs as it would without tracer
}

module.exports = { readState, readAction, transform };
