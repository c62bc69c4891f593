import { ObservabilityError } from './errors.ts';
import { endpointProblem, maskUserinfo } from './otlp-endpoint.ts';
import { TRACING_DEFAULTS, type TracingOptions } from './tracing.ts';

/** What `readTracingConfig` answers: options to start with, or why tracing stays off. */
export type TracingConfig = { enabled: true; options: TracingOptions } | { enabled: false; reason: string };

type Env = Readonly<Record<string, string | undefined>>;

const SAMPLERS = new Set([
  'always_on',
  'always_off',
  'traceidratio',
  'parentbased_always_on',
  'parentbased_always_off',
  'parentbased_traceidratio',
]);
const INSTRUMENTATIONS = new Set(['undici', 'pg']);
/** Node's timers fire after 1 ms when given a longer delay; the sizes share the bound. */
const MAX_INT = 2_147_483_647;
/** A header name as HTTP (and Node) accepts it: an RFC 9110 token. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** A character Node refuses in a header value. */
const HEADER_VALUE_REFUSED = /[^\t\x20-\x7e\x80-\xff]/;
/** A decimal number as OTEL_TRACES_SAMPLER_ARG holds it (no hex, no Infinity, no empty string). */
const DECIMAL = /^(?:\d+(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?$/i;

function fail(detail: string, cause?: unknown): ObservabilityError {
  return new ObservabilityError('RAMPART_OBSERVABILITY_CONFIG_INVALID', detail, { cause });
}

/** Only for values that cannot hold a secret: headers and endpoints have their own messages. */
function invalid(name: string, value: string, expected: string): ObservabilityError {
  return fail(`${name}=${JSON.stringify(value)}: ${expected}`);
}

function read(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

/** A positive whole number in decimal digits, at most 2^31-1. */
function int(env: Env, name: string, unit: 'ms' | 'spans'): number | undefined {
  const raw = read(env, name);
  if (raw === undefined) return undefined;
  const value = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
  if (!(value >= 1 && value <= MAX_INT)) {
    throw invalid(
      name,
      raw,
      unit === 'ms'
        ? `expected a whole number of milliseconds from 1 to ${MAX_INT} (the longest delay Node's timers take)`
        : `expected a whole number of spans from 1 to ${MAX_INT}`,
    );
  }
  return value;
}

/** OTEL_RESOURCE_ATTRIBUTES: `k=v,k2=v2` with percent-encoded values. */
function pairs(env: Env, name: string): Record<string, string> {
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
      throw fail(`${name}: bad percent-encoding`, error);
    }
  }
  return out;
}

/**
 * OTEL_EXPORTER_OTLP_HEADERS and OTEL_EXPORTER_OTLP_TRACES_HEADERS: `name=value` pairs, values percent-encoded.
 * Header values are credentials as often as not, so a message names the entry and its header, never a value
 * (nor a name that does not parse, which may be a pasted token).
 */
function headers(env: Env, name: string): Record<string, string> {
  const raw = read(env, name);
  const out: Record<string, string> = {};
  if (raw === undefined) return out;
  const entries = raw.split(',');
  const expected = 'expected comma-separated name=value pairs, values percent-encoded (values are not shown)';
  for (const [index, part] of entries.entries()) {
    if (part.trim() === '') continue;
    const entry = `${name}: entry ${index + 1} of ${entries.length}`;
    const equals = part.indexOf('=');
    const key = equals > 0 ? part.slice(0, equals).trim() : '';
    if (key === '') throw fail(`${entry} is not name=value: ${expected}`);
    if (!HEADER_NAME.test(key)) throw fail(`${entry} does not start with a valid header name: ${expected}`);
    let value: string;
    try {
      value = decodeURIComponent(part.slice(equals + 1).trim());
    } catch (error) {
      throw fail(`${entry} (${key}): bad percent-encoding in the value: ${expected}`, error);
    }
    if (HEADER_VALUE_REFUSED.test(value)) {
      throw fail(
        `${entry} (${key}): the value holds a character a header cannot carry (a control character or one above U+00FF): ${expected}`,
      );
    }
    out[key] = value;
  }
  return out;
}

/** The signal-specific variable when set (OTEL_EXPORTER_OTLP_TRACES_X), else the general one. */
function specific(env: Env, suffix: string): { name: string; value: string | undefined } {
  const name = `OTEL_EXPORTER_OTLP_TRACES_${suffix}`;
  const value = read(env, name);
  if (value !== undefined) return { name, value };
  return { name: `OTEL_EXPORTER_OTLP_${suffix}`, value: read(env, `OTEL_EXPORTER_OTLP_${suffix}`) };
}

function checkEndpoint(name: string, raw: string, base: boolean): void {
  const problem = endpointProblem(raw, base);
  // Shown without its userinfo: an endpoint's password must never reach a log.
  if (problem !== undefined) throw fail(`${name}=${JSON.stringify(maskUserinfo(raw))}: ${problem}`);
}

function otlpExporter(env: Env, tracesEndpoint: string | undefined, baseEndpoint: string | undefined) {
  let url = 'http://localhost:4318/v1/traces';
  if (tracesEndpoint !== undefined) {
    checkEndpoint('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', tracesEndpoint, false);
    url = tracesEndpoint;
  } else if (baseEndpoint !== undefined) {
    checkEndpoint('OTEL_EXPORTER_OTLP_ENDPOINT', baseEndpoint, true);
    url = `${baseEndpoint.replace(/\/+$/, '')}/v1/traces`;
  }

  // The OTLP exporter would read these itself and send http/json uncompressed whatever they said.
  const protocol = specific(env, 'PROTOCOL');
  if (protocol.value !== undefined && protocol.value.toLowerCase() !== 'http/json') {
    throw invalid(
      protocol.name,
      protocol.value,
      'spans are sent as OTLP over HTTP with JSON only: set http/json or leave it unset (grpc and http/protobuf are not supported)',
    );
  }
  const compression = specific(env, 'COMPRESSION');
  const compressionValue = compression.value?.toLowerCase();
  if (compressionValue !== undefined && compressionValue !== 'gzip' && compressionValue !== 'none') {
    throw invalid(compression.name, compression.value as string, 'expected gzip or none');
  }

  // Both are read, each checked: the traces headers add to the general ones and win on a shared name.
  const general = headers(env, 'OTEL_EXPORTER_OTLP_HEADERS');
  const traces = headers(env, 'OTEL_EXPORTER_OTLP_TRACES_HEADERS');
  const overridden = new Set(Object.keys(traces).map((key) => key.toLowerCase()));
  const merged: Record<string, string> = {};
  for (const [key, value] of Object.entries(general))
    if (!overridden.has(key.toLowerCase())) merged[key] = value;
  Object.assign(merged, traces);

  const generalTimeout = int(env, 'OTEL_EXPORTER_OTLP_TIMEOUT', 'ms');
  const timeoutMs = int(env, 'OTEL_EXPORTER_OTLP_TRACES_TIMEOUT', 'ms') ?? generalTimeout;
  return {
    otlp: {
      url,
      headers: merged,
      ...(timeoutMs ? { timeoutMs } : {}),
      ...(compressionValue ? { compression: compressionValue as 'gzip' | 'none' } : {}),
    },
  };
}

function sampler(env: Env): { sampleRatio: number; parentBased: boolean } {
  const chosen = read(env, 'OTEL_TRACES_SAMPLER')?.toLowerCase();
  if (chosen !== undefined && !SAMPLERS.has(chosen)) {
    throw invalid('OTEL_TRACES_SAMPLER', chosen, `expected one of ${[...SAMPLERS].join(', ')}`);
  }
  const arg = read(env, 'OTEL_TRACES_SAMPLER_ARG');
  if (arg !== undefined && !(DECIMAL.test(arg) && Number(arg) >= 0 && Number(arg) <= 1)) {
    throw invalid(
      'OTEL_TRACES_SAMPLER_ARG',
      arg,
      'expected a number from 0 to 1, the share of traces sampled',
    );
  }
  // An argument alone sets the ratio of the default sampler: parentbased_always_on is
  // parentbased_traceidratio at 1, so a ratio has one reading, the one the operator wrote it for.
  const name = chosen ?? (arg === undefined ? 'parentbased_always_on' : 'parentbased_traceidratio');
  if (!name.endsWith('traceidratio')) {
    if (arg !== undefined) {
      throw fail(
        `OTEL_TRACES_SAMPLER_ARG=${JSON.stringify(arg)} is set but OTEL_TRACES_SAMPLER=${name} takes no argument: set OTEL_TRACES_SAMPLER=parentbased_traceidratio to sample that share of new traces, or unset OTEL_TRACES_SAMPLER_ARG`,
      );
    }
    return { sampleRatio: name.endsWith('always_off') ? 0 : 1, parentBased: name.startsWith('parentbased_') };
  }
  return { sampleRatio: arg === undefined ? 1 : Number(arg), parentBased: name.startsWith('parentbased_') };
}

function batch(env: Env): NonNullable<TracingOptions['batch']> {
  const out: NonNullable<TracingOptions['batch']> = {};
  const maxQueueSize = int(env, 'OTEL_BSP_MAX_QUEUE_SIZE', 'spans');
  const maxExportBatchSize = int(env, 'OTEL_BSP_MAX_EXPORT_BATCH_SIZE', 'spans');
  const scheduledDelayMs = int(env, 'OTEL_BSP_SCHEDULE_DELAY', 'ms');
  const exportTimeoutMs = int(env, 'OTEL_BSP_EXPORT_TIMEOUT', 'ms');
  // Checked here, not left to startTracing, so the message names the variables the operator set. The default
  // batch size follows a smaller queue; only a batch size that was set is a mistake.
  const queue = maxQueueSize ?? TRACING_DEFAULTS.batch.maxQueueSize;
  if (maxExportBatchSize !== undefined && maxExportBatchSize > queue) {
    throw fail(
      `OTEL_BSP_MAX_EXPORT_BATCH_SIZE=${maxExportBatchSize} must not exceed OTEL_BSP_MAX_QUEUE_SIZE${maxQueueSize === undefined ? ` (unset: ${queue})` : `=${queue}`}: lower the first or raise the second`,
    );
  }
  if (maxQueueSize) out.maxQueueSize = maxQueueSize;
  if (maxExportBatchSize) out.maxExportBatchSize = maxExportBatchSize;
  if (scheduledDelayMs) out.scheduledDelayMs = scheduledDelayMs;
  if (exportTimeoutMs) out.exportTimeoutMs = exportTimeoutMs;
  return out;
}

/**
 * Turns the standard OTEL_* variables into `startTracing` options. Pure: the register hook passes
 * `process.env`, tests pass a plain object. A value it does not accept throws
 * RAMPART_OBSERVABILITY_CONFIG_INVALID naming the variable and what to set, so a typo never silently turns
 * tracing off or changes what is sent; messages never show a header value or an endpoint's userinfo.
 *
 * Read: OTEL_SDK_DISABLED, OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES, OTEL_TRACES_EXPORTER
 * (none | console | otlp; memory is for tests and only taken as an option), OTEL_TRACES_SAMPLER,
 * OTEL_TRACES_SAMPLER_ARG (alone: parentbased_traceidratio), OTEL_BSP_MAX_QUEUE_SIZE,
 * OTEL_BSP_MAX_EXPORT_BATCH_SIZE, OTEL_BSP_SCHEDULE_DELAY, OTEL_BSP_EXPORT_TIMEOUT,
 * OTEL_NODE_ENABLED_INSTRUMENTATIONS (comma list of undici, pg; default undici) and, for otlp,
 * OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_HEADERS, OTEL_EXPORTER_OTLP_TIMEOUT,
 * OTEL_EXPORTER_OTLP_PROTOCOL (http/json only), OTEL_EXPORTER_OTLP_COMPRESSION (gzip | none) and their
 * OTEL_EXPORTER_OTLP_TRACES_* forms.
 */
export function readTracingConfig(env: Env): TracingConfig {
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
  const exporterName =
    read(env, 'OTEL_TRACES_EXPORTER')?.toLowerCase() ??
    (tracesEndpoint !== undefined || baseEndpoint !== undefined ? 'otlp' : 'none');

  let exporter: TracingOptions['exporter'];
  if (exporterName === 'otlp') {
    exporter = otlpExporter(env, tracesEndpoint, baseEndpoint);
  } else if (exporterName === 'none' || exporterName === 'console') {
    exporter = exporterName;
  } else if (exporterName === 'memory') {
    throw invalid(
      'OTEL_TRACES_EXPORTER',
      exporterName,
      "the memory exporter keeps every span until the process ends and is for tests (startTracing({ exporter: 'memory' })): expected none, console or otlp",
    );
  } else {
    throw invalid('OTEL_TRACES_EXPORTER', exporterName, 'expected none, console or otlp');
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

  const options: TracingOptions = {
    service,
    resourceAttributes: rest,
    ...sampler(env),
    exporter,
    instrumentations: { undici: names.includes('undici'), pg: names.includes('pg') },
    batch: batch(env),
  };
  if (serviceVersion) options.serviceVersion = serviceVersion;
  if (environment) options.environment = environment;
  return { enabled: true, options };
}
