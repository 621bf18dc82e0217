/** PNG size: a figure's layout width / height when set (a tall heatmap), else the default size; checked on the PNG header. */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { barChart, closeRenderer, findChromium, renderPngs } from '../lib/index';
import { FIGURE_SIZE, pngSize } from '../lib/figures/render';

const fig = () => barChart({ title: 't', x: 'x', y: 'y', categories: ['a', 'b'], series: [{ name: 's', values: [1, 2] }] });

/** Width and height from a PNG's IHDR chunk. */
const dims = (png: Buffer) => ({ width: png.readUInt32BE(16), height: png.readUInt32BE(20) });

test('pngSize: the layout size when given, else FIGURE_SIZE', () => {
  assert.deepEqual(pngSize(fig()), FIGURE_SIZE);
  const tall = fig();
  tall.layout.height = 700;
  assert.deepEqual(pngSize(tall), { width: FIGURE_SIZE.width, height: 700 });
  tall.layout.width = 'wide';
  assert.deepEqual(pngSize(tall), { width: FIGURE_SIZE.width, height: 700 });
});

test('renderPngs draws each figure at its size', { skip: findChromium() ? false : 'no Chromium (set CZ_CHROMIUM)' }, async () => {
  const tall = fig();
  tall.layout.height = 640;
  tall.layout.width = 500;
  const pngs = await renderPngs([fig(), tall]);
  await closeRenderer();
  assert.ok(pngs);
  assert.deepEqual(dims(pngs[0]), FIGURE_SIZE);
  assert.deepEqual(dims(pngs[1]), { width: 500, height: 640 });
});
