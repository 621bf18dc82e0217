/**
 * Fills `{{NAME}}` placeholders in a template text. A placeholder without a value, or a value without a
 * placeholder, is an error: a template and its caller that drifted apart must not write a half-filled file.
 */
export function fillTemplate(template: string, values: Record<string, string>, what = 'template'): string {
  const names = new Set([...template.matchAll(/\{\{([A-Z][A-Z0-9_]*)\}\}/g)].map((m) => m[1]));
  const unfilled = [...names].filter((n) => !(n in values));
  if (unfilled.length) throw new Error(`${what}: no value for ${unfilled.map((n) => `{{${n}}}`).join(', ')}`);
  const unknown = Object.keys(values).filter((n) => !names.has(n));
  if (unknown.length) throw new Error(`${what}: no placeholder ${unknown.map((n) => `{{${n}}}`).join(', ')}`);
  // One pass: a value that itself contains "{{...}}" is left as it is.
  return template.replace(/\{\{([A-Z][A-Z0-9_]*)\}\}/g, (_m, n: string) => values[n]);
}
