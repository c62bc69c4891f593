export {
  ALERT_RULES_DEFAULTS,
  type AlertRulesOptions,
  generateAlertRules,
  type PrometheusRule,
  type PrometheusRuleFile,
} from './alert-rules.ts';
export { type DashboardPanel, type GrafanaDashboard, generateDashboard } from './dashboard.ts';
export {
  isObservabilityError,
  OBSERVABILITY_ERRORS,
  ObservabilityError,
  type ObservabilityErrorCode,
  observabilityErrorCodes,
} from './errors.ts';
export {
  createLogger,
  DEFAULT_REDACT_PATHS,
  LOGGER_DEFAULTS,
  type LoggerOptions,
  traceMixin,
} from './logger.ts';
export {
  createMetrics,
  METRIC_NAMES,
  METRICS_DEFAULTS,
  type Metrics,
  type MetricsOptions,
} from './metrics.ts';
export {
  createPolicyObserver,
  type PolicyEvent,
  type PolicyObserver,
  type PolicyObserverOptions,
} from './policy-observer.ts';
export {
  createQueryObserver,
  QUERY_OBSERVER_DEFAULTS,
  type QueryEvent,
  type QueryObserver,
  type QueryObserverOptions,
} from './query-observer.ts';
export type { ServiceDescription } from './service-description.ts';
export {
  createTaskObserver,
  type JobEvent,
  type TaskObserver,
  type TaskObserverOptions,
} from './task-observer.ts';
export {
  getTracing,
  startTracing,
  TRACING_DEFAULTS,
  type Tracing,
  type TracingExporter,
  type TracingOptions,
} from './tracing.ts';
export { readTracingConfig, type TracingConfig } from './tracing-config.ts';
export type { ValueRedactor } from './wildcard-redaction.ts';
export { toYaml } from './yaml.ts';
