/** The explicit map of built-in controllers (no registration by import side effect). */
import type { ControllerFactory } from './controller.ts';
import { newDeploymentController } from './deployment/deployment-controller.ts';
import { newJobController } from './job/job-controller.ts';
import { newCronJobController } from './cronjob/cronjob-controller.ts';
import { newDaemonSetController } from './daemonset/daemonset-controller.ts';
import { newEndpointsController } from './endpoints/endpoints-controller.ts';
import { newEndpointSliceController } from './endpointslice/endpointslice-controller.ts';
import { newNodeIpamController } from './nodeipam/nodeipam-controller.ts';
import { newNodeLifecycleController, newTaintEvictionController } from './nodelifecycle/nodelifecycle-controller.ts';
import { newDisruptionController } from './disruption/disruption-controller.ts';
import { newPodGCController } from './podgc/podgc-controller.ts';
import { newStatefulSetController } from './statefulset/statefulset-controller.ts';
import { newTTLAfterFinishedController } from './ttlafterfinished/ttl-after-finished-controller.ts';
import { newGarbageCollector } from './garbage-collector/garbage-collector.ts';
import { newNamespaceController } from './namespace/namespace-controller.ts';
import { newServiceAccountsController } from './serviceaccount/serviceaccount-controller.ts';
import { newReplicaSetController, newReplicationControllerController } from './replicaset/replica-set-controller.ts';

/** Every built-in controller by its --controllers name. */
export const controllerFactories: Record<string, ControllerFactory> = {
  deployment: newDeploymentController,
  replicaset: newReplicaSetController,
  replicationcontroller: newReplicationControllerController,
  'garbage-collector': newGarbageCollector,
  namespace: newNamespaceController,
  serviceaccount: newServiceAccountsController,
  job: newJobController,
  cronjob: newCronJobController,
  'ttl-after-finished': newTTLAfterFinishedController,
  statefulset: newStatefulSetController,
  daemonset: newDaemonSetController,
  podgc: (ctx) => newPodGCController(ctx),
  endpoint: newEndpointsController,
  endpointslice: newEndpointSliceController,
  nodelifecycle: (ctx) => newNodeLifecycleController(ctx),
  'taint-eviction-controller': newTaintEvictionController,
  nodeipam: (ctx) => newNodeIpamController(ctx),
  disruption: newDisruptionController,
};

/** The controllers `*` enables. */
export const defaultControllers: string[] = Object.keys(controllerFactories);
