// lib/k8s: the Kubernetes plumbing shared by the controller and the speaker.
//   KubeClient        JSON over one keep-alive pool, credentials from a kubeconfig or in-cluster
//   Informer<T>       list+watch cache of one kind (survives 410, restarts, network errors)
//   WorkQueue<K>      de-duplicating queue, per-key exponential retry backoff, single worker
//   EventRecorder     core/v1 Events with aggregation, asynchronous, bounded
//   writeLoadBalancerStatus   Service status subresource writer (only when changed)
export { KubeClient, ApiError, isApiError, type ApiResponse, type Query, type WatchEvent, type WatchStream, type JSONValue } from './client.js';
export { Informer, objectKey, dropManagedFields, type KubeObject, type ObjectMeta, type InformerHandlers, type InformerOptions } from './informer.js';
export { WorkQueue, type WorkQueueOptions } from './workqueue.js';
export { EventRecorder, type EventType, type EventRecorderOptions } from './events.js';
export { Backoff, sleep } from './backoff.js';
export { writeLoadBalancerStatus, statusIPs, ingressEquals, type Service, type ServicePort, type LoadBalancerIngress } from './service-status.js';
export { serviceOwnership, isOurService, nodeExcluded, validateLBClass, EXCLUDE_LB_LABEL, type Ownership, type NotOursReason, type OwnedServiceLike } from './ownership.js';
export { loadKubeConfig, inClusterCredentials, type Credentials, type KubeConfigSource } from './kubeconfig.js';
