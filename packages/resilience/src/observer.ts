/** What a policy reports; @rampart/observability turns these into metrics and span events. */
export interface PolicyEvent {
  policy: string;
  kind:
    | 'call'
    | 'success'
    | 'failure'
    | 'retry'
    | 'timeout'
    | 'breaker-open'
    | 'breaker-half-open'
    | 'breaker-closed'
    | 'bulkhead-rejected'
    | 'fallback';
  durationMs?: number;
}

/** The structural seam between this package and whoever records its events. */
export interface PolicyObserver {
  onEvent(event: PolicyEvent): void;
}
