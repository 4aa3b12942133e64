// capture_writer.js: the Node twin of capture_writer.py: framed batches written
// with fs.writeSync to /dev/null, as the probe binding does.
// usage: node capture_writer.js BATCHES RECORDS_PER_BATCH (waits for a line on stdin)
'use strict';
const fs = require('fs');

const MAGIC = Buffer.from([0xfe, 0x54, 0x52, 0x43, 0x42, 0x41, 0x54, 0x31]);

function frame(number, payload) {
  const h = Buffer.alloc(16);
  MAGIC.copy(h, 0);
  h.writeUInt32LE(payload.length, 8);
  h.writeUInt32LE(number, 12);
  return Buffer.concat([h, payload]);
}

function records(first, count) {
  let s = '';
  for (let i = 0; i < count; i++) {
    s += `{"kind":"step","seq":${first + i},"t0":1,"t1":2,"tid":1,"action":{"type":"comment","author":"a","content":"x"},"state":{"agent_id":"a","shard_id":0,"data":[]}}\n`;
  }
  return Buffer.from(s);
}

function main() {
  const batches = Number(process.argv[2]);
  const per = Number(process.argv[3]);
  const buf = Buffer.alloc(1);
  // wait for one byte on stdin
  while (fs.readSync(0, buf, 0, 1, null) === 1 && buf[0] !== 10) { /* read line */ }
  const nul = fs.openSync('/dev/null', 'w');
  for (let i = 0; i < 200; i++) {
    fs.writeSync(1, `ordinary output line ${i}\n`);
    fs.writeSync(nul, `ordinary write ${i}\n`);
  }
  let seq = 1;
  for (let n = 1; n <= batches; n++) {
    fs.writeSync(nul, frame(n, records(seq, per)));
    seq += per;
  }
  let body = records(seq, 300);
  body = body.subarray(0, body.lastIndexOf(10, 65536 - 16 - 200) + 1);
  const pad = Buffer.alloc(65536 - 16 - body.length, 0x20);
  pad[pad.length - 1] = 10;
  fs.writeSync(nul, frame(batches + 1, Buffer.concat([body, pad])));
  const bad = Buffer.alloc(26, 0x78);
  MAGIC.copy(bad, 0);
  bad.writeUInt32LE(100, 8);
  bad.writeUInt32LE(batches + 2, 12);
  fs.writeSync(nul, bad);
  fs.writeSync(nul, frame(batches + 2, records(1000000, 600)));
  fs.closeSync(nul);
}

main();
