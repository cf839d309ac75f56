/** The controller manager's public surface, for the composition root (`skiff server`, `skiff controller-manager`). */
export { controllerManagerLease, resolveControllers, startControllerManager } from './manager.ts';
export type { ControllerManagerOptions, RunningControllerManager } from './manager.ts';
export type { Controller, ControllerContext, ControllerFactory, ReconcileResult } from './controller.ts';
export { controllerFactories, defaultControllers } from './registry.ts';
