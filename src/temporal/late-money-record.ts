/**
 * Money a provider reports for a movement that closed without it, written into the movement's durable
 * late-money record (workflows/late-callback.ts), the one way both the API (a late success callback,
 * src/api/routes/callbacks.ts) and reconciliation (activities/reconciliation.ts) do it: a running record
 * is told, a record that completed having confirmed this very movement's money is left alone (read from
 * its completion, never from a query a worker may fail to answer), and any other (denied, unresolved,
 * terminated by an operator, about an earlier movement under the same id, or none) is (re)started.
 *
 * Two reports for the same closed movement may arrive together and both find no record. The start
 * therefore refuses a running record (conflict policy `FAIL`) instead of attaching to it: attaching
 * (`USE_EXISTING`) would return the record the other report started without this report ever reaching
 * it (a signed callback lost behind an unsigned one, while the provider was answered 200). The report
 * that loses the start is signalled to the winner's record. Never signal-with-start: the movement has
 * been found closed before this is called, and a record is only ever started with its first report.
 */
import type { Client } from '@temporalio/client';
import type { SearchAttributePair } from '@temporalio/common';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/client';
import type { ProviderCallbackEvent } from '../domain/callback';
import type { ProviderId } from '../domain/provider';
import type { lateCallbackWorkflow, LateCallbackState } from '../../workflows/late-callback';
import { providerCallbackSignal } from '../../workflows/messages';
import type { CalledBackMovementState } from '../../workflows/movement-state';
import type { WorkflowTimings } from '../../workflows/timings';

/**
 * The id of the record a late success callback leaves for a closed movement (workflows/late-callback.ts):
 * `<workflow id>:late` for money at the movement's own provider, `<workflow id>:late:<provider>` for
 * money at a provider a routed payment left (README "Routing").
 */
export function lateRecordIdOf(workflowId: string, leftProvider?: ProviderId): string {
  return leftProvider === undefined ? `${workflowId}:late` : `${workflowId}:late:${leftProvider}`;
}

export interface LateMoneyReport {
  recordId: string;
  movement: CalledBackMovementState;
  callback: ProviderCallbackEvent;
  timings: WorkflowTimings;
  taskQueue: string;
  /** The record's index: never the movement's kind, so a record is never listed as a second movement. */
  searchAttributes: SearchAttributePair[];
  summary: string;
  /** A deadline for each call to the server (the API answers providers within its own). */
  callTimeoutMs?: number;
}

/** What became of the report: told to a running record, already confirmed by one, or a record started. */
export type LateMoneyRecording = 'told' | 'already-recorded' | 'started';

/**
 * A record can close between this reading it and telling it, or start between this finding none and
 * starting one; each such change sends this round again. Past this many, the caller fails (the provider
 * retries its callback; Temporal retries the activity) rather than drop the report.
 */
const ROUNDS = 3;

export async function recordLateMoney(client: Client, report: LateMoneyReport): Promise<LateMoneyRecording> {
  const call = <T>(fn: () => Promise<T>): Promise<T> =>
    report.callTimeoutMs === undefined ? fn() : client.withDeadline(Date.now() + report.callTimeoutMs, fn);
  const record = client.workflow.getHandle(report.recordId);
  for (let round = 1; round <= ROUNDS; round++) {
    const description = await call(() => record.describe()).catch((err: unknown) => {
      if (err instanceof WorkflowNotFoundError) return undefined;
      throw err;
    });
    if (description?.status.name === 'RUNNING') {
      const told = await call(() => record.signal(providerCallbackSignal, report.callback)).then(
        () => true,
        (err: unknown) => {
          // It closed since it was described: read it again.
          if (err instanceof WorkflowNotFoundError) return false;
          throw err;
        }
      );
      if (told) return 'told';
      continue;
    }
    if (description?.status.name === 'COMPLETED') {
      // What it closed with, from the server's own record of its completion: a query would need a worker
      // to replay the closed record, and one that failed must not read as "nothing recorded" (a second
      // record would tell the merchant of the same money again). A read that fails fails the report.
      const closed = await call(() => record.result() as Promise<LateCallbackState>);
      if (confirmsThisMovement(closed, report.movement)) return 'already-recorded';
    }
    try {
      await call(() =>
        client.workflow.start<typeof lateCallbackWorkflow>('lateCallbackWorkflow', {
          workflowId: report.recordId,
          taskQueue: report.taskQueue,
          args: [{ movement: report.movement, callback: report.callback, timings: report.timings }],
          workflowIdConflictPolicy: 'FAIL',
          workflowIdReusePolicy: 'ALLOW_DUPLICATE',
          typedSearchAttributes: report.searchAttributes,
          staticSummary: report.summary,
        })
      );
      return 'started';
    } catch (err) {
      // Started meanwhile by another report: this one is told to it in the next round.
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    }
  }
  throw new Error(`the late-money record ${report.recordId} changed under every attempt to record a report`);
}

/**
 * A record that confirmed money for this very movement as it closed (not one about an earlier movement
 * under the same id, nor one confirmed before the movement was reset and closed otherwise): as GET reads
 * it (src/api/late-records.ts).
 */
function confirmsThisMovement(record: LateCallbackState, movement: CalledBackMovementState): boolean {
  return (
    record.status === 'LATE_CALLBACK' &&
    record.movementCreatedAt === movement.createdAt &&
    record.closedStatus === movement.status
  );
}
