/**
 * Numbers in a notebook's prose come from its outputs (lib/figures/prose.ts): `md` marks each number it
 * interpolates, and `proseNumberProblems` flags a number a Markdown cell quotes that no output produced
 * and that is not marked as the paper's. Checked on small notebooks written here.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { md, mdText, proseNumberProblems } from '../lib/figures/prose';

const markdownCell = (source: string) => ({ cell_type: 'markdown', source });
const mdOutput = (markdown: string) => ({ cell_type: 'code', source: 'md`…`', outputs: [{ output_type: 'display_data', data: { 'text/markdown': markdown } }] });
const numbers = (nb: Parameters<typeof proseNumberProblems>[0]) => proseNumberProblems(nb).map((p) => p.number);

test('mdText marks each interpolated number, not the numbers written in the template or inside names', () => {
  const x = 55.4321;
  const text = mdText`ColBERT-Zero scores ${x.toFixed(2)} on 15 sets; ${'BM25'} gets ${0.5} over ${12} queries (${'a: 1.5, b: 2'})`;
  assert.equal(
    text,
    'ColBERT-Zero scores <span class="cz-out">55.43</span> on 15 sets; BM25 gets <span class="cz-out">0.50</span> over ' +
      '<span class="cz-out">12</span> queries (a: <span class="cz-out">1.5</span>, b: <span class="cz-out">2</span>)',
  );
});

test('md shows plain text outside a notebook and returns the marked Markdown', () => {
  const logged: string[] = [];
  const log = console.log;
  console.log = (s: string) => logged.push(s);
  try {
    const out = md`gap ${(-0.314).toFixed(2)} points`;
    assert.equal(out, 'gap <span class="cz-out">-0.31</span> points');
  } finally {
    console.log = log;
  }
  assert.deepEqual(logged, ['gap -0.31 points']);
});

test('a number quoted in prose passes when an md output produced it (sign and thousands commas aside)', () => {
  const nb = {
    cells: [
      markdownCell('The gap is 0.31 points and the batch 16,384.'),
      mdOutput(mdText`gap ${'−0.31'}, batch ${16384}`),
    ],
  };
  assert.deepEqual(proseNumberProblems(nb), []);
});

test('a number quoted in prose that no cell produced is flagged, with its cell and context', () => {
  const nb = { cells: [mdOutput(mdText`(c) scores ${'55.43'}`), markdownCell('(c) scores 55.43 and (b) 55.12 on average.')] };
  const problems = proseNumberProblems(nb);
  assert.deepEqual(problems.map((p) => [p.cell, p.number]), [[1, '55.12']]);
  assert.match(problems[0].context, /\(b\) 55\.12 on average/);
  // A number written in the md template (not interpolated) does not count as produced.
  assert.deepEqual(numbers({ cells: [mdOutput('scores 54.09'), markdownCell('it scores 54.09')] }), ['54.09']);
});

test("the paper's numbers are marked: a (paper …) parenthesis or a span of class paper", () => {
  const nb = {
    cells: [
      markdownCell('Table 2 (paper: 54.09 for (a), 55.43 for (c)); the unsupervised phase costs <span class="paper">368 GPU-hours</span>.'),
      markdownCell('(paper, Table 1: 8 GPU-hours for KD) but 40 here.'),
    ],
  };
  assert.deepEqual(numbers(nb), ['40']);
});

test('not quoted numbers: code, math, links, names with digits, references, numbering, small counts, years, HTML attributes', () => {
  const nb = {
    cells: [
      markdownCell(
        [
          '# 5 · The three pipelines',
          '1. First, `k = 100` and $\\tau = 0.02$ in [the paper](https://arxiv.org/abs/2511.12345).',
          'nDCG@10 of BM25 on an H100; see Table 2, Tables 3–5, notebook 7 and Figure 2.',
          'The 3 pipelines (Chaffin et al., 2025) <img width="320" src="x.png">.',
          '```ts\nconst x = 12.5;\n```',
        ].join('\n'),
      ),
    ],
  };
  assert.deepEqual(proseNumberProblems(nb), []);
  // …but a small number with a percent sign or decimals is a result.
  assert.deepEqual(numbers({ cells: [markdownCell('It keeps 9 % of the score, 2.5 points.')] }), ['9', '2.5']);
});

test("a number in a cell of an HTML table output counts as produced", () => {
  const table = { cell_type: 'code', source: 'showTable(…)', outputs: [{ output_type: 'display_data', data: { 'text/html': ['<table>\n', '<tr><td>c</td><td>30.11</td></tr>\n</table>'] } }] };
  assert.deepEqual(numbers({ cells: [table, markdownCell('(c) reaches 30.11 and 25.85.')] }), ['25.85']);
});

test("an md output's own prose is checked: a number typed into the template is flagged, an interpolated one is not", () => {
  // What md writes in a notebook: its marker line, then the marked Markdown.
  const shown = (markdown: string) => ({ cell_type: 'code', source: 'md`…`', outputs: [{ output_type: 'display_data', data: { 'text/markdown': `<!-- cz-md -->\n${markdown}` } }] });
  assert.deepEqual(numbers({ cells: [shown(mdText`(c) scores ${'31.66'} against 25.30 for BM25`)] }), ['25.30']);
  assert.deepEqual(numbers({ cells: [shown(mdText`(c) scores ${'31.66'} against ${'25.30'} (paper: 55.43)`)] }), []);
  // Markdown shown by other means (a table written with showMarkdown) is not prose.
  assert.deepEqual(numbers({ cells: [mdOutput('| model | 25.30 |')] }), []);
});
