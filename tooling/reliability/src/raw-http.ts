import { connect } from 'node:net';

export interface RawResponse {
  /** 0 when the server closed the socket without a status line. */
  status: number;
  /** The header block as received (lower-cased names), for injection checks. */
  head: string;
  headers: Record<string, string>;
  body: string;
  /** True when the server closed the connection (rather than our timeout ending the read). */
  closedByServer: boolean;
  elapsedMs: number;
}

/**
 * Writes `text` as-is to 127.0.0.1:port (no client-side normalization: paths, CRLFs and headers reach
 * the server exactly as written) and reads until the server closes or `timeoutMs` passes. Only the first
 * response is parsed.
 */
export function rawRequest(port: number, text: string | Buffer, timeoutMs = 5_000): Promise<RawResponse> {
  return new Promise((resolve) => {
    const started = performance.now();
    const chunks: Buffer[] = [];
    let closedByServer = false;
    const socket = connect({ host: '127.0.0.1', port });
    const finish = () => {
      clearTimeout(timer);
      socket.destroy();
      const raw = Buffer.concat(chunks).toString('latin1');
      const split = raw.indexOf('\r\n\r\n');
      const head = split === -1 ? raw : raw.slice(0, split);
      const [statusLine = '', ...lines] = head.split('\r\n');
      const headers: Record<string, string> = {};
      for (const line of lines) {
        const colon = line.indexOf(':');
        if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      resolve({
        status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? 0),
        head,
        headers,
        body: split === -1 ? '' : raw.slice(split + 4),
        closedByServer,
        elapsedMs: Math.round(performance.now() - started),
      });
    };
    const timer = setTimeout(finish, timeoutMs);
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('end', () => {
      closedByServer = true;
      finish();
    });
    socket.on('error', () => {
      closedByServer = true;
      finish();
    });
    socket.on('connect', () => socket.write(text));
  });
}
