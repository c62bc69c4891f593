/** At most one warning about failed span exports per this long (a down collector fails every export). */
export const EXPORT_FAILURE_INTERVAL_MS = 30_000;

const MAX_REASON_LENGTH = 300;

export interface ExportFailureReporterOptions {
  /** Where spans go, as it may be shown: an endpoint with its userinfo masked, or `stdout`. */
  target: string;
  /** Strings that must never be shown (header values, URL credentials): replaced by `***` in reasons. */
  secrets: readonly string[];
  /** Receives each warning, one line without a trailing newline. */
  write(message: string): void;
  intervalMs?: number;
}

export interface ExportFailureReporter {
  /** One failed, throwing or timed-out export of `spans` spans. */
  failed(error: unknown, spans: number): void;
  /** Writes what is held back now (at shutdown, so the last failures are not lost with the process). */
  flush(): void;
}

/** The reason of a failed export in a few words: an OTLP answer's HTTP status, else the error's message. */
function reasonOf(error: unknown): string {
  if (typeof error === 'object' && error !== null) {
    const { name, message, code } = error as { name?: unknown; message?: unknown; code?: unknown };
    // The OTLP exporter's error for an answer other than 2xx carries the HTTP status as its code.
    if (name === 'OTLPExporterError' && typeof code === 'number') {
      return `HTTP ${code}${typeof message === 'string' && message !== '' ? ` ${message}` : ''}`;
    }
    if (typeof message === 'string' && message !== '') return message;
    // A connection refused on every address of a dual-stack host is an AggregateError with only a code.
    if (typeof code === 'string') return code;
    if (typeof name === 'string') return name;
  }
  return String(error);
}

function shown(reason: string, secrets: readonly string[]): string {
  let text = reason.replace(/\s+/g, ' ').trim();
  // Shorter strings are not secrets worth the false matches (a header value `1` would mask every digit).
  for (const secret of secrets) if (secret.length >= 3) text = text.replaceAll(secret, '***');
  return text.length > MAX_REASON_LENGTH ? `${text.slice(0, MAX_REASON_LENGTH)}…` : text;
}

/**
 * Turns failed span exports into warnings an operator sees: the first at once, then at most one per
 * `intervalMs`, which counts the exports and spans lost since the previous one and gives the last reason.
 */
export function exportFailureReporter(options: ExportFailureReporterOptions): ExportFailureReporter {
  const intervalMs = options.intervalMs ?? EXPORT_FAILURE_INTERVAL_MS;
  let lastWrite = Number.NEGATIVE_INFINITY;
  let timer: NodeJS.Timeout | undefined;
  let exports = 0;
  let spans = 0;
  let reason = '';

  const flush = () => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    if (exports === 0) return;
    const lost = `${spans} span${spans === 1 ? '' : 's'} lost`;
    options.write(
      exports === 1
        ? `@rampart/observability: span export to ${options.target} failed (${lost}): ${reason}`
        : `@rampart/observability: ${exports} span exports to ${options.target} failed since the previous warning (${lost}); the last: ${reason}`,
    );
    lastWrite = performance.now();
    exports = 0;
    spans = 0;
  };

  return {
    failed(error, count) {
      exports += 1;
      spans += count;
      reason = shown(reasonOf(error), options.secrets);
      if (timer !== undefined) return;
      const wait = lastWrite + intervalMs - performance.now();
      if (wait <= 0) {
        flush();
        return;
      }
      timer = setTimeout(flush, wait);
      timer.unref();
    },
    flush,
  };
}
