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

/** One of the given words. */
export function oneOf<T extends string>(...values: T[]): (v: string) => T {
  return (v: string): T => {
    if (!(values as string[]).includes(v)) throw new InvalidArgumentError(`must be ${values.slice(0, -1).join(', ')} or ${values[values.length - 1]}`);
    return v as T;
  };
}
