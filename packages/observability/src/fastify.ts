export {
  type ObservabilityPluginOptions,
  type ObservabilityRouteConfig,
  PLUGIN_DEFAULTS,
} from './fastify-options.ts';
export { observability } from './fastify-plugin.ts';
