/**
 * OTLP endpoint URLs, checked the same way whether they come from OTEL_* variables (readTracingConfig) or
 * from options (startTracing), and shown in messages without their credentials.
 */

/**
 * `raw` with its userinfo (`user:password@`, or a token as the user name) shown as `***@`, for messages,
 * which must never show a secret. A value that does not parse is masked up to its last `@`.
 */
export function maskUserinfo(raw: string): string {
  if (URL.canParse(raw)) {
    const url = new URL(raw);
    if (url.username === '' && url.password === '') return raw;
    return `${url.protocol}//***@${url.host}${url.pathname}${url.search}${url.hash}`;
  }
  const at = raw.lastIndexOf('@');
  if (at === -1) return raw;
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(raw)?.[0] ?? '';
  return `${scheme}***${raw.slice(at)}`;
}

/** The URL's user name and password as written and decoded: scrubbed from error text before it is shown. */
export function userinfoSecrets(raw: string): string[] {
  if (!URL.canParse(raw)) return [];
  const { username, password } = new URL(raw);
  const secrets: string[] = [];
  for (const part of [username, password]) {
    if (part === '') continue;
    secrets.push(part);
    try {
      secrets.push(decodeURIComponent(part));
    } catch {}
  }
  return secrets;
}

/**
 * Why `raw` cannot be an OTLP/HTTP endpoint, or undefined when it can. `base`: /v1/traces is appended to
 * it (OTEL_EXPORTER_OTLP_ENDPOINT), so a query or fragment would end up in front of the path.
 */
export function endpointProblem(raw: string, base = false): string | undefined {
  const example = 'expected an http(s) URL such as http://collector:4318';
  // The host must be written out: WHATWG URL parsing reads `http:///v1/traces` (and `http:` + `/v1/traces`)
  // as the host `v1`, so spans would go to a machine called v1.
  const written = /^https?:\/\/([^/?#\\]*)/i.exec(raw);
  const authority = written?.[1] ?? '';
  const host = authority.slice(authority.lastIndexOf('@') + 1).replace(/:\d*$/, '');
  if (/^https?:/i.test(raw) && host === '') return `it has no host: ${example}`;
  if (!URL.canParse(raw)) return example;
  const { protocol } = new URL(raw);
  if (protocol !== 'http:' && protocol !== 'https:') return example;
  if (base && /[?#]/.test(raw.slice(written?.[0].length))) {
    return 'it must not have a query or fragment: /v1/traces is appended to it';
  }
  return undefined;
}
