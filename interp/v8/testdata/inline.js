// Two small functions with a 3:1 CPU split, called from one hot loop that
// the optimizing compiler compiles with both inlined: heavy does three
// times light's work. Prints "ready" once warm; runs forever, or for the
// seconds given as its argument.
'use strict';

function heavy(x) {
  let s = x;
  for (let i = 0; i < 3000; i++) s = (s * 31 + i) | 0;
  return s;
}

function light(x) {
  let s = x;
  for (let i = 0; i < 1000; i++) s = (s * 31 + i) | 0;
  return s;
}

function main() {
  let acc = 1;
  let ready = false;
  const t0 = Date.now();
  const stop = process.argv[2] ? t0 + 1000 * Number(process.argv[2]) : Infinity;
  for (let n = 0; ; n++) {
    acc = heavy(acc) ^ light(acc);
    if ((n & 0xff) === 0) {
      const now = Date.now();
      if (now >= stop) break;
      if (!ready && now - t0 > 2000) {
        ready = true;
        process.stdout.write('ready\n');
      }
    }
  }
  return acc;
}

main();
