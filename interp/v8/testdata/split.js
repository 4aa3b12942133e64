// Two functions with a 3:1 CPU split, called from one loop: heavy does
// three times light's work. Prints "ready" once warm; runs forever, or for
// the seconds given as its argument.
'use strict';

function work(n, seed) {
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345 + i) % 2147483647;
  }
  return s;
}

function heavy(seed) {
  return work(30000, seed);
}

function light(seed) {
  return work(10000, seed);
}

function main() {
  let acc = 1;
  let ready = false;
  const t0 = Date.now();
  const stop = process.argv[2] ? t0 + 1000 * Number(process.argv[2]) : Infinity;
  while (Date.now() < stop) {
    acc = heavy(acc) ^ light(acc);
    if (!ready && Date.now() - t0 > 300) {
      ready = true;
      process.stdout.write('ready\n');
    }
  }
}

main();
