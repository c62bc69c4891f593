import { parseAllDocuments } from 'yaml';
import { DeployCheckError } from './errors.ts';
import { runTool } from './tools.ts';

/** A rendered Kubernetes object, as plain data. */
export interface K8sObject {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  [field: string]: unknown;
}

/**
 * Renders a kustomization directory with `kubectl kustomize` (kustomize built into kubectl) and returns
 * its objects. A render error (a missing file, a patch that matches nothing) throws
 * RAMPART_DEPLOY_RENDER_FAILED with kustomize's message.
 */
export function renderKustomization(dir: string, kubectl = 'kubectl'): K8sObject[] {
  const result = runTool(kubectl, ['kustomize', dir]);
  if (result.code !== 0) {
    throw new DeployCheckError('RAMPART_DEPLOY_RENDER_FAILED', `${dir}: ${result.stderr.trim()}`);
  }
  return parseObjects(result.stdout, dir);
}

/** Parses a multi-document YAML stream into objects; a YAML error throws RAMPART_DEPLOY_RENDER_FAILED. */
export function parseObjects(text: string, source: string): K8sObject[] {
  const objects: K8sObject[] = [];
  for (const document of parseAllDocuments(text)) {
    if (document.errors.length > 0) {
      throw new DeployCheckError('RAMPART_DEPLOY_RENDER_FAILED', `${source}: ${document.errors[0]!.message}`);
    }
    const value: unknown = document.toJS();
    if (value !== null && value !== undefined) objects.push(value as K8sObject);
  }
  return objects;
}
