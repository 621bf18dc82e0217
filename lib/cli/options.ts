/**
 * The one set of option parsers every command uses. A bad value is commander's usage error (exit 2)
 * naming the option; nothing is silently replaced by a default.
 */
import { InvalidArgumentError } from 'commander';

/** An integer ≥ min, written as digits (so '', ' ', '1.5', '0x10' and '1e3' are refused). */
export function integerAtLeast(min: number): (v: string) => number {
  return (v: string): number => {
    const n = Number(v);
    if (!/^[-+]?\d+$/.test(v.trim()) || !Number.isSafeInteger(n) || n < min) {
      throw new InvalidArgumentError(min === 1 ? 'must be a positive integer' : `must be an integer ≥ ${min}`);
    }
    return n;
  };
}

export const positiveInt = integerAtLeast(1);
export const nonNegativeInt = integerAtLeast(0);

export function positiveNumber(v: string): number {
  const x = Number(v);
  if (v.trim() === '' || !Number.isFinite(x) || x <= 0) throw new InvalidArgumentError('must be a positive number');
  return x;
}

/** A number (written as one) that passes `test`; `what` says what is expected ("between 0 and 1"). */
export function numberWhere(test: (n: number) => boolean, what: string): (v: string) => number {
  return (v: string): number => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n) || !test(n)) throw new InvalidArgumentError(`must be ${what}`);
    return n;
  };
}

/** One of the given words. */
export function oneOf<T extends string>(...values: readonly T[]): (v: string) => T {
  return (v: string): T => {
    if (!(values as readonly string[]).includes(v)) throw new InvalidArgumentError(`must be one of ${values.join(', ')}`);
    return v as T;
  };
}

/** An integer from min to max (written as digits): sizes whose memory grows with the value. */
export function integerBetween(min: number, max: number): (v: string) => number {
  const atLeast = integerAtLeast(min);
  return (v: string): number => {
    const n = atLeast(v);
    if (n > max) throw new InvalidArgumentError(`must be an integer from ${min} to ${max}`);
    return n;
  };
}

/** "0,1,2" → [0, 1, 2]: comma-separated non-negative integers (seeds), each exact in a double (at most 2^53 − 1). */
export function nonNegativeIntList(v: string): number[] {
  const parts = v.split(',').map((x) => x.trim());
  if (!parts.every((x) => /^\d+$/.test(x))) throw new InvalidArgumentError('expected comma-separated non-negative integers, e.g. 0,1,2');
  const big = parts.find((x) => !Number.isSafeInteger(Number(x)));
  if (big !== undefined) throw new InvalidArgumentError(`${big} is too large for an exact seed (at most ${Number.MAX_SAFE_INTEGER})`);
  return parts.map(Number);
}

/** `key=value,key=value` -> { key: value } (a value may be empty; a part without a key is refused). */
export function keyValues(v: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of v.split(',').filter((p) => p.trim())) {
    const i = part.indexOf('=');
    if (i <= 0 || !part.slice(0, i).trim()) throw new InvalidArgumentError(`expected KEY=VALUE, got "${part}"`);
    out[part.slice(0, i).trim()] = part.slice(i + 1).trim();
  }
  return out;
}

/** An engine name (ort or tfjs) given as an option. */
export const engineName = oneOf('ort', 'tfjs');
