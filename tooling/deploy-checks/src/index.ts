export { checkWorkspace, type WorkspaceReport } from './check-workspace.ts';
export { type ComposeStackOptions, checkComposeStack } from './compose-check.ts';
export { checkDashboard } from './dashboard-check.ts';
export {
  checkDockerfile,
  checkDockerignore,
  type ImageDefaults,
  readImageDefaults,
} from './dockerfile-check.ts';
export { isSecretVariable, readEnvVariables } from './env-variables.ts';
export { DEPLOY_CHECK_ERRORS, DeployCheckError, type DeployCheckErrorCode } from './errors.ts';
export { checkManifests, type ManifestCheckOptions } from './k8s-check.ts';
export { checkUnknownFields } from './k8s-fields.ts';
export { validateSchemas } from './k8s-schema.ts';
export { type K8sObject, parseObjects, renderKustomization } from './kustomize.ts';
export {
  checkMetricReferences,
  type MetricReferenceOptions,
  observabilitySeries,
  readAppSeries,
  type SeriesCatalog,
} from './metrics-check.ts';
export { formatProblems, type Problem } from './problem.ts';
export { type PromqlReferences, scanPromql } from './promql.ts';
export { checkImageCommand, checkRuntime, type RuntimeCheckOptions } from './runtime-check.ts';
export {
  type BuildEntries,
  type EnvValidator,
  loadEnvValidator,
  nodeScript,
  readBuildEntries,
  readMetricsPaths,
  tracingVariables,
} from './service-runtime.ts';
export {
  type DeployTools,
  findDeployTools,
  hasTool,
  resolveDeployTools,
  runTool,
  type ToolRun,
} from './tools.ts';
export { findServices, type ServiceFiles } from './workspace.ts';
