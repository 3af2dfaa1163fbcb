/**
 * Which patches an execution runs with. A movement workflow reads its consolidated patch once, as the
 * very first thing it does (`readPatches`); after that, `inForce(id)` is true for every patch that
 * consolidation covers, without a marker of its own, and asks `patched(id)` for any other. An execution
 * recorded before the consolidation finds no marker for it on replay and goes on patch by patch, as
 * it was recorded. Module state is per workflow execution: the SDK gives each workflow its own module
 * cache, even in a reused V8 context.
 */
import { patched } from '@temporalio/workflow';
import { CONSOLIDATED_PATCHES } from './patches';

let covered: ReadonlySet<string> | undefined;

/**
 * Reads the execution's consolidated patch. Called first in the workflow function, before any other
 * patch is read, so that a replay meets its marker exactly where the first execution recorded it.
 */
export function readPatches(): void {
  covered = new Set();
  for (const consolidation of CONSOLIDATED_PATCHES) {
    if (patched(consolidation.id)) {
      covered = new Set(consolidation.covers);
      return;
    }
  }
}

/** Whether `patchId` is in force for this execution (Temporal's `patched`, through the consolidation). */
export function inForce(patchId: string): boolean {
  return covered?.has(patchId) === true || patched(patchId);
}
