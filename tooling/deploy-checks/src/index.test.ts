import { describe, expect, it } from 'vitest';

describe('@rampart/deploy-checks', () => {
  it('exports exactly its public API', async () => {
    expect(Object.keys(await import('./index.ts')).sort()).toEqual([
      'DEPLOY_CHECK_ERRORS',
      'DeployCheckError',
      'checkComposeStack',
      'checkDashboard',
      'checkDockerfile',
      'checkDockerignore',
      'checkImageCommand',
      'checkManifests',
      'checkMetricReferences',
      'checkRuntime',
      'checkUnknownFields',
      'checkWorkspace',
      'findDeployTools',
      'findServices',
      'formatProblems',
      'hasTool',
      'isSecretVariable',
      'loadEnvValidator',
      'nodeScript',
      'observabilitySeries',
      'parseObjects',
      'readAppSeries',
      'readBuildEntries',
      'readEnvVariables',
      'readImageDefaults',
      'readMetricsPaths',
      'renderKustomization',
      'resolveDeployTools',
      'runTool',
      'scanPromql',
      'tracingVariables',
      'validateSchemas',
    ]);
  });
});
