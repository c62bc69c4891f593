// One open-loop load run, in its own process (see load.ts): requests go out at a fixed rate on a schedule
// fixed in advance, whatever the server does, and each one's latency runs from the moment the schedule
// said to send it to the last byte of its response. A closed-loop generator (autocannon: each connection
// sends its next request when the last one is answered) slows down with the server, so a stall delays
// only the requests in flight and the ones that would have been sent meanwhile are never measured
// ("coordinated omission"); here they wait in the queue and their latency counts that wait.
//
// The client is a minimal HTTP/1.1 one over keep-alive sockets, so its own cost and timing stay out of the
// figures: one request at a time per socket (no pipelining), responses framed by content-length (every
// bench server sets it; a response without one counts as failed, with the reason in the report). The
// schedule is kept by turning the event loop with setImmediate rather than timers, whose millisecond
// granularity would send requests in bursts: the process spins its (pinned) core for the length of the run.
import { connect, type Socket } from 'node:net';
import { pathToFileURL } from 'node:url';
import { percentile } from './stats.ts';

export interface RateWorkerRequest {
  port: number;
  path: string;
  method: string;
  headers: Record<string, string>;
  body?: string;
  /** Requests per second. */
  rate: number;
  /** Measured seconds, after `warmupSeconds` at the same rate whose latencies are not kept. */
  seconds: number;
  warmupSeconds: number;
  /** Sockets opened before the run: the most requests in flight at once. */
  connections: number;
}

export interface RateWorkerReport {
  rate: number;
  /** Measured requests sent, and of those answered 2xx / failed (error status, socket error, no answer). */
  sent: number;
  ok: number;
  failed: number;
  /** 2xx answers per second over the measured part (≈ rate when the server keeps up). */
  held: number;
  /** Latency percentiles of the measured 2xx answers, ms from each request's scheduled time. */
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
  /**
   * This process's own stalls over the measured part: turns of its event loop more than 1 ms apart (the
   * host descheduling its core, its own GC, or a burst of answers to handle after a server's stall).
   * Requests due in a stall leave late and count the wait.
   */
  stalledMs: number;
  longestStallMs: number;
  /** Responses over the whole run, warm-up included (for the server's CPU per response). */
  answered: number;
  /** The most requests that waited for a free socket at once. */
  maxQueued: number;
  /** The first failure's reason, if any. */
  error?: string;
}

/** How long unanswered requests are waited for after the last one was due. */
const DRAIN_MS = 5_000;
const HEADER_END = Buffer.from('\r\n\r\n');

interface Connection {
  socket: Socket;
  /** The scheduled send time (performance.now() ms) of the request in flight, or -1 when idle. */
  due: number;
  measured: boolean;
  chunks: Buffer[];
  received: number;
  /** Why the socket failed, for the report. */
  reason?: string;
}

export function runRate(request: RateWorkerRequest): Promise<RateWorkerReport> {
  if (!(request.rate > 0 && request.seconds > 0 && request.warmupSeconds >= 0 && request.connections >= 1)) {
    return Promise.reject(
      new RangeError(
        `rate load: rate, seconds and connections must be positive (got ${request.rate} req/s, ` +
          `${request.seconds} s, ${request.connections} connections)`,
      ),
    );
  }
  const interval = 1000 / request.rate;
  const warmup = Math.round(request.rate * request.warmupSeconds);
  const total = warmup + Math.round(request.rate * request.seconds);
  const lines = [`${request.method} ${request.path} HTTP/1.1`, `host: 127.0.0.1:${request.port}`];
  for (const [name, value] of Object.entries(request.headers)) lines.push(`${name}: ${value}`);
  if (request.body !== undefined) lines.push(`content-length: ${Buffer.byteLength(request.body)}`);
  const payload = Buffer.from(`${lines.join('\r\n')}\r\n\r\n${request.body ?? ''}`);

  const latencies = new Float64Array(total);
  let recorded = 0;
  let ok = 0;
  let failed = 0;
  let error: string | undefined;
  let scheduled = 0;
  let answered = 0;
  let maxQueued = 0;
  let lastOkAt = 0;
  let lastTurn = 0;
  let stalledMs = 0;
  let longestStallMs = 0;
  /** Indexes of scheduled requests waiting for a free socket, oldest first. */
  const queue: number[] = [];
  let queueHead = 0;
  const idle: Connection[] = [];
  const all: Connection[] = [];
  let start = 0;
  /** Set once the run has reported or failed: nothing is sent or reconnected after. */
  let over = false;
  let finish: (report: RateWorkerReport) => void = () => {};
  let fail: (error: Error) => void = () => {};

  const settle = (connection: Connection, okay: boolean, reason?: string) => {
    const due = connection.due;
    const measured = connection.measured;
    connection.due = -1;
    answered += 1;
    if (measured) {
      if (okay) {
        ok += 1;
        lastOkAt = performance.now();
        latencies[recorded++] = lastOkAt - due;
      } else {
        failed += 1;
        error ??= reason;
      }
    }
    next(connection);
  };

  const send = (connection: Connection, index: number) => {
    connection.due = start + index * interval;
    connection.measured = index >= warmup;
    connection.socket.write(payload);
  };

  const next = (connection: Connection) => {
    if (connection.socket.destroyed) return;
    if (queueHead < queue.length) {
      send(connection, queue[queueHead++] as number);
      if (queueHead === queue.length) {
        queue.length = 0;
        queueHead = 0;
      }
    } else idle.push(connection);
  };

  const onData = (connection: Connection, chunk: Buffer) => {
    if (connection.due < 0) {
      connection.socket.destroy(new Error('the server sent bytes nobody asked for'));
      return;
    }
    connection.chunks.push(chunk);
    connection.received += chunk.length;
    const buffer = connection.chunks.length === 1 ? chunk : Buffer.concat(connection.chunks);
    connection.chunks = [buffer]; // joined once: a response in many pieces is not copied again per piece
    const headerEnd = buffer.indexOf(HEADER_END);
    if (headerEnd === -1) return;
    const head = buffer.toString('latin1', 0, headerEnd);
    const length = /\r\ncontent-length: *(\d+)/i.exec(head);
    if (!length) {
      connection.socket.destroy(new Error(`a response without content-length: ${head.split('\r\n')[0]}`));
      return;
    }
    const size = headerEnd + 4 + Number(length[1]);
    if (connection.received < size) return;
    if (connection.received > size) {
      connection.socket.destroy(new Error('the server sent more than one response'));
      return;
    }
    connection.chunks = [];
    connection.received = 0;
    const status = Number(head.slice(9, 12));
    const closing = /\r\nconnection: *close/i.test(head);
    if (closing) {
      // Not reused (settle's next() skips a destroyed socket): a fresh one takes its place.
      connection.socket.removeAllListeners('close');
      connection.socket.destroy();
    }
    settle(connection, status >= 200 && status < 300, `status ${status}`);
    if (closing) replace(connection);
  };

  const open = (): Promise<Connection> =>
    new Promise((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port: request.port, noDelay: true });
      const connection: Connection = { socket, due: -1, measured: false, chunks: [], received: 0 };
      socket.once('connect', () => {
        socket.off('error', reject);
        socket.on('error', (reason: Error) => {
          connection.reason ??= reason.message; // 'close' follows and settles
        });
        socket.on('close', () => {
          if (connection.due >= 0)
            settle(connection, false, connection.reason ?? 'the connection closed mid-request');
          replace(connection);
        });
        all.push(connection);
        resolve(connection);
      });
      socket.once('error', reject);
      socket.on('data', (chunk: Buffer) => onData(connection, chunk));
    });

  /** A closed socket is replaced, so the run keeps its number of connections. */
  const replace = (connection: Connection) => {
    connection.socket.destroy();
    if (connection.due < 0 && connection.reason !== undefined) error ??= connection.reason;
    const at = all.indexOf(connection);
    if (at !== -1) all.splice(at, 1);
    const waiting = idle.indexOf(connection);
    if (waiting !== -1) idle.splice(waiting, 1);
    if (over || answered >= total) return;
    open().then(
      (fresh) => {
        if (over) close(fresh);
        else next(fresh);
      },
      (reason: Error) => fail(reason),
    );
  };

  /** Destroys a socket for good: no replacement. */
  const close = (connection: Connection) => {
    connection.socket.removeAllListeners('close');
    connection.socket.destroy();
  };

  const tick = () => {
    if (over) return;
    const now = performance.now();
    if (scheduled > warmup && now - lastTurn > 1) {
      stalledMs += now - lastTurn;
      longestStallMs = Math.max(longestStallMs, now - lastTurn);
    }
    lastTurn = now;
    while (scheduled < total) {
      const due = start + scheduled * interval;
      if (due > now) break;
      const connection = idle.pop();
      if (connection) send(connection, scheduled);
      else {
        queue.push(scheduled);
        maxQueued = Math.max(maxQueued, queue.length - queueHead);
      }
      scheduled += 1;
    }
    if (scheduled < total) setImmediate(tick);
    else waitForAnswers();
  };

  const waitForAnswers = () => {
    const deadline = performance.now() + DRAIN_MS;
    const poll = () => {
      if (over) return;
      if (answered >= total || performance.now() > deadline) report();
      else setTimeout(poll, 1);
    };
    poll();
  };

  const report = () => {
    over = true;
    const unanswered = total - answered;
    if (unanswered > 0) {
      // Only measured requests count: those in flight on a socket, and those still waiting for one.
      let measured = 0;
      for (const connection of all) if (connection.due >= 0 && connection.measured) measured += 1;
      for (let at = queueHead; at < queue.length; at++) if ((queue[at] as number) >= warmup) measured += 1;
      failed += measured;
      error ??= `${unanswered} requests unanswered ${DRAIN_MS} ms after the last was due`;
    }
    for (const connection of all) close(connection);
    const sorted = latencies.subarray(0, recorded).sort();
    // From the first measured request's scheduled time to the last 2xx answer.
    const span = (lastOkAt - (start + warmup * interval)) / 1000;
    finish({
      rate: request.rate,
      sent: total - warmup,
      ok,
      failed,
      held: span > 0 ? ok / Math.max(span, request.seconds) : 0,
      p50: percentile(sorted, 0.5),
      p90: percentile(sorted, 0.9),
      p99: percentile(sorted, 0.99),
      p999: percentile(sorted, 0.999),
      max: sorted.length ? (sorted[sorted.length - 1] as number) : 0,
      stalledMs,
      longestStallMs,
      answered,
      maxQueued,
      ...(error !== undefined ? { error } : {}),
    });
  };

  return new Promise<RateWorkerReport>((resolve, reject) => {
    finish = resolve;
    fail = (reason) => {
      if (over) return;
      over = true;
      for (const connection of all) close(connection);
      reject(reason);
    };
    Promise.allSettled(Array.from({ length: request.connections }, open)).then((outcomes) => {
      const refused = outcomes.find((outcome) => outcome.status === 'rejected');
      if (refused) fail(refused.reason as Error);
      else {
        idle.push(...all);
        start = performance.now();
        tick();
      }
    });
  });
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runRate(JSON.parse(process.argv[2] ?? '') as RateWorkerRequest).then(
    (report) => process.stdout.write(JSON.stringify(report)),
    (error: Error) => {
      process.stderr.write(`rate load: ${error.message}\n`);
      process.exitCode = 1;
    },
  );
}
