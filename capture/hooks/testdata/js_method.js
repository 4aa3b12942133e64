'use strict';
// A method on the state (--transition-args self,action), async: each call is
// observed when its promise settles; a call that rejects is not a step.
class State {
  constructor(agent_id, shard_id, data) { this.agent_id = agent_id; this.shard_id = shard_id; this.data = data; }

  async transition(action) {
    await null;
    if (action.kind === 'register') return new State(action.name, this.shard_id, this.data);
    if (action.kind === 'post') return new State(this.agent_id, this.shard_id, [[...action.content].length, ...this.data]);
    if (action.kind === 'distribute') {
      if (action.items.length === 0) throw new Error('nothing to distribute');
      return new State(this.agent_id, this.shard_id, action.items.slice());
    }
    return this;
  }
}

async function main() {
  let s = new State('a', 0, []);
  let failed = 0;
  for (const a of [{ kind: 'register', name: 'b' }, { kind: 'post', author: 'b', content: '😀' }, { kind: 'distribute', items: [] }, { kind: 'comment', author: 'b', content: 'c' }, { kind: 'distribute', items: [7] }]) {
    try {
      s = await s.transition(a);
    } catch (e) {
      failed++;
    }
  }
  console.log(failed, s.data);
}

main();
