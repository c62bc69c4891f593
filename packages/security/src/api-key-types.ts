/** What a verified API key tells the rest of the request: who, and what it may do. Never the secret. */
export interface AuthenticatedKey {
  id: string;
  name: string;
  env: string;
  scopes: readonly string[];
}

/** Anything that can turn a presented key into an identity; createApiKeys() is the real one. */
export interface ApiKeyVerifier {
  /** Resolves undefined for an unknown, malformed, expired or revoked key; rejects only on a store failure. */
  verify(presented: string): Promise<AuthenticatedKey | undefined>;
  /**
   * Optional: the answer when it needs no I/O (the key's row is cached, or the key is malformed), so the auth
   * hook need not wait for a promise. The key when valid, `null` when refused, `undefined` when only
   * `verify` can tell. It must answer exactly as `verify` would.
   */
  verifyCached?(presented: string): AuthenticatedKey | null | undefined;
}
