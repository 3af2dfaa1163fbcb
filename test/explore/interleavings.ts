/**
 * Property-based interleaving exploration of Kasir's money movements on the real stack (one Temporal dev
 * server, real worker and activities, the provider simulators, the merchant webhook sink).
 *
 * A generated *sequence* targets one movement (a Finpay or BDPay payment, a BDPay payout or an Ayopop
 * bill), chooses how the provider answers its creation, then interleaves steps: provider callbacks
 * (genuine, hint, duplicate, stale, forged, late), simulator actions (pay, settle, fail, expire), updates
 * raced against a bound (cancel, resolve, confirm), worker kill and restart, a reset to a random
 * WorkflowTaskCompleted event, the merchant endpoint going down, status-check outages and waits. Each
 * sequence ends by driving the movement to a closed state, then the invariants below are checked
 * against the simulators' own view of the money and the webhooks the merchant received.
 *
 * Used by `interleavings.test.ts` (a fixed-seed subset under `npm test`) and `scripts/explore.ts`
 * (`npm run explore -- --runs 2000 --seed X`). Documented in docs/explore.md.
 */
import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { WithStartWorkflowOperation } from '@temporalio/client';
import type { WorkflowHandle } from '@temporalio/client';
import fc from 'fast-check';
import { toParsedCallback as bdpayParsedCallback } from '../../src/connectors/bdpay/mapping';
import { toPaymentOutcome as finpayPaymentOutcome, toWib } from '../../src/connectors/finpay/mapping';
import { billStatusRank } from '../../src/domain/bill';
import type { BillStatus } from '../../src/domain/bill';
import type { ProviderCallbackEvent } from '../../src/domain/callback';
import type { PaymentMethod, PaymentStatus } from '../../src/domain/payment';
import { paymentStatusRank } from '../../src/domain/payment';
import type { PayoutStatus } from '../../src/domain/payout';
import { payoutStatusRank } from '../../src/domain/payout';
import type { ProviderId } from '../../src/domain/provider';
import { deriveId, requestFingerprint, workflowIdOf } from '../../src/ids';
import { billWorkflow, paymentWorkflow, payoutWorkflow } from '../../workflows';
import { billTotalOf } from '../../src/domain/bill';
import {
  billInquiredUpdate,
  billStateQuery,
  cancelPaymentUpdate,
  confirmBillPaymentUpdate,
  paymentRegisteredUpdate,
  paymentStateQuery,
  payoutStateQuery,
  payoutSubmittedUpdate,
  providerCallbackSignal,
  resolvePayoutUpdate,
} from '../../workflows/messages';
import type { WorkflowTimings } from '../../workflows/timings';
import type { MoneyMovementState } from '../../workflows/movement-state';
import { startStack } from '../helpers/stack';
import type { ReceivedWebhook, TestStack } from '../helpers/stack';

// ---------------------------------------------------------------------------------------------------
// Timings and bounds
// ---------------------------------------------------------------------------------------------------

/**
 * Short windows so a sequence closes within seconds, and `pollsPerRun: 2` / `historyEventsPerRun: 60`
 * so runs continue as new often, mid-sequence.
 */
export const EXPLORE_TIMINGS: WorkflowTimings = {
  payment: {
    registrationRetry: { initialMs: 150, maxMs: 600, factor: 2, attempts: 3 },
    poll: { initialMs: 400, maxMs: 1_200, factor: 1.5 },
    lateWindowMs: 1_500,
    latePoll: { initialMs: 300, maxMs: 600, factor: 2 },
  },
  payout: {
    query: { initialMs: 300, maxMs: 1_000, factor: 1.5 },
    attentionAfterMs: 1_500,
    watchAfterOperatorFailureMs: 1_500,
  },
  bill: {
    confirmWindowMs: 5_000,
    firstStatusCheckMs: 600,
    statusPoll: { initialMs: 300, maxMs: 1_000, factor: 1.5 },
    attentionAfterMs: 3_000,
  },
  webhook: { initialIntervalMs: 100, maxIntervalMs: 400 },
  pollsPerRun: 2,
  historyEventsPerRun: 60,
  hintMinIntervalMs: 200,
};

/** Connector HTTP timeout on this stack: a `slow` fault past it is a client timeout (outcome unknown). */
export const CONNECTOR_TIMEOUT_MS = 1_500;
/** How long Kasir considers an Ayopop inquiry payable (the simulator's own TTL is longer). */
export const INQUIRY_TTL_MS = 5_000;
/** Every update (and the creation's update-with-start) must complete or be rejected within this. */
export const UPDATE_BOUND_MS = 20_000;
/** Every run of a chain: at most twice the events after which a run continues as new. */
export const HISTORY_BOUND = 2 * EXPLORE_TIMINGS.historyEventsPerRun!;
/** A closed-without-money event emitted this long after the provider moved the money is a violation. */
export const STALE_CLOSE_TOLERANCE_MS = 500;
/** How long the finale may take to close a movement. */
/**
 * How long the finale may take to close a movement: a worker restart can lose a workflow task (10 s
 * task timeout) and an activity task (30 s start-to-close) before the windows above run out.
 */
const FINALE_DEADLINE_MS = 60_000;

const SLOW_OK_MS = 300;
const SLOW_TIMEOUT_MS = 2_500;

/**
 * Scripted accounts and a product of the Ayopop simulator (its `AYOPOP_SIM_ACCOUNTS` catalogue), by
 * value so this file does not depend on where the simulators live.
 */
const AYOPOP_SIM_ACCOUNTS = {
  /** Payment 299, then 0 with a token by itself (almost at once at the stack's time scale). */
  succeeds: '530000000001',
  /** Payment answers 0 at once. */
  succeedsImmediately: '530000000002',
  /** Payment 299, then failed with the deposit refunded, by itself. */
  failsAfterProcessing: '530000000003',
  /** Payment 299 until `/_sim/orders/:ref/succeed` or `/fail`. */
  staysProcessing: '530000000004',
  /** Payment refused: 313 (inquiry and payment details differ). */
  paymentMismatch: '530000000313',
} as const;
const AYOPOP_PLN_POSTPAID = 'PLNPOST';

function uniqueReference(prefix: string): string {
  return `${prefix}-${randomUUID().replaceAll('-', '').slice(0, 10)}`;
}

// ---------------------------------------------------------------------------------------------------
// What is generated
// ---------------------------------------------------------------------------------------------------

export const TARGETS = ['finpay-payment', 'bdpay-payment', 'bdpay-payout', 'ayopop-bill'] as const;
export type Target = (typeof TARGETS)[number];

export const CREATIONS = [
  'normal',
  'declined',
  'unknown',
  'http-5xx',
  'accept-then-drop',
  'slow',
  'slow-timeout',
  'drop',
] as const;
export type Creation = (typeof CREATIONS)[number];

export type CallbackVariant =
  'genuine' | 'hint' | 'duplicate' | 'stale' | 'forged-provider' | 'forged-amount' | 'forged-reference' | 'late';

/** `pay` is pay (payments), settle (payouts) or succeed (bills); `expire` expires the order or the bill's inquiry. */
export type SimAction = 'pay' | 'fail' | 'expire';

export type Step =
  | { kind: 'callback'; variant: CallbackVariant; pick: number }
  | { kind: 'sim'; action: SimAction; notify: boolean }
  | { kind: 'cancel' }
  | { kind: 'resolve'; outcome: 'SUCCEEDED' | 'FAILED'; force: boolean }
  | { kind: 'confirm'; wrongTotal: boolean }
  | { kind: 'restart-worker'; downMs: number }
  | { kind: 'reset'; pick: number }
  | { kind: 'merchant-down'; failures: number }
  | { kind: 'status-outage'; count: number }
  | { kind: 'wait'; ms: number };

export interface Sequence {
  target: Target;
  creation: Creation;
  /** Payments: the method; bills: the Ayopop simulator account (its scripted behaviour). */
  method?: PaymentMethod;
  account?: string;
  /** Payments: minutes until expiry (the simulators scale them by 0.001, Finpay's expiry with them). */
  expiresInMinutes?: number;
  /** Whether the steps wait for the creation's answer, or race it. */
  awaitCreation: boolean;
  steps: Step[];
  /** How the finale closes a movement still open: with the money moving, or without. */
  finale: 'money' | 'no-money';
}

export function stepLabel(step: Step): string {
  switch (step.kind) {
    case 'callback':
      return `callback:${step.variant}`;
    case 'sim':
      return `sim:${step.action}`;
    case 'resolve':
      return `update:resolve${step.force ? '-force' : ''}`;
    case 'cancel':
      return 'update:cancel';
    case 'confirm':
      return `update:confirm${step.wrongTotal ? '-wrong-total' : ''}`;
    case 'restart-worker':
    case 'reset':
    case 'merchant-down':
    case 'status-outage':
    case 'wait':
      return step.kind;
  }
}

/** A position in [0, 1), e.g. which earlier callback to repeat or which workflow task to reset to. */
const unit = fc.integer({ min: 0, max: 99 }).map((n) => n / 100);

function callbackArb(): fc.Arbitrary<Step> {
  return fc.record({
    kind: fc.constant('callback' as const),
    variant: fc.constantFrom<CallbackVariant>(
      'genuine',
      'hint',
      'duplicate',
      'stale',
      'forged-provider',
      'forged-amount',
      'forged-reference',
      'late'
    ),
    pick: unit,
  });
}

function commonSteps(): fc.Arbitrary<Step>[] {
  return [
    callbackArb(),
    callbackArb(),
    fc.record({ kind: fc.constant('restart-worker' as const), downMs: fc.integer({ min: 0, max: 1_000 }) }),
    fc.record({ kind: fc.constant('reset' as const), pick: unit }),
    fc.record({ kind: fc.constant('merchant-down' as const), failures: fc.integer({ min: 1, max: 4 }) }),
    fc.record({ kind: fc.constant('status-outage' as const), count: fc.integer({ min: 1, max: 3 }) }),
    fc.record({ kind: fc.constant('wait' as const), ms: fc.integer({ min: 50, max: 1_500 }) }),
  ];
}

export function stepArb(target: Target): fc.Arbitrary<Step> {
  const actions: SimAction[] = target === 'bdpay-payout' ? ['pay', 'fail'] : ['pay', 'fail', 'expire'];
  const sim = fc.record({
    kind: fc.constant('sim' as const),
    action: fc.constantFrom(...actions),
    notify: fc.boolean(),
  });
  const updates: fc.Arbitrary<Step>[] = [];
  if (target === 'finpay-payment' || target === 'bdpay-payment') updates.push(fc.constant({ kind: 'cancel' as const }));
  if (target === 'bdpay-payout') {
    updates.push(
      fc.record({
        kind: fc.constant('resolve' as const),
        outcome: fc.constantFrom('SUCCEEDED' as const, 'FAILED' as const),
        force: fc.boolean(),
      })
    );
  }
  if (target === 'ayopop-bill')
    updates.push(
      fc.record({
        kind: fc.constant('confirm' as const),
        wrongTotal: fc.integer({ min: 0, max: 4 }).map((n) => n === 0),
      })
    );
  return fc.oneof(sim, sim, ...updates, ...updates, ...commonSteps());
}

function creationsFor(target: Target): Creation[] {
  // Only BDPay has an `unknown` answer fault (`/_sim/response-faults`).
  return target === 'bdpay-payment' || target === 'bdpay-payout'
    ? [...CREATIONS]
    : CREATIONS.filter((c) => c !== 'unknown');
}

export function sequenceArb(options: { maxSteps?: number; targets?: readonly Target[] } = {}): fc.Arbitrary<Sequence> {
  const maxSteps = options.maxSteps ?? 8;
  return fc
    .constantFrom(...(options.targets ?? TARGETS))
    .chain((target) =>
      fc.record({
        target: fc.constant(target),
        creation: fc.constantFrom(...creationsFor(target)),
        method: fc.constantFrom<PaymentMethod>(
          ...(target === 'finpay-payment'
            ? (['FINPAY_CODE', 'VA_BCA', 'QRIS'] as const)
            : (['VA_BCA', 'QRIS'] as const))
        ),
        account: fc.constantFrom(
          AYOPOP_SIM_ACCOUNTS.staysProcessing,
          AYOPOP_SIM_ACCOUNTS.staysProcessing,
          AYOPOP_SIM_ACCOUNTS.succeeds,
          AYOPOP_SIM_ACCOUNTS.failsAfterProcessing,
          AYOPOP_SIM_ACCOUNTS.succeedsImmediately
        ),
        expiresInMinutes: fc.constantFrom(...(target === 'finpay-payment' ? [40, 60, 90] : [15, 30, 60])),
        awaitCreation: fc.boolean(),
        steps: fc.array(stepArb(target), { minLength: 1, maxLength: maxSteps }),
        finale: fc.constantFrom('money' as const, 'no-money' as const),
      })
    )
    .map((s) => {
      const seq: Sequence = {
        target: s.target,
        creation: s.creation,
        awaitCreation: s.awaitCreation,
        steps: s.steps,
        finale: s.finale,
      };
      if (s.target === 'finpay-payment' || s.target === 'bdpay-payment') {
        seq.method = s.method;
        seq.expiresInMinutes = s.expiresInMinutes;
      }
      if (s.target === 'ayopop-bill') seq.account = s.account;
      return seq;
    });
}

export function describeSequence(seq: Sequence): string {
  const extra = seq.method ? ` ${seq.method} ${seq.expiresInMinutes}min` : seq.account ? ` account ${seq.account}` : '';
  return `${seq.target}${extra} creation=${seq.creation}${seq.awaitCreation ? ' (awaited)' : ''} [${seq.steps.map(stepDetail).join(', ')}] finale=${seq.finale}`;
}

function stepDetail(step: Step): string {
  switch (step.kind) {
    case 'callback':
      return `callback:${step.variant}`;
    case 'sim':
      return `sim:${step.action}${step.notify ? '+callback' : ''}`;
    case 'resolve':
      return `resolve(${step.outcome}${step.force ? ',force' : ''})`;
    case 'cancel':
      return 'cancel';
    case 'confirm':
      return step.wrongTotal ? 'confirm(wrong total)' : 'confirm';
    case 'restart-worker':
      return `restart-worker(${step.downMs}ms down)`;
    case 'reset':
      return `reset(${step.pick.toFixed(2)})`;
    case 'merchant-down':
      return `merchant-down(${step.failures})`;
    case 'status-outage':
      return `status-outage(${step.count})`;
    case 'wait':
      return `wait(${step.ms}ms)`;
  }
}

// ---------------------------------------------------------------------------------------------------
// What is checked
// ---------------------------------------------------------------------------------------------------

export const PROPERTIES = [
  'single-submission',
  'merchant-money',
  'callback-not-lost',
  'update-bound',
  'status-monotonic',
  'event-id-stable',
  'history-bound',
  'closes',
] as const;
export type Property = (typeof PROPERTIES)[number];

export interface Violation {
  property: Property;
  detail: string;
}

export interface RunInfo {
  runId: string;
  status: string;
  historyLength: number;
}

export interface SequenceReport {
  sequence: Sequence;
  id: string;
  workflowId: string;
  durationMs: number;
  /** Kasir's final status, or `open:<status>` when it could not be closed. */
  finalStatus: string;
  needsAttention?: boolean;
  attentionReason?: string;
  /** The simulator's final word on the money. */
  providerView: string;
  runs: RunInfo[];
  /** Steps as executed: a label, and what happened (`skipped: ...` when the step had nothing to act on). */
  executed: { label: string; outcome: string }[];
  updates: UpdateRecord[];
  webhooks: string[];
  violations: Violation[];
  /** Observations that are not violations (e.g. money moved after the movement closed). */
  notes: string[];
}

export interface UpdateRecord {
  label: string;
  startedAt: number;
  durationMs?: number;
  outcome: 'completed' | 'rejected' | 'timeout' | 'pending';
  detail?: string;
}

// ---------------------------------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------------------------------

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function withTimeout<T>(
  promise: Promise<T>,
  ms: number
): Promise<{ ok: true; value: T } | { ok: false; error: unknown; timedOut: boolean }> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<{ ok: false; error: unknown; timedOut: boolean }>((resolve) => {
    timer = setTimeout(() => resolve({ ok: false, error: new Error(`no answer within ${ms} ms`), timedOut: true }), ms);
  });
  try {
    return await Promise.race([
      promise.then(
        (value) => ({ ok: true as const, value }),
        (error: unknown) => ({ ok: false as const, error, timedOut: false })
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

function errorText(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = (err as { cause?: unknown }).cause;
  return cause instanceof Error ? `${err.message}: ${cause.message}` : err.message;
}

async function simPost(baseUrl: string, path: string, body: unknown = {}): Promise<{ status: number; json: unknown }> {
  const response = await fetch(`${baseUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = text;
  }
  return { status: response.status, json };
}

async function simGetOptional<T>(baseUrl: string, path: string): Promise<T | undefined> {
  const response = await fetch(`${baseUrl}${path}`);
  if (response.status === 404) return undefined;
  if (!response.ok) throw new Error(`simulator ${path} answered ${response.status}`);
  return (await response.json()) as T;
}

async function simDelete(baseUrl: string, path: string): Promise<void> {
  await fetch(`${baseUrl}${path}`, { method: 'DELETE' });
}

function kindOf(target: Target): 'payment' | 'payout' | 'bill' {
  return target === 'bdpay-payout' ? 'payout' : target === 'ayopop-bill' ? 'bill' : 'payment';
}

function providerOf(target: Target): ProviderId {
  return target === 'finpay-payment' ? 'finpay' : target === 'ayopop-bill' ? 'ayopop' : 'bdpay';
}

/** The ladder of each kind, as the brief and the workflows use it (REGISTERING below PENDING). */
export function rankOf(kind: 'payment' | 'payout' | 'bill', status: string): number {
  switch (kind) {
    case 'payment':
      return status === 'REGISTERING' ? -1 : paymentStatusRank(status as PaymentStatus);
    case 'payout':
      return payoutStatusRank(status as PayoutStatus);
    case 'bill':
      return billStatusRank(status as BillStatus);
  }
}

const MONEY_STATUSES: Record<'payment' | 'payout' | 'bill', readonly string[]> = {
  payment: ['SUCCEEDED', 'AMOUNT_MISMATCH', 'REFUNDED'],
  payout: ['SUCCEEDED', 'AMOUNT_MISMATCH'],
  bill: ['SUCCEEDED', 'AMOUNT_MISMATCH'],
};
const NO_MONEY_EVENT = /\.(failed|expired|cancelled)$/;

function isClosed(kind: 'payment' | 'payout' | 'bill', status: string): boolean {
  return kind === 'payment'
    ? rankOf(kind, status) >= 1
    : kind === 'payout'
      ? payoutStatusRank(status as PayoutStatus) >= 3
      : billStatusRank(status as BillStatus) >= 3;
}

// ---------------------------------------------------------------------------------------------------
// The simulators' view of the money
// ---------------------------------------------------------------------------------------------------

interface ProviderView {
  exists: boolean;
  /** Still payable / settleable. */
  open: boolean;
  moneyMoved: boolean;
  /** When the money moved (epoch ms), when it did. */
  movedAt?: number;
  label: string;
  raw?: Record<string, unknown>;
}

interface FinpaySimOrder {
  id: string;
  reference: string;
  amount: number;
  status: string;
  statusDesc: string | null;
  createdAt: string;
  updatedAt: string;
  type: string;
  paymentCode?: string;
}
interface BdpaySimOrder {
  orderNum: string;
  platOrderNum: string;
  payMoney: number;
  payFee: number;
  status: string;
  paidAt?: string;
  method?: string;
  email: string;
  name: string;
  vaNumber?: string;
}
interface BdpaySimPayout {
  orderNum: string;
  platOrderNum: string;
  money: number;
  fee: number;
  feeType: string;
  bankCode: string;
  number: string;
  name: string;
  description: string;
  status: string;
  statusMsg: string;
  finishedAt?: string;
}
interface AyopopSimOrder {
  refNumber: string;
  transactionId: number;
  amount: number;
  responseCode: number;
  debited: number;
  refunded: boolean;
  token: string;
  paidAt?: string;
}

// ---------------------------------------------------------------------------------------------------
// The explorer: one stack, sequences run one after another
// ---------------------------------------------------------------------------------------------------

export interface ExploreStats {
  sequences: number;
  /** Sequences fast-check ran while shrinking a counterexample (also counted in `sequences`). */
  shrinkSequences: number;
  targets: Record<string, number>;
  creations: Record<string, number>;
  steps: Record<string, number>;
  skippedSteps: Record<string, number>;
  finalStatuses: Record<string, number>;
  updateOutcomes: Record<string, number>;
  violations: Record<string, number>;
  /** Sequences with a note (e.g. money moved after the movement closed), not violations. */
  notes: number;
  runsPerChain: { total: number; max: number };
  maxHistoryLength: number;
  continuedAsNew: number;
  resets: number;
  durationMs: number;
}

function bump(map: Record<string, number>, key: string, by = 1): void {
  map[key] = (map[key] ?? 0) + by;
}

export function emptyStats(): ExploreStats {
  return {
    sequences: 0,
    shrinkSequences: 0,
    targets: {},
    creations: {},
    steps: {},
    skippedSteps: {},
    finalStatuses: {},
    updateOutcomes: {},
    violations: {},
    notes: 0,
    runsPerChain: { total: 0, max: 0 },
    maxHistoryLength: 0,
    continuedAsNew: 0,
    resets: 0,
    durationMs: 0,
  };
}

export interface ExplorerOptions {
  /** Called after every sequence (progress lines). */
  onSequence?: (report: SequenceReport, index: number) => void;
}

/** Temporal's WARN lines for the faults we inject on purpose (activity failures, lost tasks), counted and dropped. */
export function quietExpectedTemporalWarnings(): { suppressed: () => number; restore: () => void } {
  if (process.env.EXPLORE_VERBOSE === '1') return { suppressed: () => 0, restore: () => undefined };
  const original = process.stderr.write.bind(process.stderr);
  let suppressed = 0;
  const filtered = (chunk: unknown, ...rest: unknown[]): boolean => {
    const text = typeof chunk === 'string' ? chunk : Buffer.isBuffer(chunk) ? chunk.toString('utf8') : '';
    if (/\[WARN\]|\bWARN\b.*temporalio|temporalio_sdk_core/.test(text.slice(0, 400))) {
      suppressed++;
      return true;
    }
    return (original as (...args: unknown[]) => boolean)(chunk, ...rest);
  };
  process.stderr.write = filtered;
  return { suppressed: () => suppressed, restore: () => void (process.stderr.write = original) };
}

export class InterleavingExplorer {
  readonly stats = emptyStats();
  private worker?: { stop(): Promise<void> };
  private workerCount = 0;
  private shrinking = false;
  private readonly started = Date.now();

  private constructor(
    readonly stack: TestStack,
    private readonly options: ExplorerOptions
  ) {}

  static async start(options: ExplorerOptions = {}): Promise<InterleavingExplorer> {
    const stack = await startStack({ timings: EXPLORE_TIMINGS, startWorker: false });
    // The stack's connectors answer in 10 s by default; a shorter timeout makes `slow-timeout` a client
    // timeout within a sequence. Workers build their connectors from this config when they start.
    for (const provider of Object.keys(stack.config.providers) as ProviderId[]) {
      (stack.config.providers[provider] as { timeoutMs: number }).timeoutMs = CONNECTOR_TIMEOUT_MS;
    }
    (stack.config.providers.ayopop as { inquiryTtlMs?: number }).inquiryTtlMs = INQUIRY_TTL_MS;
    const explorer = new InterleavingExplorer(stack, options);
    await explorer.startWorker();
    return explorer;
  }

  async stop(): Promise<void> {
    await this.stack.stop();
  }

  /** Marks the following sequences as fast-check's shrinking runs (for the statistics). */
  markShrinking(): void {
    this.shrinking = true;
  }

  private async startWorker(): Promise<void> {
    this.worker = await this.stack.startWorker(`explore-worker-${++this.workerCount}`);
  }

  async restartWorker(downMs: number): Promise<void> {
    const current = this.worker;
    this.worker = undefined;
    await current?.stop();
    await sleep(downMs);
    await this.startWorker();
  }

  /** Runs one sequence to the end and returns what happened, with every violation found. */
  async run(seq: Sequence): Promise<SequenceReport> {
    const run = new SequenceRun(this, seq);
    const report = await run.execute();
    this.record(report);
    this.options.onSequence?.(report, this.stats.sequences);
    return report;
  }

  private record(report: SequenceReport): void {
    const s = this.stats;
    s.sequences++;
    if (this.shrinking) s.shrinkSequences++;
    bump(s.targets, report.sequence.target);
    bump(s.creations, `${report.sequence.target}:${report.sequence.creation}`);
    for (const step of report.executed) {
      if (step.label === 'creation' || step.label === 'finale') continue;
      bump(s.steps, step.label);
      if (step.outcome.startsWith('skipped')) bump(s.skippedSteps, step.label);
    }
    bump(
      s.finalStatuses,
      `${kindOf(report.sequence.target)} ${report.finalStatus}${report.needsAttention ? ' (needs attention)' : ''}`
    );
    for (const u of report.updates) bump(s.updateOutcomes, `${u.label}: ${u.outcome}`);
    for (const v of new Set(report.violations.map((x) => x.property))) bump(s.violations, v);
    if (report.notes.length > 0) s.notes++;
    s.runsPerChain.total += report.runs.length;
    s.runsPerChain.max = Math.max(s.runsPerChain.max, report.runs.length);
    for (const r of report.runs) {
      s.maxHistoryLength = Math.max(s.maxHistoryLength, r.historyLength);
      if (r.status === 'CONTINUED_AS_NEW') s.continuedAsNew++;
    }
    s.resets += report.executed.filter((e) => e.label === 'reset' && e.outcome.startsWith('reset')).length;
    s.durationMs = Date.now() - this.started;
  }
}

// ---------------------------------------------------------------------------------------------------
// One sequence
// ---------------------------------------------------------------------------------------------------

interface Signalled {
  event: ProviderCallbackEvent;
  /** A genuine callback (the provider's word, as the simulator holds it): what it says about the money. */
  genuine?: 'money' | 'no-money';
  label: string;
}

class SequenceRun {
  private readonly stack: TestStack;
  private readonly kind: 'payment' | 'payout' | 'bill';
  private readonly provider: ProviderId;
  private readonly merchantReference = uniqueReference('xplr');
  readonly id: string;
  readonly workflowId: string;
  private readonly handle: WorkflowHandle;
  private readonly executed: { label: string; outcome: string }[] = [];
  private readonly updates: UpdateRecord[] = [];
  private readonly pending: Promise<unknown>[] = [];
  private readonly signalled: Signalled[] = [];
  private readonly violations: Violation[] = [];
  private creationState?: MoneyMovementState;
  /** Payout declined at creation (balance 0): submissions the provider refused, counted when the balance came back. */
  private refusedSubmissions = 0;
  private balanceToRestore?: number;
  /** An operator resolution applied with force: the finale keeps the provider consistent with it when it can. */
  private forcedOutcome?: 'SUCCEEDED' | 'FAILED';
  private confirmSent = false;
  private readonly amount: number;
  /** Aborts the client calls still waiting (updates past their bound) when the sequence ends. */
  private readonly abort = new AbortController();

  constructor(
    private readonly explorer: InterleavingExplorer,
    private readonly seq: Sequence
  ) {
    this.stack = explorer.stack;
    this.kind = kindOf(seq.target);
    this.provider = providerOf(seq.target);
    this.id = deriveId(this.kind, this.stack.merchants[0]!.id, this.merchantReference);
    this.workflowId = workflowIdOf(this.kind, this.id);
    this.handle = this.stack.client.workflow.getHandle(this.workflowId);
    this.amount = this.kind === 'payout' ? 250_000 : 150_000;
    setMaxListeners(0, this.abort.signal);
  }

  private get url(): string {
    return this.stack.simulators[this.provider].url;
  }

  async execute(): Promise<SequenceReport> {
    const started = Date.now();
    let finalState: MoneyMovementState | undefined;
    let finalStatus = 'unknown';
    try {
      await this.create();
      for (const step of this.seq.steps) {
        const outcome = await this.step(step).catch((err: unknown) => `error: ${errorText(err)}`);
        this.executed.push({ label: stepLabel(step), outcome });
      }
      const closed = await this.finale();
      finalState = closed.state;
      finalStatus = closed.closed ? (finalState?.status ?? 'unknown') : `open:${finalState?.status ?? 'unknown'}`;
      // Every update has settled (or hit its bound) before the checks.
      await Promise.allSettled(this.pending);
      await this.check(finalState, closed.closed, closed.byDesign);
    } finally {
      await this.cleanup();
    }
    const providerView = await this.providerView().catch(() => undefined);
    return {
      sequence: this.seq,
      id: this.id,
      workflowId: this.workflowId,
      durationMs: Date.now() - started,
      finalStatus,
      needsAttention: finalState?.needsAttention,
      attentionReason: finalState?.attentionReason,
      providerView: providerView?.label ?? 'unknown',
      runs: this.runs,
      executed: this.executed,
      updates: this.updates,
      webhooks: this.stack.webhooks
        .eventsFor(this.id)
        .map((e) => `${e.id.split(':').slice(-2).join(':')} ${e.type} ${e.data.status}`),
      violations: this.violations,
      notes: this.notes,
    };
  }

  private runs: RunInfo[] = [];

  // ---- creation -------------------------------------------------------------------------------------

  private creationPath(): string {
    switch (this.seq.target) {
      case 'finpay-payment':
        return '/pg/payment/card/initiate';
      case 'bdpay-payment':
        return this.seq.method === 'EWALLET_DANA' ? '/gateway/prepaidOrder' : '/gateway/pay';
      case 'bdpay-payout':
        return '/gateway/cash';
      case 'ayopop-bill':
        return '/api/v2/bill/payment';
    }
  }

  private statusPath(): string {
    switch (this.seq.target) {
      case 'finpay-payment':
        return '/pg/payment/card/check';
      case 'bdpay-payment':
      case 'bdpay-payout':
        return '/gateway/query';
      case 'ayopop-bill':
        return '/api/v2/bill/status';
    }
  }

  private async create(): Promise<void> {
    const creation = this.seq.creation;
    const path = this.creationPath();
    let account = this.seq.account ?? AYOPOP_SIM_ACCOUNTS.staysProcessing;
    let email = 'budi@example.com';
    switch (creation) {
      case 'normal':
        break;
      case 'declined':
        if (this.kind === 'payment') email = 'not-an-email'; // refused by the provider's own field checks
        if (this.kind === 'payout') {
          const bdpayAccount = (await (await fetch(`${this.url}/_sim/account`)).json()) as { balance: number };
          this.balanceToRestore = bdpayAccount.balance;
          await simPost(this.url, '/_sim/account', { balance: 0 }); // FAIL: insufficient balance
        }
        if (this.kind === 'bill') account = AYOPOP_SIM_ACCOUNTS.paymentMismatch; // 313 at payment
        break;
      case 'unknown':
        await simPost(this.url, '/_sim/response-faults', { kind: 'unknown', path });
        break;
      case 'http-5xx':
        await simPost(this.url, '/_sim/faults', { kind: 'http-5xx', path, status: 502 });
        break;
      case 'accept-then-drop':
      case 'drop':
        await simPost(this.url, '/_sim/faults', { kind: creation, path });
        break;
      case 'slow':
        await simPost(this.url, '/_sim/faults', { kind: 'slow', path, delayMs: SLOW_OK_MS });
        break;
      case 'slow-timeout':
        await simPost(this.url, '/_sim/faults', { kind: 'slow', path, delayMs: SLOW_TIMEOUT_MS });
        break;
    }
    const started = this.call(() => this.startWorkflow(account, email));
    const tracked = this.track('creation', started).then(async (record) => {
      if (this.balanceToRestore !== undefined) await this.restoreBalance();
      return record;
    });
    this.pending.push(tracked);
    if (this.seq.awaitCreation) {
      const record = await tracked;
      this.executed.push({
        label: 'creation',
        outcome: `${creation}: ${record.outcome} → ${this.creationState?.status ?? '?'}`,
      });
      return;
    }
    // Steps need the workflow to exist; the creation itself may still be in flight.
    const exists = await withTimeout(this.waitForExistence(), 5_000);
    this.executed.push({
      label: 'creation',
      outcome: `${creation}${exists.ok ? ' (in flight)' : ' (workflow not visible after 5 s)'}`,
    });
  }

  private async waitForExistence(): Promise<void> {
    for (;;) {
      try {
        await this.handle.describe();
        return;
      } catch {
        await sleep(20);
      }
    }
  }

  private async restoreBalance(): Promise<void> {
    if (this.balanceToRestore === undefined) return;
    const counts = await this.submissions();
    const payout = await simGetOptional<BdpaySimPayout>(this.url, `/_sim/payouts/${this.id}`);
    // With the balance at 0, every submission that arrived was refused (FAIL), so none created the payout.
    if (!payout) this.refusedSubmissions = counts;
    await simPost(this.url, '/_sim/account', { balance: this.balanceToRestore });
    this.balanceToRestore = undefined;
  }

  private async startWorkflow(account: string, email: string): Promise<MoneyMovementState> {
    const stack = this.stack;
    const merchantId = stack.merchants[0]!.id;
    const reference = this.merchantReference;
    const taskQueue = stack.config.temporal.taskQueue;
    const callbackBase = stack.config.api.publicUrl;
    let state: MoneyMovementState;
    switch (this.kind) {
      case 'payment': {
        const operation = new WithStartWorkflowOperation(paymentWorkflow, {
          workflowId: this.workflowId,
          taskQueue,
          workflowIdConflictPolicy: 'USE_EXISTING',
          args: [
            {
              paymentId: this.id,
              merchantId,
              merchantReference: reference,
              provider: this.provider,
              method: this.seq.method ?? 'VA_BCA',
              amount: this.amount,
              customer: { name: 'Budi Santoso', email, phone: '081286288844' },
              description: `Order ${reference}`,
              expiresInMinutes: this.seq.expiresInMinutes ?? 60,
              callbackUrl: `${callbackBase}/callbacks/${this.provider}`,
              requestFingerprint: requestFingerprint({ reference }),
              timings: stack.config.timings,
            },
          ],
        });
        state = await stack.client.workflow.executeUpdateWithStart(paymentRegisteredUpdate, {
          startWorkflowOperation: operation,
        });
        break;
      }
      case 'payout': {
        const operation = new WithStartWorkflowOperation(payoutWorkflow, {
          workflowId: this.workflowId,
          taskQueue,
          workflowIdConflictPolicy: 'USE_EXISTING',
          args: [
            {
              payoutId: this.id,
              merchantId,
              merchantReference: reference,
              provider: 'bdpay',
              amount: this.amount,
              feeMode: 'merchant',
              beneficiary: { bankCode: 'BCA', accountNumber: '1234567890', accountName: 'Siti Aminah' },
              description: 'Supplier payment',
              callbackUrl: `${callbackBase}/callbacks/bdpay`,
              requestFingerprint: requestFingerprint({ reference }),
              timings: stack.config.timings,
            },
          ],
        });
        state = await stack.client.workflow.executeUpdateWithStart(payoutSubmittedUpdate, {
          startWorkflowOperation: operation,
        });
        break;
      }
      case 'bill': {
        const operation = new WithStartWorkflowOperation(billWorkflow, {
          workflowId: this.workflowId,
          taskQueue,
          workflowIdConflictPolicy: 'USE_EXISTING',
          args: [
            {
              billId: this.id,
              merchantId,
              merchantReference: reference,
              provider: 'ayopop',
              productCode: AYOPOP_PLN_POSTPAID,
              accountNumber: account,
              callbackUrl: `${callbackBase}/callbacks/ayopop`,
              requestFingerprint: requestFingerprint({ reference }),
              timings: stack.config.timings,
            },
          ],
        });
        state = await stack.client.workflow.executeUpdateWithStart(billInquiredUpdate, {
          startWorkflowOperation: operation,
        });
        break;
      }
    }
    this.creationState = state;
    return state;
  }

  /** Makes a client call abortable at the end of the sequence (a call left waiting would outlive the stack). */
  private call<T>(fn: () => Promise<T>): Promise<T> {
    const promise = this.stack.client.withAbortSignal(this.abort.signal, fn);
    promise.catch(() => undefined);
    return promise;
  }

  /** Races an update against the bound; records how it ended. Never throws. */
  private track(label: string, promise: Promise<unknown>): Promise<UpdateRecord> {
    const record: UpdateRecord = { label, startedAt: Date.now(), outcome: 'pending' };
    this.updates.push(record);
    return withTimeout(promise, UPDATE_BOUND_MS).then((result) => {
      record.durationMs = Date.now() - record.startedAt;
      if (result.ok) record.outcome = 'completed';
      else {
        record.outcome = result.timedOut ? 'timeout' : 'rejected';
        record.detail = errorText(result.error).slice(0, 200);
      }
      return record;
    });
  }

  // ---- steps ----------------------------------------------------------------------------------------

  private async step(step: Step): Promise<string> {
    switch (step.kind) {
      case 'callback':
        return this.callback(step.variant, step.pick);
      case 'sim':
        return this.simAction(step.action, step.notify);
      case 'cancel': {
        const promise = this.call(() =>
          this.handle.executeUpdate(cancelPaymentUpdate, { args: [{ reason: 'customer changed their mind' }] })
        );
        this.pending.push(this.track('cancel', promise));
        return 'sent';
      }
      case 'resolve': {
        const promise = this.call(() =>
          this.handle.executeUpdate(resolvePayoutUpdate, {
            args: [
              {
                outcome: step.outcome,
                evidence: 'Bank statement line 0042, checked by ops',
                operator: 'ops@kasir',
                force: step.force,
              },
            ],
          })
        ).then((state) => {
          if (state.resolution?.forced) this.forcedOutcome = step.outcome;
          return state;
        });
        this.pending.push(this.track(`resolve${step.force ? '-force' : ''}`, promise));
        return 'sent';
      }
      case 'confirm': {
        const total = this.creationState?.kind === 'bill' ? billTotalOf(this.creationState) : undefined;
        const expectedTotal = step.wrongTotal ? 1 : total;
        this.confirmSent = true;
        const promise = this.call(() =>
          this.handle.executeUpdate(confirmBillPaymentUpdate, { args: [{ expectedTotal }] })
        );
        this.pending.push(this.track(step.wrongTotal ? 'confirm-wrong-total' : 'confirm', promise));
        return 'sent';
      }
      case 'restart-worker':
        await this.explorer.restartWorker(step.downMs);
        return `restarted after ${step.downMs} ms down`;
      case 'reset':
        return this.reset(step.pick);
      case 'merchant-down':
        this.stack.webhooks.failNext += step.failures;
        return `next ${step.failures} deliveries fail`;
      case 'status-outage':
        await simPost(this.url, '/_sim/faults', {
          kind: 'http-5xx',
          path: this.statusPath(),
          status: 503,
          count: step.count,
        });
        return `next ${step.count} status checks answer 503`;
      case 'wait':
        await sleep(step.ms);
        return `waited ${step.ms} ms`;
    }
  }

  private async reset(pick: number): Promise<string> {
    // A run's first task can take a while (registration runs inside it): give it a moment to complete one.
    const deadline = Date.now() + 1_500;
    let described = await this.handle.describe();
    let completed: number[] = [];
    for (;;) {
      const history = await this.stack.client.workflow.getHandle(this.workflowId, described.runId).fetchHistory();
      completed = (history.events ?? [])
        .filter((e) => e.workflowTaskCompletedEventAttributes)
        .map((e) => Number(e.eventId));
      if (completed.length > 0 || Date.now() > deadline) break;
      await sleep(100);
      described = await this.handle.describe();
    }
    const runId = described.runId;
    if (completed.length === 0) return 'skipped: no completed workflow task yet';
    const eventId = completed[Math.min(completed.length - 1, Math.floor(pick * completed.length))]!;
    await this.stack.client.workflowService.resetWorkflowExecution({
      namespace: this.stack.config.temporal.namespace,
      workflowExecution: { workflowId: this.workflowId, runId },
      reason: 'interleaving exploration',
      // int64 in the proto; protobufjs takes a plain number.
      workflowTaskFinishEventId: eventId as never,
      requestId: randomUUID(),
    });
    return `reset run ${runId.slice(0, 8)} (${described.status.name}) to event ${eventId} of ${completed.length} completed tasks`;
  }

  private async simAction(action: SimAction, notify: boolean): Promise<string> {
    const answer = await this.simActionOnly(action);
    if (answer.startsWith('skipped') || !notify) return answer;
    const callback = await this.genuineCallback();
    if (!callback) return `${answer}; no callback for this state`;
    return `${answer}; ${await this.signal(callback.event, 'genuine (after sim action)', callback.meaning)}`;
  }

  private async simActionOnly(action: SimAction): Promise<string> {
    let path: string;
    switch (this.seq.target) {
      case 'finpay-payment':
      case 'bdpay-payment':
        path = `/_sim/orders/${this.id}/${action}`;
        break;
      case 'bdpay-payout':
        if (action === 'expire') return 'skipped: payouts do not expire';
        path = `/_sim/payouts/${this.id}/${action === 'pay' ? 'settle' : 'fail'}`;
        break;
      case 'ayopop-bill': {
        if (action === 'expire') {
          const inquiryId = this.creationState?.kind === 'bill' ? this.creationState.inquiry?.inquiryId : undefined;
          if (!inquiryId) return 'skipped: no inquiry yet';
          path = `/_sim/inquiries/${inquiryId}/expire`;
        } else path = `/_sim/orders/${this.id}/${action === 'pay' ? 'succeed' : 'fail'}`;
        break;
      }
    }
    const { status } = await simPost(this.url, path);
    if (status === 404) return 'skipped: the provider does not hold it';
    if (status === 409) return 'skipped: no longer open at the provider';
    if (status >= 300) return `skipped: simulator answered ${status}`;
    return `${action} done at the provider`;
  }

  // ---- callbacks ----------------------------------------------------------------------------------

  private base(trust: 'verified' | 'hint', eventId: string): Omit<ProviderCallbackEvent, 'kind' | 'outcome'> {
    return { provider: this.provider, reference: this.id, eventId, trust, receivedAt: new Date().toISOString() };
  }

  /** The callback the provider itself sends for the state the simulator holds now, if it sends one. */
  private async genuineCallback(): Promise<
    { event: ProviderCallbackEvent; meaning: 'money' | 'no-money' } | undefined
  > {
    switch (this.seq.target) {
      case 'finpay-payment': {
        const order = await simGetOptional<FinpaySimOrder>(this.url, `/_sim/orders/${this.id}`);
        if (!order || order.status === 'REQUEST_INITIATED' || order.status === 'PENDING') return undefined;
        return {
          event: this.finpayEvent(order, order.status, order.updatedAt),
          meaning: ['PAID', 'CAPTURED'].includes(order.status) ? 'money' : 'no-money',
        };
      }
      case 'bdpay-payment': {
        // BDPay calls back only when an order is paid.
        const order = await simGetOptional<BdpaySimOrder>(this.url, `/_sim/orders/${this.id}`);
        if (!order || order.status !== 'SUCCESS') return undefined;
        return { event: this.bdpayPayInEvent(order, '00'), meaning: 'money' };
      }
      case 'bdpay-payout': {
        // Sent on the final statuses 2 and 4.
        const payout = await simGetOptional<BdpaySimPayout>(this.url, `/_sim/payouts/${this.id}`);
        if (!payout || (payout.status !== '2' && payout.status !== '4')) return undefined;
        return {
          event: this.bdpayPayoutEvent(payout, payout.status),
          meaning: payout.status === '2' ? 'money' : 'no-money',
        };
      }
      case 'ayopop-bill': {
        // Sent when a 299 becomes final; unsigned, so only ever a hint.
        const order = await simGetOptional<AyopopSimOrder>(this.url, `/_sim/orders/${this.id}`);
        if (!order || order.responseCode === 299 || order.debited === 0) return undefined;
        return {
          event: this.ayopopEvent(order.responseCode, order),
          meaning: order.responseCode === 0 ? 'money' : 'no-money',
        };
      }
    }
  }

  private finpayEvent(
    order: FinpaySimOrder,
    status: string,
    at: string,
    trust: 'verified' | 'hint' = 'verified'
  ): ProviderCallbackEvent {
    const datetime = toWib(new Date(at));
    const report = {
      order: { id: order.id, reference: order.reference, amount: order.amount, currency: 'IDR' },
      result: { payment: { amount: order.amount, status, statusDesc: order.statusDesc, datetime } },
      sourceOfFunds: { type: order.type },
    } as unknown as Parameters<typeof finpayPaymentOutcome>[0];
    return {
      ...this.base(trust, [order.id, status, datetime].join(':')),
      kind: 'payment',
      outcome: finpayPaymentOutcome(report),
    };
  }

  /** As the API edge reads BDPay's callback (its own trust level: BDPay's signature has no field boundaries). */
  private bdpayPayInEvent(order: BdpaySimOrder, code: string): ProviderCallbackEvent {
    const parsed = bdpayParsedCallback({
      code,
      email: order.email,
      method: order.method ?? 'QRIS',
      msg: code === '00' ? 'SUCCESS' : 'PENDING',
      name: order.name,
      orderNum: order.orderNum,
      payFee: String(order.payFee),
      payMoney: String(order.payMoney),
      platOrderNum: order.platOrderNum,
      vaNumber: order.vaNumber ?? '',
      platSign: 'verified-at-the-edge',
    });
    return {
      ...this.base(parsed.trust, parsed.eventId),
      kind: 'payment',
      outcome: parsed.outcome,
    } as ProviderCallbackEvent;
  }

  private bdpayPayoutEvent(payout: BdpaySimPayout, status: string): ProviderCallbackEvent {
    const parsed = bdpayParsedCallback({
      bankCode: payout.bankCode,
      description: payout.description,
      fee: String(payout.fee),
      feeType: payout.feeType,
      money: String(payout.money),
      name: payout.name,
      number: payout.number,
      orderNum: payout.orderNum,
      platOrderNum: payout.platOrderNum,
      status,
      statusMsg: status === '2' ? 'Payment success' : status === '4' ? 'Payment failed' : 'Processing',
      platSign: 'verified-at-the-edge',
    });
    return {
      ...this.base(parsed.trust, parsed.eventId),
      kind: 'payout',
      outcome: parsed.outcome,
    } as ProviderCallbackEvent;
  }

  private ayopopEvent(code: number, order?: AyopopSimOrder, amount?: number): ProviderCallbackEvent {
    const status = code === 0 ? 'succeeded' : code === 299 ? 'processing' : 'failed';
    return {
      ...this.base('hint', `${this.id}:${code}`),
      kind: 'bill',
      outcome: {
        status,
        providerCode: String(code),
        transactionId: order ? String(order.transactionId) : undefined,
        token: code === 0 ? order?.token : undefined,
        amount: amount ?? order?.amount,
        depositRefunded: status === 'failed' ? true : undefined,
      },
    };
  }

  /** A claim that the money moved, built without the provider: what forgers and hints say. */
  private claimPaid(trust: 'verified' | 'hint', amount: number, providerReference?: string): ProviderCallbackEvent {
    const eventId = `claim:${randomUUID().slice(0, 8)}`;
    switch (this.kind) {
      case 'payment':
        return {
          ...this.base(trust, eventId),
          kind: 'payment',
          outcome: {
            status: 'succeeded',
            providerStatus: this.provider === 'finpay' ? 'PAID' : 'SUCCESS',
            paidAmount: amount,
            paidAt: new Date().toISOString(),
            providerReference,
          },
        };
      case 'payout':
        return {
          ...this.base(trust, eventId),
          kind: 'payout',
          outcome: { status: 'succeeded', providerStatus: '2', amount, providerReference },
        };
      case 'bill':
        return this.ayopopEvent(0, undefined, amount);
    }
  }

  private async signal(event: ProviderCallbackEvent, label: string, genuine?: 'money' | 'no-money'): Promise<string> {
    try {
      await this.handle.signal(providerCallbackSignal, event);
      this.signalled.push({ event, genuine, label });
      return `signalled ${label} ${event.trust} ${event.outcome.status} (${event.eventId})`;
    } catch (err) {
      return `not acknowledged (${errorText(err).slice(0, 80)})`;
    }
  }

  private async currentState(timeoutMs = 1_500): Promise<MoneyMovementState | undefined> {
    const query =
      this.kind === 'payment' ? paymentStateQuery : this.kind === 'payout' ? payoutStateQuery : billStateQuery;
    const answer = await withTimeout(
      this.call(() => this.handle.query(query as typeof paymentStateQuery) as Promise<MoneyMovementState>),
      timeoutMs
    );
    return answer.ok ? answer.value : undefined;
  }

  private async callback(variant: CallbackVariant, pick: number): Promise<string> {
    switch (variant) {
      case 'genuine': {
        const genuine = await this.genuineCallback();
        if (!genuine) return 'skipped: the provider sends no callback in this state';
        return this.signal(genuine.event, 'genuine', genuine.meaning);
      }
      case 'hint': {
        const genuine = await this.genuineCallback();
        if (genuine) return this.signal({ ...genuine.event, trust: 'hint' }, 'hint');
        return this.signal(this.claimPaid('hint', this.amount), 'hint claiming payment');
      }
      case 'duplicate': {
        if (this.signalled.length === 0) return 'skipped: nothing signalled yet';
        const earlier = this.signalled[Math.floor(pick * this.signalled.length)]!;
        return this.signal(
          { ...earlier.event, receivedAt: new Date().toISOString() },
          `duplicate of ${earlier.label}`,
          earlier.genuine
        );
      }
      case 'stale':
        return this.staleCallback();
      case 'forged-provider': {
        const forged = this.claimPaid('verified', this.amount);
        const other: ProviderId = this.provider === 'finpay' ? 'nicepay' : 'finpay';
        return this.signal({ ...forged, provider: other }, `forged (provider ${other})`);
      }
      case 'forged-amount':
        return this.signal(this.claimPaid('hint', this.amount - 1_000), 'forged underpaid hint');
      case 'forged-reference': {
        // A verified claim naming another provider reference: only meaningful once Kasir knows its own.
        const state = this.kind === 'bill' ? undefined : await this.currentState();
        const known = state && 'providerReference' in state ? state.providerReference : undefined;
        if (!known)
          return this.signal(
            this.claimPaid('hint', this.amount - 1_000),
            'forged reference (as hint: no provider reference known yet)'
          );
        return this.signal(
          this.claimPaid('verified', this.amount - 1_000, `FORGED${known.slice(-6)}`),
          'forged provider reference'
        );
      }
      case 'late':
        return this.lateCallback();
    }
  }

  /** An older status delivered after a newer one. */
  private async staleCallback(): Promise<string> {
    switch (this.seq.target) {
      case 'finpay-payment': {
        const order = await simGetOptional<FinpaySimOrder>(this.url, `/_sim/orders/${this.id}`);
        if (!order) return 'skipped: the provider does not hold it';
        return this.signal(this.finpayEvent(order, 'PENDING', order.createdAt), 'stale PENDING');
      }
      case 'bdpay-payment': {
        const order = await simGetOptional<BdpaySimOrder>(this.url, `/_sim/orders/${this.id}`);
        if (!order) return 'skipped: the provider does not hold it';
        return this.signal(this.bdpayPayInEvent(order, '01'), 'stale unpaid code');
      }
      case 'bdpay-payout': {
        const payout = await simGetOptional<BdpaySimPayout>(this.url, `/_sim/payouts/${this.id}`);
        if (!payout) return 'skipped: the provider does not hold it';
        return this.signal(this.bdpayPayoutEvent(payout, '1'), 'stale processing (1)');
      }
      case 'ayopop-bill': {
        const order = await simGetOptional<AyopopSimOrder>(this.url, `/_sim/orders/${this.id}`);
        if (!order) return 'skipped: the provider does not hold it';
        return this.signal(this.ayopopEvent(299, order), 'stale processing (299)');
      }
    }
  }

  /** Once Kasir has closed (or given up waiting 3 s): the provider moves money late if it still can, and says so. */
  private async lateCallback(): Promise<string> {
    const deadline = Date.now() + 3_000;
    let state = await this.currentState();
    while ((!state || !isClosed(this.kind, state.status)) && Date.now() < deadline) {
      await sleep(150);
      state = await this.currentState();
    }
    const view = await this.providerView();
    let action = '';
    if (view.open) action = `${await this.simActionOnly('pay')}; `;
    const genuine = await this.genuineCallback();
    if (!genuine) return `${action}skipped: no callback to send late (Kasir ${state?.status ?? '?'})`;
    return `${action}${await this.signal(genuine.event, `late (Kasir ${state?.status ?? '?'})`, genuine.meaning)}`;
  }

  // ---- the provider's view --------------------------------------------------------------------------

  private async submissions(): Promise<number> {
    const counts = (await (await fetch(`${this.url}/_sim/submissions`)).json()) as Record<string, number>;
    return counts[this.id] ?? 0;
  }

  private async providerView(): Promise<ProviderView> {
    switch (this.seq.target) {
      case 'finpay-payment': {
        const order = await simGetOptional<FinpaySimOrder>(this.url, `/_sim/orders/${this.id}`);
        if (!order) return { exists: false, open: false, moneyMoved: false, label: 'no order' };
        const moved = ['PAID', 'CAPTURED', 'PARTIALLY_REFUNDED', 'REFUNDED', 'VOIDED'].includes(order.status);
        return {
          exists: true,
          open: order.status === 'REQUEST_INITIATED' || order.status === 'PENDING',
          moneyMoved: moved,
          movedAt: moved ? Date.parse(order.updatedAt) : undefined,
          label: `order ${order.status}`,
        };
      }
      case 'bdpay-payment': {
        const order = await simGetOptional<BdpaySimOrder>(this.url, `/_sim/orders/${this.id}`);
        if (!order) return { exists: false, open: false, moneyMoved: false, label: 'no order' };
        return {
          exists: true,
          open: ['INIT_ORDER', 'NO_PAY', 'OPEN_PAY_URL'].includes(order.status),
          moneyMoved: order.status === 'SUCCESS',
          movedAt: order.paidAt ? Date.parse(order.paidAt) : undefined,
          label: `order ${order.status}`,
        };
      }
      case 'bdpay-payout': {
        const payout = await simGetOptional<BdpaySimPayout>(this.url, `/_sim/payouts/${this.id}`);
        if (!payout) return { exists: false, open: false, moneyMoved: false, label: 'no payout' };
        return {
          exists: true,
          open: ['0', '1', '5'].includes(payout.status),
          moneyMoved: payout.status === '2',
          movedAt: payout.status === '2' && payout.finishedAt ? Date.parse(payout.finishedAt) : undefined,
          label: `payout status ${payout.status}`,
        };
      }
      case 'ayopop-bill': {
        const order = await simGetOptional<AyopopSimOrder>(this.url, `/_sim/orders/${this.id}`);
        if (!order) return { exists: false, open: false, moneyMoved: false, label: 'no payment' };
        return {
          exists: true,
          open: order.responseCode === 299,
          moneyMoved: order.responseCode === 0,
          movedAt: order.responseCode === 0 && order.paidAt ? Date.parse(order.paidAt) : undefined,
          label: `payment ${order.responseCode}${order.debited === 0 ? ' (refused, nothing debited)' : order.refunded ? ' (refunded)' : ''}`,
        };
      }
    }
  }

  // ---- the finale -------------------------------------------------------------------------------------

  /**
   * Drives the movement to a closed state: the provider pays, settles, fails or expires what is still
   * open (as `finale` says; a payout forced by an operator is settled the way the operator said), an
   * unresolvable payout is resolved with the provider's truth, an unconfirmed bill is confirmed. Then
   * waits for the workflow's result.
   */
  private async finale(): Promise<{ closed: boolean; state?: MoneyMovementState; byDesign?: string }> {
    const deadline = Date.now() + FINALE_DEADLINE_MS;
    const done = new Set<string>();
    let lastResolveAt = 0;
    let noOrderSince: number | undefined;
    const steps: string[] = [];
    for (;;) {
      const described = await withTimeout(this.handle.describe(), 3_000);
      if (described.ok && described.value.status.name !== 'RUNNING') break;
      if (Date.now() > deadline) {
        const state = await this.currentState();
        this.executed.push({ label: 'finale', outcome: steps.join('; ') || 'nothing to do' });
        return { closed: false, state };
      }
      const state = await this.currentState();
      const view = await this.providerView();
      if (state) {
        const status = state.status;
        switch (this.kind) {
          case 'payment':
            if (view.open && !done.has('sim')) {
              done.add('sim');
              const action: SimAction = this.seq.finale === 'money' ? 'pay' : 'expire';
              steps.push(`${action}: ${await this.simAction(action, this.seq.steps.length % 2 === 0)}`);
            }
            break;
          case 'payout':
            if (view.open && !done.has('sim')) {
              done.add('sim');
              const money = this.forcedOutcome ? this.forcedOutcome === 'SUCCEEDED' : this.seq.finale === 'money';
              steps.push(
                `${money ? 'settle' : 'fail'}: ${await this.simAction(money ? 'pay' : 'fail', this.seq.steps.length % 2 === 0)}`
              );
            } else if (
              !view.exists &&
              !isClosed('payout', status) &&
              status !== 'SUBMITTING' &&
              Date.now() - lastResolveAt > 1_500
            ) {
              // The provider never got it: the operator resolves it FAILED, which the provider's "not found" agrees with.
              lastResolveAt = Date.now();
              const promise = this.call(() =>
                this.handle.executeUpdate(resolvePayoutUpdate, {
                  args: [
                    {
                      outcome: 'FAILED',
                      evidence: 'BDPay support: no such orderNum was ever received',
                      operator: 'ops@kasir',
                    },
                  ],
                })
              );
              const record = await this.track('resolve (finale)', promise);
              steps.push(`resolve FAILED: ${record.outcome}`);
            }
            break;
          case 'bill':
            if (status === 'INQUIRED' && !this.confirmSent) {
              this.confirmSent = true;
              if (this.seq.finale === 'no-money') steps.push(`expire inquiry: ${await this.simActionOnly('expire')}`);
              const total = this.creationState?.kind === 'bill' ? billTotalOf(this.creationState) : undefined;
              const promise = this.call(() =>
                this.handle.executeUpdate(confirmBillPaymentUpdate, { args: [{ expectedTotal: total }] })
              );
              this.pending.push(this.track('confirm (finale)', promise));
              steps.push('confirm');
            } else if (view.open && !done.has('sim')) {
              done.add('sim');
              const action: SimAction = this.seq.finale === 'money' ? 'pay' : 'fail';
              steps.push(`${action}: ${await this.simAction(action, this.seq.steps.length % 2 === 0)}`);
            } else if (!view.exists && (status === 'PROCESSING' || status === 'PAYING')) {
              // The payment never reached Ayopop (5xx, dropped): Kasir may never pay again, and Ayopop's
              // "not available" reads as processing. By design this waits for an operator, forever.
              noOrderSince ??= Date.now();
              if (Date.now() - noOrderSince > 2_000 && status === 'PROCESSING') {
                this.executed.push({
                  label: 'finale',
                  outcome: [...steps, 'stuck by design: payment never reached Ayopop'].join('; '),
                });
                return {
                  closed: false,
                  state,
                  byDesign:
                    'bill payment never reached the provider; Kasir waits for an operator (no resolve API for bills)',
                };
              }
            }
            break;
        }
      }
      await sleep(200);
    }
    this.executed.push({ label: 'finale', outcome: steps.join('; ') || 'already closing' });
    const result = await withTimeout(
      this.call(() => this.handle.result() as Promise<MoneyMovementState>),
      Math.max(1_000, deadline - Date.now())
    );
    if (result.ok) return { closed: true, state: result.value };
    const described = await withTimeout(this.handle.describe(), 3_000);
    const status = described.ok ? described.value.status.name : 'unknown';
    return {
      closed: status === 'COMPLETED',
      state: await this.currentState(),
      byDesign: status === 'RUNNING' ? undefined : `run ${status}: ${errorText(result.error)}`,
    };
  }

  // ---- the checks ---------------------------------------------------------------------------------------

  private readonly notes: string[] = [];

  /** When the chain's last run closed (epoch ms). */
  private async closeTime(): Promise<number | undefined> {
    const described = await withTimeout(this.handle.describe(), 3_000);
    return described.ok ? described.value.closeTime?.getTime() : undefined;
  }

  private violate(property: Property, detail: string): void {
    this.violations.push({ property, detail });
  }

  private async check(finalState: MoneyMovementState | undefined, closed: boolean, byDesign?: string): Promise<void> {
    const view = await this.providerView();
    const kind = this.kind;
    const money = MONEY_STATUSES[kind];

    // closes: every movement ends (except where Kasir waits for a human by design, reported as such).
    if (!closed && !byDesign)
      this.violate(
        'closes',
        `did not close within ${FINALE_DEADLINE_MS / 1000} s: Kasir ${finalState?.status ?? '?'}, provider ${view.label}`
      );

    // single-submission: a payout or bill payment reaches its provider once, unless the provider refused the earlier one.
    if (kind === 'payout' || kind === 'bill') {
      const count = await this.submissions();
      if (kind === 'payout' && count > 1 + this.refusedSubmissions) {
        this.violate(
          'single-submission',
          `payout reached BDPay ${count} times (${this.refusedSubmissions} definitively refused)`
        );
      }
      if (kind === 'bill' && count > 1) {
        const order = await simGetOptional<AyopopSimOrder>(this.url, `/_sim/orders/${this.id}`);
        // Ayopop records its first answer; a refused first payment (nothing debited) allows another.
        if (!order || order.debited > 0)
          this.violate(
            'single-submission',
            `bill payment reached Ayopop ${count} times (first ${order ? `answered ${order.responseCode}` : 'never recorded'})`
          );
      }
    }

    // The merchant's view: every delivery, and the first delivery of each event id (merchants deduplicate on it).
    const deliveries = this.stack.webhooks.eventsFor(this.id) as (ReceivedWebhook['event'] & { createdAt?: string })[];
    const firstById = new Map<string, (typeof deliveries)[number]>();
    for (const event of deliveries) {
      const earlier = firstById.get(event.id);
      if (!earlier) firstById.set(event.id, event);
      else if (earlier.type !== event.type || earlier.data.status !== event.data.status) {
        this.violate(
          'event-id-stable',
          `event id ${event.id} delivered as ${earlier.type}/${earlier.data.status}, later as ${event.type}/${event.data.status}: a merchant deduplicating on the id drops the second`
        );
      }
    }
    const merchantView = [...firstById.values()];

    // status-monotonic: in the order the merchant received them, statuses never go down the ladder.
    let top = -Infinity;
    let topStatus = '';
    for (const event of merchantView) {
      const rank = rankOf(kind, event.data.status);
      if (rank < top)
        this.violate('status-monotonic', `${event.type} (${event.data.status}) received after ${topStatus}`);
      if (rank >= top) {
        top = rank;
        topStatus = event.data.status;
      }
    }

    // merchant-money: never a closed-without-money event for money that moved; never a success for money that did not.
    const lastStatus = merchantView[merchantView.length - 1]?.data.status;
    if (view.moneyMoved) {
      const closedAt = closed ? await this.closeTime() : undefined;
      if (!lastStatus || !money.includes(lastStatus)) {
        if (closedAt !== undefined && view.movedAt !== undefined && view.movedAt > closedAt) {
          // The movement had closed (its late window over): no callback can be acknowledged any more.
          this.notes.push(
            `the provider moved the money ${view.movedAt - closedAt} ms after Kasir closed the movement (${lastStatus ?? 'nothing'})`
          );
        } else {
          this.violate(
            'merchant-money',
            `provider moved the money (${view.label}) but the merchant's last word is ${lastStatus ?? 'nothing'}`
          );
        }
      }
      for (const event of merchantView) {
        const createdAt = event.createdAt ? Date.parse(event.createdAt) : undefined;
        if (
          NO_MONEY_EVENT.test(event.type) &&
          view.movedAt !== undefined &&
          createdAt !== undefined &&
          createdAt > view.movedAt + STALE_CLOSE_TOLERANCE_MS
        ) {
          this.violate(
            'merchant-money',
            `${event.type} emitted ${createdAt - view.movedAt} ms after the provider moved the money (${view.label})`
          );
        }
      }
    } else {
      for (const event of merchantView) {
        if (money.includes(event.data.status)) {
          this.violate(
            'merchant-money',
            `merchant received ${event.type} (${event.data.status}) but the provider moved no money (${view.label})`
          );
          break;
        }
      }
    }

    // callback-not-lost: an acknowledged genuine callback saying the money moved ends in a money status.
    const paid = this.signalled.filter((s) => s.genuine === 'money');
    if (paid.length > 0 && finalState && !money.includes(finalState.status)) {
      this.violate(
        'callback-not-lost',
        `${paid.length} acknowledged paid callback(s) (${paid[0]!.event.eventId}) but Kasir ended ${finalState.status}`
      );
    }

    // update-bound: every update completes or is rejected within the bound.
    for (const update of this.updates) {
      if (update.outcome === 'timeout' || update.outcome === 'pending') {
        this.violate('update-bound', `${update.label} had no answer within ${UPDATE_BOUND_MS / 1000} s`);
      }
    }

    // history-bound: every run of the chain stays under the bound.
    this.runs = await this.listRuns();
    for (const run of this.runs) {
      if (run.historyLength > HISTORY_BOUND) {
        this.violate(
          'history-bound',
          `run ${run.runId.slice(0, 8)} (${run.status}) has ${run.historyLength} events > ${HISTORY_BOUND}`
        );
      }
    }
  }

  /** Every run of the chain (continued-as-new, reset, terminated), oldest first, with its history length. */
  private async listRuns(): Promise<RunInfo[]> {
    let previous = '';
    let runs: RunInfo[] = [];
    for (let attempt = 0; attempt < 15; attempt++) {
      runs = [];
      for await (const info of this.stack.client.workflow.list({ query: `WorkflowId = '${this.workflowId}'` })) {
        runs.push({ runId: info.runId, status: info.status.name, historyLength: info.historyLength });
      }
      const key = runs
        .map((r) => `${r.runId}:${r.status}:${r.historyLength}`)
        .sort()
        .join(',');
      if (key === previous) break;
      previous = key;
      await sleep(150);
    }
    // Visibility has no history length for a run still open: ask the run itself.
    for (const run of runs) {
      if (run.status !== 'RUNNING') continue;
      const described = await withTimeout(
        this.stack.client.workflow.getHandle(this.workflowId, run.runId).describe(),
        3_000
      );
      if (described.ok) run.historyLength = described.value.historyLength;
    }
    return runs.reverse();
  }

  private async cleanup(): Promise<void> {
    await withTimeout(this.handle.terminate('exploration cleanup'), 3_000).catch(() => undefined);
    this.abort.abort();
    for (const provider of ['finpay', 'bdpay', 'ayopop'] as const) {
      const url = this.stack.simulators[provider].url;
      await simDelete(url, '/_sim/faults');
      if (provider === 'bdpay') await simDelete(url, '/_sim/response-faults');
    }
    await this.restoreBalance().catch(() => undefined);
    this.stack.webhooks.failNext = 0;
  }
}

// ---------------------------------------------------------------------------------------------------
// The property
// ---------------------------------------------------------------------------------------------------

export function formatReport(report: SequenceReport): string {
  const lines = [
    `sequence: ${describeSequence(report.sequence)}`,
    `movement: ${report.workflowId} → ${report.finalStatus}${report.needsAttention ? ` (needs attention: ${report.attentionReason})` : ''}; provider: ${report.providerView}; ${report.durationMs} ms`,
    ...report.executed.map((e) => `  ${e.label}: ${e.outcome}`),
    `updates: ${report.updates.map((u) => `${u.label}=${u.outcome}${u.durationMs !== undefined ? `(${u.durationMs}ms)` : ''}${u.detail ? ` [${u.detail}]` : ''}`).join('; ') || 'none'}`,
    `webhooks as delivered (run:seq type status): ${report.webhooks.join(' | ') || 'none'}`,
    `runs: ${report.runs.map((r) => `${r.runId.slice(0, 8)} ${r.status} ${r.historyLength} events`).join('; ')}`,
    ...report.notes.map((n) => `note: ${n}`),
    ...report.violations.map((v) => `VIOLATION ${v.property}: ${v.detail}`),
  ];
  return lines.join('\n');
}

/** The property fast-check checks: run the sequence, fail with the full report if any invariant broke. */
export function interleavingProperty(
  explorer: InterleavingExplorer,
  options: {
    maxSteps?: number;
    targets?: readonly Target[];
    onFailure?: (report: SequenceReport) => void;
    /** When true, a generated sequence passes without running (a spent shrinking budget). */
    skip?: () => boolean;
    /** Report violations to `onFailure` but let the sequence pass, so every run is generated. */
    collectOnly?: boolean;
    /** Only these properties fail a sequence (to shrink one kind of counterexample); all are reported. */
    failOn?: readonly Property[];
  } = {}
): fc.IAsyncPropertyWithHooks<[Sequence]> {
  return fc.asyncProperty(sequenceArb(options), async (seq) => {
    if (options.skip?.()) return;
    const report = await explorer.run(seq);
    const counted = options.failOn
      ? report.violations.filter((v) => options.failOn!.includes(v.property))
      : report.violations;
    if (counted.length > 0) {
      options.onFailure?.(report);
      if (!options.collectOnly) throw new Error(`invariants broken:\n${formatReport(report)}`);
    }
  });
}

export function formatStats(stats: ExploreStats): string {
  const table = (title: string, map: Record<string, number>) =>
    [
      `${title}:`,
      ...Object.entries(map)
        .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
        .map(([k, v]) => `  ${String(v).padStart(5)}  ${k}`),
    ].join('\n');
  const steps = Object.values(stats.steps).reduce((a, b) => a + b, 0);
  return [
    `sequences run: ${stats.sequences} (${stats.shrinkSequences} while shrinking), ${steps} steps, ${(stats.durationMs / 1000).toFixed(1)} s`,
    table('targets', stats.targets),
    table('creations', stats.creations),
    table('steps executed (kind)', stats.steps),
    table('steps that had nothing to act on (skipped)', stats.skippedSteps),
    table('final statuses', stats.finalStatuses),
    table('updates', stats.updateOutcomes),
    `runs per chain: ${(stats.runsPerChain.total / Math.max(1, stats.sequences)).toFixed(1)} on average, ${stats.runsPerChain.max} at most; ${stats.continuedAsNew} continued-as-new, ${stats.resets} resets`,
    `longest run history: ${stats.maxHistoryLength} events (bound ${HISTORY_BOUND})`,
    table('violations (sequences × property)', stats.violations),
    `sequences with notes (not violations): ${stats.notes}`,
  ].join('\n');
}
