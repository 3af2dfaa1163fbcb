/**
 * Which patches an execution runs with. A movement workflow reads its consolidated patch once, as the
 * very first thing it does (`readPatches`); after that, `inForce(id)` is true for every patch that
 * consolidation covers, without a marker of its own, and asks `patched(id)` for any other. An execution
 * recorded before the consolidation finds no marker for it on replay and goes on patch by patch, as
 * it was recorded.
 *
 * What an execution's consolidation covers is kept in the execution's own globals, not in this module:
 * the worker evaluates Kasir's workflow modules once per V8 context and shares them between executions
 * (`preloadModules`, src/worker.ts), while the SDK swaps each execution's globals in and out of that
 * context around every activation, so a global is the one place that is the execution's alone.
 */
import { patched } from '@temporalio/workflow';
import { CONSOLIDATED_PATCHES } from './patches';

const COVERED = Symbol.for('kasir.patchesCoveredByConsolidation');

/** The running execution's globals, where its covered patches are kept. */
const execution = (): { [COVERED]?: ReadonlySet<string> } => globalThis as { [COVERED]?: ReadonlySet<string> };

/**
 * Reads the execution's consolidated patch. Called first in the workflow function, before any other
 * patch is read, so that a replay meets its marker exactly where the first execution recorded it.
 */
export function readPatches(): void {
  const consolidation = CONSOLIDATED_PATCHES.find((candidate) => patched(candidate.id));
  execution()[COVERED] = new Set(consolidation?.covers ?? []);
}

/** Whether `patchId` is in force for this execution (Temporal's `patched`, through the consolidation). */
export function inForce(patchId: string): boolean {
  return execution()[COVERED]?.has(patchId) === true || patched(patchId);
}
