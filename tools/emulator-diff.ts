/**
 * The float-simulator-vs-emulator diffs of the targets that have an emulator, in one place for the
 * library and `snnc diff` (each target owns its own: targets/<name>/diff.ts).
 */
export { diffLoihi } from '../targets/loihi/diff.js';
export { diffSpinnaker } from '../targets/spinnaker/diff.js';
export type { EmulatorDiff, LayerDiff } from '../targets/target.js';
