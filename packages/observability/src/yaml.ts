type Value = string | number | boolean | null | undefined | Value[] | { [key: string]: Value };

const PLAIN_KEY = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

function scalar(value: string | number | boolean | null): string {
  if (value === null) return 'null';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError(`cannot write ${value} as YAML`);
    return String(value);
  }
  // Double-quoted YAML is a superset of JSON strings, so JSON's escaping is always valid YAML.
  return typeof value === 'boolean' ? String(value) : JSON.stringify(value);
}

function lines(value: Value, indent: string): string[] {
  if (Array.isArray(value)) {
    if (value.length === 0) return [`${indent}[]`];
    const out: string[] = [];
    for (const item of value) {
      const inner = lines(item, `${indent}  `);
      const first = (inner[0] ?? '').slice(indent.length + 2);
      out.push(`${indent}- ${first}`, ...inner.slice(1));
    }
    return out;
  }
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value).filter(([, item]) => item !== undefined);
    if (entries.length === 0) return [`${indent}{}`];
    const out: string[] = [];
    for (const [key, item] of entries) {
      const name = PLAIN_KEY.test(key) ? key : JSON.stringify(key);
      const nested =
        (Array.isArray(item) && item.length > 0) ||
        (typeof item === 'object' && item !== null && !Array.isArray(item) && Object.keys(item).length > 0);
      if (nested) out.push(`${indent}${name}:`, ...lines(item, `${indent}  `));
      else out.push(`${indent}${name}: ${lines(item, '')[0]}`);
    }
    return out;
  }
  return [`${indent}${scalar(value ?? null)}`];
}

/** Writes plain data (objects, arrays, strings, numbers, booleans) as block-style YAML. */
export function toYaml(value: Value): string {
  return `${lines(value, '').join('\n')}\n`;
}
