// A node program with two hot JavaScript functions, for the session tests:
// transition gets three times the work of render.
'use strict';
let sink = 0;
function transition(n) {
  let s = 0;
  for (let i = 0; i < n; i++) s = (s + i * 7) % 1000003;
  return s;
}
function render(n) {
  let s = 0;
  for (let i = 0; i < n; i++) s = (s + i * 3) % 1000033;
  return s;
}
console.log('NODE_OPTIONS=' + (process.env.NODE_OPTIONS || ''));
const end = Date.now() + Number(process.argv[2] || 1) * 1000;
while (Date.now() < end) {
  sink += transition(3000000);
  sink += render(1000000);
}
if (sink === -1) console.log(sink);
