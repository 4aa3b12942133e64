#!/usr/bin/env node
'use strict';
// A planted bug, for tracer's tests and demos: nodejs_container.js with the
// post rule of the original nodejs_container.js, which counted the
// content with content.length (UTF-16 code units). Lean's String.length counts
// Unicode scalar values, so the first post whose content holds an astral-plane
// character (an emoji) records a different number: `tracer check` reports a
// divergence there under --relation exact, and none under --relation bisim
// (the data list has the right length, only one item differs).
//
//   node examples/buggy/nodejs_utf16.js --steps N --seed S   (the same flags)
const path = require('path');
const container = require(path.join(__dirname, '..', 'nodejs_container.js'));

function transition(state, action) {
  if (action.type === 'post') {
    return { agent_id: state.agent_id, shard_id: state.shard_id, data: [action.content.length, ...state.data] };
  }
  return container.transition(state, action);
}

if (require.main === module) process.exitCode = container.main(process.argv.slice(2), transition);
