'use strict';
// tracer_probe: report the transitions of a Moltbook implementation to tracer.
//
// No dependencies, Node 18 or newer.
//
//   const { Probe } = require('<repo>/probe/node/tracer_probe.js');
//   const p = new Probe({ impl: 'node' });
//   p.init(state);                       // { agent_id, shard_id, data: [nat, ...] }
//   const t0 = process.hrtime.bigint();
//   state = transition(state, action);
//   p.step(action, state, t0);           // action as the trace format says, state after the step
//   p.close();                           // also done at process exit
//
// Records (the trace format, docs/trace-format.md) are collected in one 64 KiB
// buffer and written in batches, one fs.writeSync per batch, at least every
// 100 ms while steps arrive (an unref'd timer writes a batch that has waited
// 100 ms when the event loop is idle). The sink is the file named by
// TRACER_PROBE_FILE (plain JSONL, a trace that `tracer check` reads as it is),
// else /dev/null, where every batch is framed per docs/probe-framing.md so that
// tracer's uprobe on libuv's uv_fs_write can recognise it.
//
// Flushing: close(), the end of the event loop, process.exit and uncaught
// exceptions all write the pending batch (process 'exit' event). A hard crash
// (SIGKILL, an unhandled signal, a V8 abort) loses at most the unflushed batch.
//
// tid: Node has no gettid; the main thread records process.pid, which is its
// thread id. A Probe used in a worker thread records process.pid too, so its
// steps cannot be matched with the samples of that thread.
//
// Data items may be Numbers or BigInts (for naturals above 2^53); both are
// written as exact decimal digits. See probe/README.md for the caps.

const fs = require('fs');

const MAGIC = Buffer.from([0xfe, 0x54, 0x52, 0x43, 0x42, 0x41, 0x54, 0x31]); // 0xFE "TRCBAT1"
const HEADER = 16;
const MAX_BATCH = 65536; // bytes of one write, header included
const FLUSH_NS = 100000000n; // a batch is written once its first record is this old
const FLUSH_MS = 100;

// Caps (docs/trace-format.md): longer values are recorded as their length.
const MAX_DATA = 1000; // state.data items
const MAX_ITEMS = 1000; // distribute items
const MAX_CONTENT = 4096; // post/comment content, Unicode scalar values

const open = new Set();
let exitHooked = false;

function flushAllAtExit() {
  for (const p of Array.from(open)) p.close();
}

class Probe {
  constructor(opts = {}) {
    this.impl = String(opts.impl === undefined ? 'node' : opts.impl);
    this.dropped = 0; // records too large to frame even after capping
    this._seq = 0;
    this._tid = process.pid; // the main thread's id is the pid
    this._batch = 0;
    this._first = 0n; // t1 of the oldest pending record
    this._timer = null;
    this._closed = false;
    this._buf = Buffer.allocUnsafe(MAX_BATCH);
    this._pos = HEADER; // records start after the header space
    this._pending = ''; // records not yet encoded into _buf
    this._units = 0; // UTF-16 units in _pending
    this._fd = -1;
    const path = process.env.TRACER_PROBE_FILE || '';
    if (path) {
      try {
        this._fd = fs.openSync(path, 'w', 0o644);
      } catch (e) {
        // The program runs on; tracer can still capture the batches.
        process.stderr.write(`tracer_probe: cannot write TRACER_PROBE_FILE=${path} (${e.code}): records go to /dev/null\n`);
      }
      // TRACER_PROBE_FRAMED=1 writes the framed batches to the file, as a
      // uprobe would see them (for testing readers of the framing).
      this._framed = process.env.TRACER_PROBE_FRAMED === '1';
    }
    if (this._fd < 0) {
      this._fd = fs.openSync('/dev/null', 'w');
      this._framed = true;
    }
    open.add(this);
    if (!exitHooked) {
      exitHooked = true;
      process.on('exit', flushAllAtExit);
    }
  }

  // init records the initial state.
  init(state) {
    if (this._closed) return;
    const rec = `{"kind":"init","impl":${JSON.stringify(this.impl)},"pid":${process.pid},"state":${stateJSON(state)}}\n`;
    this._add(rec, process.hrtime.bigint());
  }

  // step records one step: the action, the state after it, and its start time
  // t0 (process.hrtime.bigint() taken before the transition). t1 is now
  // unless given. pre, when given, is the state the step started from
  // (recorded as the step's "pre").
  step(action, state, t0, pre, t1) {
    if (typeof t1 !== 'bigint') t1 = process.hrtime.bigint();
    if (this._closed) return;
    if (typeof t0 !== 'bigint') t0 = toNs(t0, t1);
    const seq = ++this._seq;
    const p = pre === undefined ? '' : `,"pre":${stateJSON(pre)}`;
    const rec = `{"kind":"step","seq":${seq},"t0":${t0},"t1":${t1},"tid":${this._tid},"action":${actionJSON(action)}${p},"state":${stateJSON(state)}}\n`;
    this._add(rec, t1);
  }

  // flush writes the pending batch now.
  flush() {
    if (this._closed) return;
    this._settle();
    if (this._pos === HEADER) return;
    if (this._timer !== null) {
      clearTimeout(this._timer);
      this._timer = null;
    }
    const n = this._pos - HEADER;
    this._pos = HEADER;
    this._batch = (this._batch + 1) >>> 0;
    if (this._framed) {
      const b = this._buf;
      MAGIC.copy(b, 0);
      b.writeUInt32LE(n, 8);
      b.writeUInt32LE(this._batch, 12);
      writeOnce(this._fd, b, 0, HEADER + n);
    } else {
      writeAll(this._fd, this._buf, HEADER, n);
    }
  }

  // close writes the pending batch and closes the sink. Later calls do nothing.
  close() {
    if (this._closed) return;
    this.flush();
    this._closed = true;
    open.delete(this);
    try {
      fs.closeSync(this._fd);
    } catch (e) {
      // already closed: nothing to do
    }
  }

  // _add appends a record. Short records are only concatenated (V8 keeps a
  // rope); they are encoded into the buffer when the bound on their size, 3
  // bytes of UTF-8 per UTF-16 unit, reaches the room left.
  _add(rec, now) {
    if (this._pos === HEADER && this._units === 0) this._start(now);
    if (this._pos + 3 * (this._units + rec.length) <= MAX_BATCH) {
      this._pending += rec;
      this._units += rec.length;
    } else {
      this._settle();
      let n = Buffer.byteLength(rec);
      if (n > MAX_BATCH - HEADER) {
        rec = shrink(rec);
        n = Buffer.byteLength(rec);
        if (n > MAX_BATCH - HEADER) {
          this._oversized(rec);
          return;
        }
      }
      if (this._pos + n > MAX_BATCH) {
        this.flush();
        this._start(now);
      }
      this._pos += this._buf.write(rec, this._pos);
    }
    if (now - this._first >= FLUSH_NS) this.flush();
  }

  // _start begins a batch: its age counts from now, and a timer writes it
  // when no step comes for FLUSH_MS.
  _start(now) {
    this._first = now;
    if (this._timer === null) {
      this._timer = setTimeout(() => {
        this._timer = null;
        this.flush();
      }, FLUSH_MS);
      this._timer.unref();
    }
  }

  // _settle encodes the pending records into the buffer.
  _settle() {
    if (this._units > 0) {
      this._pos += this._buf.write(this._pending, this._pos);
      this._pending = '';
      this._units = 0;
    }
  }

  // _oversized takes a record that does not fit in one batch even with data
  // and content capped (a huge agent_id or name). A plain file takes it as it
  // is; in the framed stream it is dropped and its batch number skipped, so
  // the reader counts one lost batch.
  _oversized(rec) {
    this.flush();
    if (this._framed) {
      this._batch = (this._batch + 1) >>> 0;
      this.dropped++;
    } else {
      const b = Buffer.from(rec);
      writeAll(this._fd, b, 0, b.length);
    }
  }
}

// toNs makes a t0 that is not a BigInt usable: a finite Number is truncated,
// anything else becomes t1.
function toNs(t0, t1) {
  return typeof t0 === 'number' && Number.isFinite(t0) && t0 >= 0 ? BigInt(Math.trunc(t0)) : t1;
}

function writeOnce(fd, buf, off, len) {
  try {
    fs.writeSync(fd, buf, off, len);
  } catch (e) {
    // a full disk or a closed fd must not break the program
  }
}

function writeAll(fd, buf, off, len) {
  try {
    while (len > 0) {
      const n = fs.writeSync(fd, buf, off, len);
      off += n;
      len -= n;
    }
  } catch (e) {
    // as in writeOnce
  }
}

// Names (agent ids, authors) repeat from step to step; their JSON is cached.
const names = new Map();
const MAX_NAMES = 4096;

function nameJSON(s) {
  let j = names.get(s);
  if (j === undefined) {
    if (names.size >= MAX_NAMES) names.clear();
    j = JSON.stringify(s);
    names.set(s, j);
  }
  return j;
}

// natsJSON formats a list of naturals (Numbers or BigInts) exactly, or returns
// null when an item is of another type. (A loop of concatenations is faster
// than join here.)
function natsJSON(items) {
  let s = '[';
  for (let i = 0; i < items.length; i++) {
    const x = items[i];
    const t = typeof x;
    if (t !== 'number' && t !== 'bigint') return null;
    s += i === 0 ? '' + x : ',' + x;
  }
  return s + ']';
}

function stateJSON(s) {
  if (s !== null && typeof s === 'object' && typeof s.agent_id === 'string' && Array.isArray(s.data)) {
    const shard = s.shard_id;
    if (typeof shard === 'number' || typeof shard === 'bigint') {
      const head = `{"agent_id":${nameJSON(s.agent_id)},"shard_id":${shard},`;
      if (s.data.length > MAX_DATA) return `${head}"data_len":${s.data.length},"data_capped":true}`;
      const d = natsJSON(s.data);
      if (d !== null) return `${head}"data":${d}}`;
    }
  }
  return valueJSON(capState(s));
}

function actionJSON(a) {
  if (a !== null && typeof a === 'object') {
    const type = a.type;
    if ((type === 'post' || type === 'comment') && typeof a.author === 'string' && typeof a.content === 'string') {
      const head = `{"type":"${type}","author":${nameJSON(a.author)},`;
      const c = a.content;
      if (c.length > MAX_CONTENT) {
        const n = scalars(c);
        if (n > MAX_CONTENT) return `${head}"content_len":${n},"content_capped":true}`;
      }
      return `${head}"content":${JSON.stringify(c)}}`;
    }
    if (type === 'register' && typeof a.name === 'string') {
      return `{"type":"register","name":${nameJSON(a.name)}}`;
    }
    if (type === 'distribute' && Array.isArray(a.items)) {
      if (a.items.length > MAX_ITEMS) return `{"type":"distribute","items_len":${a.items.length},"items_capped":true}`;
      const d = natsJSON(a.items);
      if (d !== null) return `{"type":"distribute","items":${d}}`;
    }
  }
  return valueJSON(capAction(a));
}

// scalars counts Unicode scalar values (code points) as Lean's String.length
// does; a lone surrogate counts as one.
function scalars(s) {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    n++;
  }
  return n;
}

function capState(s) {
  if (s !== null && typeof s === 'object' && Array.isArray(s.data) && s.data.length > MAX_DATA) {
    const c = Object.assign({}, s);
    delete c.data;
    c.data_len = s.data.length;
    c.data_capped = true;
    return c;
  }
  return s;
}

function capAction(a) {
  if (a === null || typeof a !== 'object') return a;
  let c = a;
  if (typeof a.content === 'string' && scalars(a.content) > MAX_CONTENT) {
    c = Object.assign({}, c);
    delete c.content;
    c.content_len = scalars(a.content);
    c.content_capped = true;
  }
  if (Array.isArray(a.items) && a.items.length > MAX_ITEMS) {
    c = Object.assign({}, c);
    delete c.items;
    c.items_len = a.items.length;
    c.items_capped = true;
  }
  return c;
}

// valueJSON is JSON.stringify that also writes BigInts as digits and never
// throws: a value JSON cannot hold becomes null, a cycle becomes "[cycle]".
function valueJSON(v, seen = new Set()) {
  switch (typeof v) {
    case 'bigint':
      return v.toString();
    case 'number':
      return Number.isFinite(v) ? String(v) : 'null';
    case 'string':
      return JSON.stringify(v);
    case 'boolean':
      return v ? 'true' : 'false';
    case 'object':
      break;
    default:
      return 'null';
  }
  if (v === null) return 'null';
  if (seen.has(v)) return '"[cycle]"';
  seen.add(v);
  let out;
  if (Array.isArray(v)) {
    out = '[' + v.map((x) => valueJSON(x, seen)).join(',') + ']';
  } else {
    const parts = [];
    for (const k of Object.keys(v)) {
      if (v[k] === undefined || typeof v[k] === 'function') continue;
      parts.push(JSON.stringify(k) + ':' + valueJSON(v[k], seen));
    }
    out = '{' + parts.join(',') + '}';
  }
  seen.delete(v);
  return out;
}

// shrink makes a record that would not fit in one batch smaller: it caps the
// data, items and content whatever their length. The checker treats a capped
// field the same way at any length.
function shrink(rec) {
  const r = JSON.parse(rec, (k, v) => v);
  for (const st of [r.pre, r.state]) {
    if (st && Array.isArray(st.data)) {
      st.data_len = st.data.length;
      st.data_capped = true;
      delete st.data;
    }
  }
  const a = r.action;
  if (a && Array.isArray(a.items)) {
    a.items_len = a.items.length;
    a.items_capped = true;
    delete a.items;
  }
  if (a && typeof a.content === 'string') {
    a.content_len = scalars(a.content);
    a.content_capped = true;
    delete a.content;
  }
  return valueJSON(r) + '\n';
}

module.exports = { Probe, scalars };
