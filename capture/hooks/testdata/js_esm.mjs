// An ES module program: states are plain objects, actions arrays
// ['post', author, content].
import { transition } from './js_esm_lib.mjs';

let s = { agent_id: 'a', shard_id: 3, data: [] };
const actions = [['register', 'b'], ['post', 'b', 'héllo 🦀'], ['comment', 'b', 'x'], ['distribute', [1, 2n ** 64n]], ['post', 'b', '']];
for (const a of actions) s = transition(s, a);
console.log(s.data.length);
