// A node:test reporter (package.json's test script adds it beside `spec`): one line at the end of the run
// that counts the skipped tests by reason, so a green run that skipped checks says so. The reason's text up
// to its first ": ", less a closing "(…)" hint, names the group ("shared data absent: trec_eval/out.test" →
// "shared data absent", "no Chromium (set CZ_CHROMIUM)" → "no Chromium").
export default async function* skipSummary(source) {
  const groups = new Map();
  let skipped = 0;
  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    const reason = event.data.skip;
    if (reason === undefined || reason === false) continue;
    skipped++;
    const key = typeof reason === 'string' && reason.trim() ? reason.split(': ')[0].replace(/\s*\([^()]*\)$/, '').trim() : 'no reason given';
    groups.set(key, (groups.get(key) ?? 0) + 1);
  }
  const parts = [...groups].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([k, n]) => `${n} ${k}`);
  yield `ℹ skipped ${skipped} test${skipped === 1 ? '' : 's'}${parts.length ? ` by reason: ${parts.join('; ')}` : ''}\n`;
}
