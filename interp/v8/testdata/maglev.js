// A loop that Maglev compiles (the test runs node with --maglev
// --no-turbofan, so it stays in Maglev code): the samples fall on the lines
// of hot's loop, 8 and 9. Prints "ready" once warm; runs forever, or for
// the seconds given as its argument.
'use strict';

function hot(n, x) {
  for (let i = 0; i < n; i++) {
    x = (x * 31 + i) | 0;
  }
  return x;
}

function main() {
  let acc = 1;
  let ready = false;
  const t0 = Date.now();
  const stop = process.argv[2] ? t0 + 1000 * Number(process.argv[2]) : Infinity;
  for (let n = 0; ; n++) {
    acc = hot(100000, acc);
    if ((n & 0xf) === 0) {
      const now = Date.now();
      if (now >= stop) break;
      if (!ready && now - t0 > 1000) {
        ready = true;
        process.stdout.write('ready\n');
      }
    }
  }
  return acc;
}

main();
