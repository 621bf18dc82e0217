/**
 * Top-k selection with a fixed tie rule: higher score first; equal scores → lower internal document
 * index first; NaN ranks below everything. A bounded min-heap keeps it O(n log k) for large corpora.
 */

/** True when document a ranks strictly before document b. */
function before(s: ArrayLike<number>, a: number, b: number): boolean {
  const x = Number.isNaN(s[a]) ? -Infinity : s[a];
  const y = Number.isNaN(s[b]) ? -Infinity : s[b];
  return x > y || (x === y && a < b);
}

/** Indices of the k best scores, best first (all of them, ranked, when k ≥ scores.length). */
export function topK(scores: ArrayLike<number>, k: number): number[] {
  const n = scores.length;
  const size = Math.max(0, Math.min(k, n));
  if (size === 0) return [];
  // heap[0] is the worst kept document; a new one enters when it ranks before it.
  const heap: number[] = [];
  const siftDown = (i: number) => {
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let w = i;
      if (l < heap.length && before(scores, heap[w], heap[l])) w = l;
      if (r < heap.length && before(scores, heap[w], heap[r])) w = r;
      if (w === i) return;
      [heap[i], heap[w]] = [heap[w], heap[i]];
      i = w;
    }
  };
  for (let doc = 0; doc < n; doc++) {
    if (heap.length < size) {
      heap.push(doc);
      for (let i = heap.length - 1; i > 0; ) {
        const p = (i - 1) >> 1;
        if (!before(scores, heap[p], heap[i])) break;
        [heap[i], heap[p]] = [heap[p], heap[i]];
        i = p;
      }
    } else if (before(scores, doc, heap[0])) {
      heap[0] = doc;
      siftDown(0);
    }
  }
  return heap.sort((a, b) => (before(scores, a, b) ? -1 : 1));
}
