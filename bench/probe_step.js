'use strict';
// Per-step cost of the Node probe binding: CPU time of N calls of Probe.step() with
// a typical container state and action, minus the same loop without the call.
// Usage: node bench/probe_step.js [N]   (default 300000).
const path = require('path');
const { Probe } = require(path.join(__dirname, '..', 'probe', 'node', 'tracer_probe.js'));

const ACTIONS = [
  { type: 'post', author: 'Zoë-12', content: 'hello café 日本語 🦀 naïve' },
  { type: 'comment', author: 'CICADA-7', content: 'ok 👍🏽' },
  { type: 'register', name: '花子-3' },
  { type: 'distribute', items: [17, 4000000000, 3] },
];
const STATE = { agent_id: 'CICADA-Harbot-0', shard_id: 0, data: [5, 3, 12, 7] };

// loop returns the CPU time (user + system, all threads: GC included) of n
// calls, in nanoseconds.
function loop(n, step) {
  const start = process.cpuUsage();
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    step(ACTIONS[i & 3], STATE, t0);
  }
  const d = process.cpuUsage(start);
  return (d.user + d.system) * 1000;
}

function main() {
  const n = Number(process.argv[2] || 300000);
  const p = new Probe({ impl: 'node' });
  p.init(STATE);
  const noop = (a, s, t) => {};
  loop(1000, noop); // warm up both paths the same way
  loop(1000, (a, s, t) => p.step(a, s, t));
  const base = loop(n, noop);
  const withProbe = loop(n, (a, s, t) => p.step(a, s, t));
  p.close();
  const per = (withProbe - base) / n;
  const sink = process.env.TRACER_PROBE_FILE || '/dev/null (framed)';
  console.log(`node ${process.version}: ${n} steps, ${per.toFixed(0)} ns/step in Probe.step (sink ${sink})`);
}

main();
