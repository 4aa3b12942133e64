// The transition, in an ES module of its own: an arrow function with a block
// body, exported.
export const transition = (state, [type, ...args]) => {
  if (type === 'register') return { ...state, agent_id: args[0] };
  if (type === 'post') return { ...state, data: [[...args[1]].length, ...state.data] };
  if (type === 'distribute') return { ...state, data: [...args[0]] };
  return state;
};
