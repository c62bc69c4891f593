import { SecurityError } from './errors.ts';

export interface SecurityHeadersOptions {
  /** HSTS max-age in seconds; 0 disables the header (e.g. plain-HTTP development). Default one year. */
  hstsMaxAgeSeconds?: number;
  hstsIncludeSubDomains?: boolean;
  /** Send `Cache-Control: no-store` (API responses are per-caller). Default true. */
  noStore?: boolean;
}

export const SECURITY_HEADERS_DEFAULTS = {
  hstsMaxAgeSeconds: 31_536_000,
  hstsIncludeSubDomains: true,
  noStore: true,
} as const satisfies Required<SecurityHeadersOptions>;

/**
 * The API security-header policy as a frozen object, computed once so each response only copies it:
 * HSTS, nosniff, a CSP that forbids framing and everything else, DENY, no referrer, no-store.
 */
export function securityHeaders(options: SecurityHeadersOptions = {}): Readonly<Record<string, string>> {
  const settings = { ...SECURITY_HEADERS_DEFAULTS, ...options };
  const headers: Record<string, string> = {
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'content-security-policy':
      "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
    'referrer-policy': 'no-referrer',
    'cross-origin-resource-policy': 'same-origin',
    'cross-origin-opener-policy': 'same-origin',
    'x-permitted-cross-domain-policies': 'none',
  };
  for (const name of ['hstsIncludeSubDomains', 'noStore'] as const) {
    settings[name] = options[name] ?? SECURITY_HEADERS_DEFAULTS[name];
    if (typeof settings[name] !== 'boolean') {
      throw new SecurityError('RAMPART_SECURITY_OPTIONS_INVALID', {
        detail: `${name} must be true or false`,
      });
    }
  }
  if (!Number.isInteger(settings.hstsMaxAgeSeconds) || settings.hstsMaxAgeSeconds < 0) {
    throw new SecurityError('RAMPART_SECURITY_OPTIONS_INVALID', {
      detail: 'hstsMaxAgeSeconds must be a non-negative integer',
    });
  }
  if (settings.hstsMaxAgeSeconds > 0) {
    headers['strict-transport-security'] =
      `max-age=${settings.hstsMaxAgeSeconds}${settings.hstsIncludeSubDomains ? '; includeSubDomains' : ''}`;
  }
  if (settings.noStore) headers['cache-control'] = 'no-store';
  return Object.freeze(headers);
}
