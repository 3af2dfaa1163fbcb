/**
 * Check-then-send: the one activity attempt that asks the provider whether it already holds a movement
 * and sends it only if not (payout submission, bill payment). Written once for every kind that sends
 * money at most once.
 */
import { sleep } from '@temporalio/workflow';
import { PROVIDER_CHECK_UNAVAILABLE } from '../src/domain/errors';
import { activityFailureOf } from './activity-options';
import { nextDelay } from './timings';
import type { BackoffSchedule } from './timings';

/** How often a check-then-send activity is tried while the provider cannot be asked. */
export const CHECK_TRIES = 8;

export interface AskAgainOptions {
  /** The backoff between tries. */
  schedule: BackoffSchedule;
  /** Told before each wait, to put it on the timeline. */
  unavailable: () => void;
  /** How to wait `delayMs` between tries; a durable sleep unless the caller wants to stay responsive. */
  wait?: (delayMs: number) => Promise<void>;
}

/**
 * Runs `send` again while it fails with {@link PROVIDER_CHECK_UNAVAILABLE}: the provider could not even
 * be asked whether it holds the movement, so nothing was sent and trying again is safe. Any other
 * failure, or that one after {@link CHECK_TRIES} tries, is rethrown: the caller reads it as an unknown
 * outcome, never as grounds to send again.
 */
export async function askAgainWhileCheckUnavailable<T>(send: () => Promise<T>, options: AskAgainOptions): Promise<T> {
  const wait = options.wait ?? sleep;
  for (let tries = 1; ; tries++) {
    try {
      return await send();
    } catch (err) {
      const failure = activityFailureOf(err);
      if (failure?.type !== PROVIDER_CHECK_UNAVAILABLE || tries >= CHECK_TRIES) throw err;
      options.unavailable();
      await wait(nextDelay(options.schedule, tries - 1));
    }
  }
}
