/**
 * The two bits of Python string behaviour that tokenization depends on, reproduced exactly:
 * `str.strip()` (sentence-transformers strips every text before tokenizing) and `string.punctuation`
 * (PyLate's default skiplist).
 */

/** Characters Python's `str.isspace()` accepts (JS `trim()` differs: it strips U+FEFF, keeps U+001C..U+001F, U+0085). */
const PY_SPACE = '\\t\\n\\v\\f\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const STRIP_RE = new RegExp(`^[${PY_SPACE}]+|[${PY_SPACE}]+$`, 'g');

/** Python `s.strip()`. */
export function pyStrip(s: string): string {
  return s.replace(STRIP_RE, '');
}

/** Python `string.punctuation`, in its order. */
const PUNCTUATION = '!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~';

/** `list(string.punctuation)`: PyLate's default `skiplist_words`. */
export function punctuationSkiplist(): string[] {
  return PUNCTUATION.split('');
}
