/**
 * printf("%.Nf") for doubles, as C prints them: the exact binary value rounded to N decimals, exact
 * ties to even. JS's toFixed rounds exact ties up instead (0.03125 → "0.0313" where C prints
 * "0.0312"), and trec_eval's test outputs contain such ties.
 */
export function formatFixed(x: number, digits: number): string {
  // 0/0 on x86-64 is a NaN with the sign bit set, which glibc prints as "-nan" (trec_eval can
  // produce it under -J when nothing judged is retrieved).
  if (Number.isNaN(x)) return '-nan';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  if (Object.is(x, -0)) return '-' + (0).toFixed(digits);
  const plain = x.toFixed(digits);
  // An exact tie has a finite expansion ending in 5 right after the kept digits; a double that is
  // not a tie differs from one within far fewer than 30 more digits at the magnitudes printed here.
  const long = Math.abs(x).toFixed(Math.min(100, digits + 30));
  const dot = long.indexOf('.');
  const tail = digits === 0 ? long.slice(dot + 1) : long.slice(dot + 1 + digits);
  if (!/^50*$/.test(tail)) return plain;
  // Tie: toFixed rounded away from zero; C keeps the even neighbour.
  const kept = digits === 0 ? long.slice(0, dot) : long.slice(0, dot + 1 + digits);
  const lastDigit = kept.charCodeAt(kept.length - 1) - 48;
  const magnitude = lastDigit % 2 === 0 ? kept : Math.abs(Number(plain)).toFixed(digits);
  return (x < 0 ? '-' : '') + magnitude;
}

/** trec_eval's `%-22s` measure column. */
export function padMeasure(name: string): string {
  return name.length >= 22 ? name : name + ' '.repeat(22 - name.length);
}
