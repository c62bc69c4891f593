export {
  type ObservabilityPluginOptions,
  type ObservabilityRouteConfig,
  observability,
} from './fastify-plugin.ts';
