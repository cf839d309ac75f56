/** `skiff annotate`: kubectl annotate (shares label's implementation). */
export { annotateCommand as command } from './label.ts';
