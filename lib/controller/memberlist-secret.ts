// Memberlist Secret bootstrap (docs/behaviour/controller.md#memberlist-secret): on first install the controller creates the Secret
// whose `secretkey` the speakers use to encrypt gossip. An existing Secret is never modified.

import { randomBytes } from 'node:crypto';
import type { Logger } from '../util/log.js';
import { isApiError, type KubeClient } from '../k8s/client.js';

export type SecretOutcome = 'exists' | 'created' | 'created-by-another';

/** 16 random bytes in standard base64 without padding: 22 ASCII characters, as upstream. */
export function newMemberlistKey(): string {
  return randomBytes(16).toString('base64').replace(/=+$/, '');
}

interface SecretList {
  readonly items?: readonly unknown[];
}

interface Deployment {
  readonly metadata?: { readonly uid?: string; readonly name?: string };
}

/**
 * 1. List (not Get: RBAC grants `list` on the one name) Secrets named `secretName`; one exists → done.
 * 2. Get the controller Deployment (owner of the Secret, so deleting it collects the Secret).
 * 3./4. Create the Secret with data.secretkey = a fresh 22-character key and that owner reference.
 * Errors are thrown (the process exits 1 and restarts, as upstream). Divergence: when another
 * controller created it between our List and Create (AlreadyExists), that Secret is kept and this
 * is not an error: the outcome, one Secret never overwritten, is the same without a restart.
 */
export async function ensureMemberlistSecret(client: KubeClient, namespace: string, secretName: string, deploymentName: string, log: Logger): Promise<SecretOutcome> {
  const ns = encodeURIComponent(namespace);
  const list = await client.request<SecretList>('GET', `/api/v1/namespaces/${ns}/secrets`, {
    verb: 'LIST',
    query: { fieldSelector: `metadata.name=${secretName}` },
  });
  if ((list.body.items ?? []).length > 0) {
    log.info({ op: 'memberlistSecret', secret: secretName }, 'memberlist secret exists, keeping it');
    return 'exists';
  }
  const dep = await client.request<Deployment>('GET', `/apis/apps/v1/namespaces/${ns}/deployments/${encodeURIComponent(deploymentName)}`);
  const uid = dep.body.metadata?.uid;
  if (!uid) throw new Error(`deployment ${namespace}/${deploymentName} has no uid`);
  const key = newMemberlistKey();
  const body = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: secretName,
      namespace,
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: deploymentName, uid }],
    },
    type: 'Opaque',
    data: { secretkey: Buffer.from(key, 'ascii').toString('base64') },
  };
  try {
    await client.request('POST', `/api/v1/namespaces/${ns}/secrets`, { body });
  } catch (err) {
    if (isApiError(err, 409)) {
      log.info({ op: 'memberlistSecret', secret: secretName }, 'memberlist secret was created concurrently by another controller, keeping it');
      return 'created-by-another';
    }
    throw err;
  }
  log.info({ op: 'memberlistSecret', secret: secretName }, 'memberlist secret created');
  return 'created';
}
