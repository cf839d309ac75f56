/** `skiff uncordon` (shares cordon's implementation). */
export { uncordonCommand as command } from './cordon.ts';
