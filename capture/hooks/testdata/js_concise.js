// A transition written as an arrow function whose body is an expression,
// without semicolons; states are plain objects, actions arrays.
const transition = (state, [type, ...args]) =>
  type === 'post'
    ? { ...state, data: [[...args[1]].length, ...state.data] }
    : type === 'register' ? { ...state, agent_id: args[0] } : state
const label = `steps: ${[1, 2].map((x) => x * 2).join(',')}`

let s = { agent_id: 'a', shard_id: 0, data: [] }
for (const a of [['register', 'b'], ['post', 'b', '😀x'], ['comment', 'b', 'c']]) s = transition(s, a)
console.log(JSON.stringify(s), label)
