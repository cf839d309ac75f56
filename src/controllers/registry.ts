/** The explicit map of built-in controllers (no registration by import side effect). */
import type { ControllerFactory } from './controller.ts';
import { newDeploymentController } from './deployment/deployment-controller.ts';
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
};

/** The controllers `*` enables. */
export const defaultControllers: string[] = Object.keys(controllerFactories);
