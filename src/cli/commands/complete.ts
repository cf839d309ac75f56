/** `skiff __complete` (hidden; see completion.ts). */
export { completeCommand as command } from './completion.ts';
