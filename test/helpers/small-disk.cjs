// Preloaded (node --require) by tests: every file system reports CZ_TEST_FREE_BYTES bytes free to
// fs.statfsSync, so a command's disk check can be run for real on a machine with plenty of space.
const fs = require('node:fs');

const free = Number(process.env.CZ_TEST_FREE_BYTES ?? 1e6);
const statfs = fs.statfsSync;
fs.statfsSync = function statfsSync(p, ...rest) {
  const st = statfs.call(this, p, ...rest);
  const bsize = Number(st.bsize);
  const blocks = Math.floor(free / bsize);
  return { ...st, bavail: typeof st.bavail === 'bigint' ? BigInt(blocks) : blocks, bfree: typeof st.bfree === 'bigint' ? BigInt(blocks) : blocks };
};
