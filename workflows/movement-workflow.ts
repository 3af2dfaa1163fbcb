/**
 * What the current payment, payout, bill and refund workflows share around the movement core: their input,
 * state and core, how a waiting loop takes a turn, how asks of the provider are counted, and the cursor
 * carried across continue-as-new. Each workflow class adds its own process on top.
 */
import type { ProviderCallbackEvent } from '../src/domain/callback';
import { setHandler } from '@temporalio/workflow';
import type { QueryDefinition, UpdateDefinition } from '@temporalio/common';
import { firstAnswer, Movement } from './movement';
import type { CallbackReader } from './movement';
import type { EarlierSubmission } from '../activities/earlier-runs';
import { askAgainWhileCheckUnavailable } from './check-then-send';
import type { Carried, MoneyMovementState, TimelineEntry } from './movement-state';
import { nextDelay } from './timings';
import type { BackoffSchedule, WorkflowTimings } from './timings';

/** The input every movement workflow takes: its timings, and what a previous run carried over. */
export interface MovementInput<S> {
  timings: WorkflowTimings;
  resume?: Carried<S>;
}

/** A caller's request the workflow serves later, and its answer once served (`error` when refused). */
export interface PendingRequest<R> {
  request: R;
  answer?: { error?: string };
}

export abstract class MovementWorkflow<
  S extends MoneyMovementState,
  I extends MovementInput<S>,
  O = unknown,
> implements CallbackReader {
  protected readonly input: I;
  protected readonly state: S;
  protected readonly movement: Movement<S>;
  /** Asks of the provider on the current schedule; carried across continue-as-new. */
  protected attempt: number;
  /** Asks of the provider in this run, which bound its history. */
  protected asksThisRun = 0;
  /** The end of a watch after closing, once one started; carried across continue-as-new. */
  protected watchUntil?: number;

  protected constructor(
    input: I,
    initialState: (input: I) => S,
    kind: S['kind'],
    rank: (status: S['status']) => number
  ) {
    this.input = input;
    this.state = input.resume?.state ?? initialState(input);
    this.movement = new Movement({ kind, rank, timings: input.timings }, this.state, input.resume);
    this.attempt = input.resume?.attempt ?? 0;
    this.watchUntil = input.resume?.watchUntil;
  }

  /**
   * Answers `stateQuery` with the state, and `firstAnswerUpdate` with it once `answered()` holds (the
   * movement has its first answer), for callers that wait for it.
   */
  protected answersState(
    stateQuery: QueryDefinition<S>,
    firstAnswerUpdate: UpdateDefinition<S, []>,
    answered: () => boolean
  ): void {
    setHandler(stateQuery, () => this.state);
    setHandler(firstAnswerUpdate, async () => {
      await firstAnswer(answered);
      return this.state;
    });
  }

  abstract applyVerified(event: ProviderCallbackEvent): boolean;

  /** The provider's word on this movement now (its status API); undefined when it could not be asked. */
  protected abstract askProvider(): Promise<O | undefined>;

  /** Applies the provider's word; the status ladder keeps it from moving the movement backwards. */
  protected abstract apply(outcome: O, source: TimelineEntry['source']): void;

  /**
   * A hint, or a callback not taken at face value: one ask of the provider, whose word is applied;
   * false when the provider could not be asked.
   */
  async confirm(): Promise<boolean> {
    const outcome = await this.askProvider();
    if (outcome) this.apply(outcome, 'callback');
    return outcome !== undefined;
  }

  /**
   * The watch after an operator's resolution (payouts, bills): asks the provider on `schedule` while
   * `watching()` holds, for `windowMs` from its start (carried across continue-as-new), applying its word.
   */
  protected async watchAfterResolution(how: {
    windowMs: number;
    schedule: BackoffSchedule;
    watching: () => boolean;
    source: TimelineEntry['source'];
  }): Promise<void> {
    this.watchUntil ??= Date.now() + how.windowMs;
    let queryAt = Date.now() + nextDelay(how.schedule, this.attempt);
    const watching = () => how.watching() && Date.now() < this.watchUntil!;
    while (watching()) {
      await this.takeTurn(Math.min(queryAt, this.watchUntil));
      if (watching() && Date.now() >= queryAt) {
        const outcome = await this.askProvider();
        if (outcome) this.apply(outcome, how.source);
        queryAt = this.counted(how.schedule);
      }
      if (watching()) await this.continueAsNewIfDue();
    }
  }

  /** One turn of a waiting loop: wait until `wakeAt` or for work, serve requests, read callbacks. */
  protected async takeTurn(wakeAt: number): Promise<void> {
    await this.movement.waitForWork(wakeAt);
    await this.movement.serveRequests();
    await this.movement.readCallbacks(this);
  }

  /** Counts one ask of the provider; returns when the next is due on `schedule` (epoch ms). */
  protected counted(schedule: BackoffSchedule): number {
    this.attempt++;
    this.asksThisRun++;
    return Date.now() + nextDelay(schedule, this.attempt);
  }

  /**
   * True, and noted, when a verified callback names a provider reference other than the one this
   * movement knows (`known`): it is then not taken at face value but confirmed by asking the provider.
   */
  protected namesOtherReference(named: string | undefined, known: string | undefined, confirmedBy: string): boolean {
    if (!named || !known || named === known) return false;
    this.movement.note('callback', `callback names provider reference ${named}; confirming by ${confirmedBy}`);
    return true;
  }

  /**
   * Runs a check-then-send activity, asked again while the provider cannot even be asked whether it
   * holds this movement (nothing was sent then), each time noted on the timeline. What the provider
   * already holds, or what a run a reset replaced already sent, is adopted (by `adopter`) and nothing comes
   * back; otherwise the provider's answer to the one sending does. After the last try, its failure is
   * the caller's to read as an unknown outcome.
   */
  protected async sendUnlessHeld<H, A extends object>(
    send: () => Promise<{ held: H } | { earlier: EarlierSubmission } | A>,
    adopter: { adoptHeld(held: H): void; adoptEarlierRun(earlier: EarlierSubmission): void },
    how: { schedule: BackoffSchedule; source: TimelineEntry['source']; what: string }
  ): Promise<A | undefined> {
    const answer = await askAgainWhileCheckUnavailable(send, {
      schedule: how.schedule,
      unavailable: () =>
        this.movement.note(
          how.source,
          `the provider could not be asked whether it holds this ${how.what}; nothing sent, asking again`
        ),
    });
    if ('held' in answer) adopter.adoptHeld(answer.held);
    else if ('earlier' in answer) adopter.adoptEarlierRun(answer.earlier);
    else return answer;
    return undefined;
  }

  protected async continueAsNewIfDue(): Promise<void> {
    await this.movement.continueAsNewIfDue(this.asksThisRun, (carried) => this.nextRun(carried), this.cursor());
  }

  /** Closes the movement out: everything delivered and answered, or continued as new to finish that. */
  protected closeOut(): Promise<S> {
    return this.movement.closeOut(this, (carried) => this.nextRun(carried), this.cursor());
  }

  private cursor(): { attempt: number; watchUntil?: number } {
    return { attempt: this.attempt, watchUntil: this.watchUntil };
  }

  private nextRun(carried: Carried<S>): [I] {
    return [{ ...this.input, resume: carried }];
  }
}
