export {
  apiRoot,
  baseEnv,
  createApiKey,
  EXIT_PROBE,
  RUNTIME_PROBE,
  type ServiceProcess,
  type StartOptions,
  startApi,
  startWorker,
  TEST_PEPPER,
} from './api-process.ts';
export { type BinaryCheck, checkPostgresBinaries, checkRedisBinary, POSTGRES_BIN } from './binaries.ts';
export { type Figures, figuresFile, reportFigures } from './figures.ts';
export { freePort, waitForPort } from './free-port.ts';
export {
  type LoadFigures,
  type LoadOptions,
  type LoadRequest,
  type LoadResponse,
  problemCode,
  quantile,
  runLoad,
} from './load.ts';
export { type OtlpSink, startOtlpSink } from './otlp-sink.ts';
export { type PostgresCluster, startPostgresCluster } from './postgres-cluster.ts';
export { rssBytes, scrapeMetric } from './process-stats.ts';
export { type RawResponse, rawRequest } from './raw-http.ts';
export { type RedisServer, startRedisServer } from './redis-server.ts';
export { createWriteLedger, type WriteLedger } from './writes.ts';
