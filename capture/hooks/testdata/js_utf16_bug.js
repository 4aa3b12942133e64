// A planted bug: post prepends content.length, UTF-16 units (2 for an emoji),
// not Unicode scalar values. The program does not know tracer.
class State {
  constructor(agent_id, shard_id, data) { this.agent_id = agent_id; this.shard_id = shard_id; this.data = data; }
}

function transition(state, action) {
  switch (action.type) {
    case 'register': return new State(action.name, state.shard_id, state.data);
    case 'post': return new State(state.agent_id, state.shard_id, [action.content.length, ...state.data]);
    default: return state;
  }
}

let s = new State('CICADA-Harbot-0', 0, []);
s = transition(s, { type: 'register', name: 'CICADA-Harbot-0' });
s = transition(s, { type: 'post', author: 'CICADA-Harbot-0', content: 'hello' });
s = transition(s, { type: 'post', author: 'CICADA-Harbot-0', content: 'crab 🦀' });
s = transition(s, { type: 'comment', author: 'CICADA-Harbot-0', content: 'x' });
console.log(s.data);
