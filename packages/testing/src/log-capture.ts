import { Writable } from 'node:stream';

/** Every line an app logged during a check, kept as text and as parsed JSON. */
export interface LogCapture {
  /** Give this to the app's logger as its destination (pino accepts any writable stream). */
  readonly stream: Writable;
  /** Everything written, verbatim. */
  text(): string;
  /** The lines that parse as JSON objects. */
  lines(): Record<string, unknown>[];
}

export function createLogCapture(): LogCapture {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer | string, _encoding, callback) {
      chunks.push(typeof chunk === 'string' ? chunk : chunk.toString('utf8'));
      callback();
    },
  });
  const text = () => chunks.join('');
  return {
    stream,
    text,
    lines() {
      const parsed: Record<string, unknown>[] = [];
      for (const line of text().split('\n')) {
        if (line.trim() === '') continue;
        try {
          const value: unknown = JSON.parse(line);
          if (typeof value === 'object' && value !== null) parsed.push(value as Record<string, unknown>);
        } catch {
          // A non-JSON line still counts in text() (for the canary check); it just has no fields.
        }
      }
      return parsed;
    },
  };
}
