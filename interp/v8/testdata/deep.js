// A JS stack DEPTH frames deep (argument 1, default 100) that spins at its
// leaf, for SECONDS (argument 2, default 5): the deep case of the V8
// walker's cost per sample.
'use strict';

const depth = Number(process.argv[2] || 100);
const seconds = Number(process.argv[3] || 5);
const stop = Date.now() + 1000 * seconds;

function spin() {
  let s = 1;
  for (let i = 0; i < 1e6; i++) s = (s * 31 + i) % 1000003;
  return s;
}

function down(n) {
  if (n <= 0) return spin();
  return down(n - 1) + 1;
}

let acc = 0;
while (Date.now() < stop) acc += down(depth);
if (acc === -1) console.log(acc);
