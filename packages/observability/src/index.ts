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
  getTracing,
  startTracing,
  TRACING_DEFAULTS,
  type Tracing,
  type TracingExporter,
  type TracingOptions,
} from './tracing.ts';
