// Preloaded (`node --import`) into the usual-stack server: OpenTelemetry's Node SDK the way its docs set
// it up, with the http and Fastify instrumentations. Sampler, exporter and batch settings come from the
// standard OTEL_* variables, which the bench sets to the same values it gives Rampart.
import { FastifyOtelInstrumentation } from '@fastify/otel';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { NodeSDK } from '@opentelemetry/sdk-node';

const sdk = new NodeSDK({
  instrumentations: [
    new HttpInstrumentation(),
    new FastifyOtelInstrumentation({ registerOnInitialization: true }),
  ],
});
sdk.start();
process.once('SIGTERM', () => {
  sdk.shutdown().finally(() => process.exit(0));
});
