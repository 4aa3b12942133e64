'use strict';
// The loop bench/hook_cost.sh times: N calls of transition() (observed by the
// --transition hook) or of other(), the same function under another name
// (not observed). Prints the CPU time of the loop per call, in ns.
// Usage: node bench/hook_loop.js N transition|other

function transition(state, action) {
  switch (action.type) {
    case 'post': return { agent_id: state.agent_id, shard_id: state.shard_id, data: [[...action.content].length, ...state.data.slice(0, 7)] };
    case 'register': return { agent_id: action.name, shard_id: state.shard_id, data: state.data };
    default: return state;
  }
}

function other(state, action) {
  switch (action.type) {
    case 'post': return { agent_id: state.agent_id, shard_id: state.shard_id, data: [[...action.content].length, ...state.data.slice(0, 7)] };
    case 'register': return { agent_id: action.name, shard_id: state.shard_id, data: state.data };
    default: return state;
  }
}

const ACTIONS = [
  { type: 'post', author: 'Zoë-12', content: 'hello café 日本語 🦀 naïve' },
  { type: 'comment', author: 'CICADA-7', content: 'ok 👍🏽' },
  { type: 'register', name: 'CICADA-Harbot-0' },
  { type: 'post', author: 'CICADA-7', content: 'ok' },
];

const n = Number(process.argv[2]);
const f = process.argv[3] === 'transition' ? transition : other;
let s = { agent_id: 'CICADA-Harbot-0', shard_id: 0, data: [5, 3, 12, 7] };
const start = process.cpuUsage();
for (let i = 0; i < n; i++) s = f(s, ACTIONS[i & 3]);
const u = process.cpuUsage(start);
console.log(((u.user + u.system) * 1000 / n).toFixed(0));
