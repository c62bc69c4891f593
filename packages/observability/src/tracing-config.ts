import { ObservabilityError } from './errors.ts';
import type { TracingOptions } from './tracing.ts';

/** What `readTracingConfig` answers: options to start with, or why tracing stays off. */
export type TracingConfig = { enabled: true; options: TracingOptions } | { enabled: false; reason: string };

const SAMPLERS = new Set([
  'always_on',
  'always_off',
  'traceidratio',
  'parentbased_always_on',
  'parentbased_always_off',
  'parentbased_traceidratio',
]);
const INSTRUMENTATIONS = new Set(['undici', 'pg']);

function invalid(name: string, value: string, expected: string): ObservabilityError {
  return new ObservabilityError(
    'RAMPART_OBSERVABILITY_CONFIG_INVALID',
    `${name}=${JSON.stringify(value)}: ${expected}`,
  );
}

function read(env: Readonly<Record<string, string | undefined>>, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

function int(env: Readonly<Record<string, string | undefined>>, name: string): number | undefined {
  const raw = read(env, name);
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) throw invalid(name, raw, 'expected a positive integer');
  return value;
}

/** `k=v,k2=v2` with percent-encoded values (OTEL_RESOURCE_ATTRIBUTES, OTEL_EXPORTER_OTLP_HEADERS). */
function pairs(env: Readonly<Record<string, string | undefined>>, name: string): Record<string, string> {
  const raw = read(env, name);
  const out: Record<string, string> = {};
  if (raw === undefined) return out;
  for (const part of raw.split(',')) {
    if (part.trim() === '') continue;
    const equals = part.indexOf('=');
    const key = equals > 0 ? part.slice(0, equals).trim() : '';
    if (key === '') throw invalid(name, raw, 'expected comma-separated key=value pairs');
    try {
      out[key] = decodeURIComponent(part.slice(equals + 1).trim());
    } catch (error) {
      throw new ObservabilityError('RAMPART_OBSERVABILITY_CONFIG_INVALID', `${name}: bad percent-encoding`, {
        cause: error,
      });
    }
  }
  return out;
}

/**
 * Turns the standard OTEL_* variables into `startTracing` options. Pure: the register hook passes
 * `process.env`, tests pass a plain object. Unknown values throw RAMPART_OBSERVABILITY_CONFIG_INVALID
 * naming the variable, so a typo never silently turns tracing off.
 *
 * Read: OTEL_SDK_DISABLED, OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES, OTEL_TRACES_EXPORTER
 * (none | console | otlp | memory), OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT,
 * OTEL_EXPORTER_OTLP_HEADERS, OTEL_EXPORTER_OTLP_TIMEOUT, OTEL_TRACES_SAMPLER, OTEL_TRACES_SAMPLER_ARG,
 * OTEL_BSP_MAX_QUEUE_SIZE, OTEL_BSP_MAX_EXPORT_BATCH_SIZE, OTEL_BSP_SCHEDULE_DELAY, OTEL_BSP_EXPORT_TIMEOUT,
 * OTEL_NODE_ENABLED_INSTRUMENTATIONS (comma list of undici, pg; default undici).
 */
export function readTracingConfig(env: Readonly<Record<string, string | undefined>>): TracingConfig {
  const disabled = read(env, 'OTEL_SDK_DISABLED')?.toLowerCase();
  if (disabled !== undefined && disabled !== 'true' && disabled !== 'false') {
    throw invalid('OTEL_SDK_DISABLED', disabled, "expected 'true' or 'false'");
  }
  if (disabled === 'true') return { enabled: false, reason: 'OTEL_SDK_DISABLED=true' };

  const resourceAttributes = pairs(env, 'OTEL_RESOURCE_ATTRIBUTES');
  const service =
    read(env, 'OTEL_SERVICE_NAME') ?? resourceAttributes['service.name'] ?? 'unknown_service:node';
  const {
    'service.version': serviceVersion,
    'deployment.environment.name': environment,
    ...rest
  } = resourceAttributes;
  delete rest['service.name'];

  const tracesEndpoint = read(env, 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT');
  const baseEndpoint = read(env, 'OTEL_EXPORTER_OTLP_ENDPOINT');
  const endpoint =
    tracesEndpoint ?? (baseEndpoint ? `${baseEndpoint.replace(/\/+$/, '')}/v1/traces` : undefined);
  const exporterName = read(env, 'OTEL_TRACES_EXPORTER')?.toLowerCase() ?? (endpoint ? 'otlp' : 'none');

  let exporter: TracingOptions['exporter'];
  if (exporterName === 'otlp') {
    const url = endpoint ?? 'http://localhost:4318/v1/traces';
    if (!URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol)) {
      throw invalid(
        tracesEndpoint ? 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT' : 'OTEL_EXPORTER_OTLP_ENDPOINT',
        url,
        'expected an http(s) URL',
      );
    }
    const timeoutMs = int(env, 'OTEL_EXPORTER_OTLP_TIMEOUT');
    exporter = {
      otlp: { url, headers: pairs(env, 'OTEL_EXPORTER_OTLP_HEADERS'), ...(timeoutMs ? { timeoutMs } : {}) },
    };
  } else if (exporterName === 'none' || exporterName === 'console' || exporterName === 'memory') {
    exporter = exporterName;
  } else {
    throw invalid('OTEL_TRACES_EXPORTER', exporterName, 'expected none, console, otlp or memory');
  }

  const samplerName = read(env, 'OTEL_TRACES_SAMPLER')?.toLowerCase() ?? 'parentbased_always_on';
  if (!SAMPLERS.has(samplerName))
    throw invalid('OTEL_TRACES_SAMPLER', samplerName, `expected one of ${[...SAMPLERS].join(', ')}`);
  let sampleRatio = samplerName.endsWith('always_off') ? 0 : 1;
  if (samplerName.endsWith('traceidratio')) {
    const raw = read(env, 'OTEL_TRACES_SAMPLER_ARG') ?? '1';
    sampleRatio = Number(raw);
    if (!(sampleRatio >= 0 && sampleRatio <= 1))
      throw invalid('OTEL_TRACES_SAMPLER_ARG', raw, 'expected a number in [0, 1]');
  }

  const rawInstrumentations = read(env, 'OTEL_NODE_ENABLED_INSTRUMENTATIONS') ?? 'undici';
  const names = rawInstrumentations
    .split(',')
    .map((name) => name.trim().toLowerCase())
    .filter(Boolean);
  for (const name of names) {
    if (!INSTRUMENTATIONS.has(name)) {
      throw invalid(
        'OTEL_NODE_ENABLED_INSTRUMENTATIONS',
        rawInstrumentations,
        'expected a comma list of undici, pg',
      );
    }
  }

  const batch: NonNullable<TracingOptions['batch']> = {};
  const maxQueueSize = int(env, 'OTEL_BSP_MAX_QUEUE_SIZE');
  const maxExportBatchSize = int(env, 'OTEL_BSP_MAX_EXPORT_BATCH_SIZE');
  const scheduledDelayMs = int(env, 'OTEL_BSP_SCHEDULE_DELAY');
  const exportTimeoutMs = int(env, 'OTEL_BSP_EXPORT_TIMEOUT');
  if (maxQueueSize) batch.maxQueueSize = maxQueueSize;
  if (maxExportBatchSize) batch.maxExportBatchSize = maxExportBatchSize;
  if (scheduledDelayMs) batch.scheduledDelayMs = scheduledDelayMs;
  if (exportTimeoutMs) batch.exportTimeoutMs = exportTimeoutMs;

  const options: TracingOptions = {
    service,
    resourceAttributes: rest,
    sampleRatio,
    parentBased: samplerName.startsWith('parentbased_'),
    exporter,
    instrumentations: { undici: names.includes('undici'), pg: names.includes('pg') },
    batch,
  };
  if (serviceVersion) options.serviceVersion = serviceVersion;
  if (environment) options.environment = environment;
  return { enabled: true, options };
}
