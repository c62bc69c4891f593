/** One step in a job's life, reported to {@link TaskObserver.onJob}. */
export interface JobEvent {
  task: string;
  jobId: string;
  kind: 'queued' | 'active' | 'completed' | 'failed' | 'retried' | 'dead-lettered';
  durationMs?: number;
  attempt?: number;
  error?: Error;
}

/**
 * Optional callbacks @rampart/observability implements: trace propagation from enqueue to handler,
 * metrics and logs. Every call is guarded: an observer that throws never breaks a job.
 */
export interface TaskObserver {
  /** Called at enqueue; the returned carrier (e.g. W3C traceparent) is stored in the job. */
  inject?(): Record<string, string>;
  /** Runs a job's handler inside a span linked to the carrier's trace. */
  runJob?<T>(
    job: { task: string; jobId: string; carrier: Record<string, string> },
    run: () => Promise<T>,
  ): Promise<T>;
  onJob?(event: JobEvent): void;
}

/** Calls `onJob` without letting an observer failure reach the caller. */
export function report(observer: TaskObserver | undefined, event: JobEvent): void {
  if (!observer?.onJob) return;
  try {
    observer.onJob(event);
  } catch {
    // an observer must never break the job it observes
  }
}

/** The carrier to store in a job, or an empty one when the observer has none or throws. */
export function injectCarrier(observer: TaskObserver | undefined): Record<string, string> | undefined {
  if (!observer?.inject) return undefined;
  try {
    const carrier = observer.inject();
    return carrier && typeof carrier === 'object' && Object.keys(carrier).length > 0 ? carrier : undefined;
  } catch {
    return undefined;
  }
}
