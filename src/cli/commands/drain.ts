/** `skiff drain` (shares cordon's implementation). */
export { drainCommand as command } from './cordon.ts';
