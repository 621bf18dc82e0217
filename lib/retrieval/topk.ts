/**
 * Top-k selection with a fixed tie rule: higher score first; equal scores → lower internal document
 * index first; NaN ranks below everything. A bounded min-heap keeps it O(n log k) for large corpora.
 */

/** True when document a ranks strictly before document b. */
export function ranksBefore(s: ArrayLike<number>, a: number, b: number): boolean {
  const x = Number.isNaN(s[a]) ? -Infinity : s[a];
  const y = Number.isNaN(s[b]) ? -Infinity : s[b];
  return x > y || (x === y && a < b);
}

/**
 * The k best of documents from..to-1 (indices into `scores`), best first, written into `heap` (length ≥
 * min(k, to - from)); returns how many were written. No allocation: for search's hot loop and its shards.
 */
export function topKInto(scores: ArrayLike<number>, from: number, to: number, k: number, heap: Int32Array | number[]): number {
  const size = Math.max(0, Math.min(k, to - from));
  if (size === 0) return 0;
  const before = ranksBefore;
  let len = 0;
  // heap[0] is the worst kept document; a new one enters when it ranks before it.
  for (let doc = from; doc < to; doc++) {
    if (len < size) {
      let i = len++;
      heap[i] = doc;
      while (i > 0) {
        const p = (i - 1) >> 1;
        if (!before(scores, heap[p], heap[i])) break;
        const t = heap[i];
        heap[i] = heap[p];
        heap[p] = t;
        i = p;
      }
    } else if (before(scores, doc, heap[0])) {
      heap[0] = doc;
      siftDown(scores, heap, len);
    }
  }
  // Heap sort in place, worst to the end: repeatedly move the root (worst kept) to the back.
  for (let end = len - 1; end > 0; end--) {
    const t = heap[0];
    heap[0] = heap[end];
    heap[end] = t;
    siftDown(scores, heap, end);
  }
  return len;
}

/** Restores the heap (worst kept at the root) over heap[0..len) after its root changed. */
function siftDown(scores: ArrayLike<number>, heap: Int32Array | number[], len: number): void {
  for (let i = 0; ; ) {
    const l = 2 * i + 1;
    const r = l + 1;
    let w = i;
    if (l < len && ranksBefore(scores, heap[w], heap[l])) w = l;
    if (r < len && ranksBefore(scores, heap[w], heap[r])) w = r;
    if (w === i) return;
    const t = heap[i];
    heap[i] = heap[w];
    heap[w] = t;
    i = w;
  }
}

/** Indices of the k best scores, best first (all of them, ranked, when k ≥ scores.length). */
export function topK(scores: ArrayLike<number>, k: number): number[] {
  const heap: number[] = [];
  const n = topKInto(scores, 0, scores.length, k, heap);
  heap.length = n;
  return heap;
}
