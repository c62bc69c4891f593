export { generateApiKey, type ParsedApiKey, parseApiKey } from './api-key-format.ts';
export type { ApiKeyVerifier, AuthenticatedKey } from './api-key-types.ts';
export {
  API_KEYS_DEFAULTS,
  type ApiKeyRecord,
  type ApiKeys,
  type ApiKeysOptions,
  type CreateApiKeyInput,
  createApiKeys,
  type IssuedApiKey,
} from './api-keys.ts';
export {
  type ClientAddressOptions,
  clientAddressKey,
  createClientAddressResolver,
} from './client-address.ts';
export { encryptedColumn, type SealedField, sealField } from './encrypted-column.ts';
export { isSecurityError, SECURITY_ERRORS, SecurityError, type SecurityErrorCode } from './errors.ts';
export {
  createFieldCipher,
  type FieldCipher,
  type FieldCipherOptions,
  type FieldContext,
  type FieldKey,
} from './field-cipher.ts';
export { SECURITY_HEADERS_DEFAULTS, type SecurityHeadersOptions, securityHeaders } from './headers.ts';
export { migrationsFolder, migrationsTable } from './migrations-folder.ts';
export {
  PROBLEM_CONTENT_TYPE,
  type Problem,
  type ProblemDetails,
  type ProblemOptions,
  toProblem,
} from './problem.ts';
export { type CounterStore, createMemoryCounterStore, type WindowState } from './rate-limit-store.ts';
export {
  API_KEY_PATTERN,
  isSecretName,
  logRedaction,
  pinoRedactPaths,
  REDACTION_LIST,
  redactAttributes,
  redactSecrets,
  redactText,
} from './redaction.ts';
export {
  createRedisCounterStore,
  type FailurePolicy,
  type RedisCounterStoreOptions,
  waitForRedis,
} from './redis-store.ts';
export {
  countStaleValues,
  type ReencryptOptions,
  type ReencryptResult,
  reencryptColumn,
} from './reencrypt.ts';
export { type ApiKeyRow, apiKeys } from './schema.ts';
export { negotiateLanguage, PROBLEM_LANGUAGES, type ProblemLanguage, problemTitle } from './titles.ts';
export {
  createMemoryReplayStore,
  createWebhookSigner,
  type ReplayStore,
  WEBHOOK_DEFAULTS,
  type WebhookOptions,
  type WebhookSigner,
} from './webhook.ts';
