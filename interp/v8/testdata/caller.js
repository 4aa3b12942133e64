// A function whose optimized code calls another one (not inlined: the
// test runs node with --no-maglev-inlining or --no-turbo-inlining): its
// frame is named at the line of the call, 13, while the callee runs.
// Prints "ready" once warm; runs forever, or for the seconds given.
'use strict';

function callee(n, x) {
  for (let i = 0; i < n; i++) x = (x * 31 + i) | 0;
  return x;
}

function caller(x) { let y = x + 1;
  y = callee(20000, y);
  return y ^ 5;
}

let acc = 1;
let ready = false;
const t0 = Date.now();
const stop = process.argv[2] ? t0 + 1000 * Number(process.argv[2]) : Infinity;
for (let n = 0; ; n++) {
  acc = caller(acc);
  if ((n & 0xff) === 0) {
    const now = Date.now();
    if (now >= stop) break;
    if (!ready && now - t0 > 1500) {
      ready = true;
      process.stdout.write('ready\n');
    }
  }
}
