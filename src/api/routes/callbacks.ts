/**
 * Provider callbacks (style anchors 5.5): raw body → the connector verifies and parses it → signal the
 * workflow the reference names → answer in the provider's dialect, only once the signal is accepted.
 *
 * Never signal-with-start: a forged or late callback can never create a movement. A reference Kasir
 * does not know gets the answer that stops the provider's retries (retrying cannot help), plus a log
 * line and a metric. A callback for a workflow that already closed is acknowledged, and if it reports
 * money Kasir did not record as such, it is logged at error level as an orphan for an operator.
 *
 * Existence never leaks to a sender that cannot sign: an unsigned callback (trust `hint`) costs the
 * same signal and describe, made together, and gets the very same answer whether or not its reference
 * exists (a reference that is not Kasir's goes to a workflow id Kasir never starts). What still
 * differs is work after the answer is decided: a success callback for a closed movement that never
 * recorded the money is recorded durably first (`handleClosed`), which takes longer; the per-result
 * callback counts are on `/metrics`, which only operators can read.
 */
import { WorkflowNotFoundError } from '@temporalio/client';
import type { Response } from 'express';
import { z } from 'zod';
import type { CallbackAnswer, RawCallback } from '../../connectors/connector';
import type { ParsedCallback, ProviderCallbackEvent } from '../../domain/callback';
import { CallbackPayloadError, CallbackSignatureError } from '../../domain/errors';
import { PROVIDER_IDS, isProviderId } from '../../domain/provider';
import type { ProviderId } from '../../domain/provider';
import { kindOfId, sha256Hex, workflowIdOf } from '../../ids';
import type { MovementKind } from '../../ids';
import { providerCallbackSignal } from '../../../workflows/messages';
import type { CalledBackMovementState } from '../../../workflows/movement-state';
import { recordLateMoney } from '../../temporal/late-money-record';
import { searchAttributesOf, stateQueryOf } from '../movement-kinds';
import { lateRecordIdOf, MONEY_RECORDED } from '../late-records';
import type { ApiDeps } from '../deps';
import { ApiError } from '../http-errors';
import type { Logger } from '../../logger';
import { defineRoute } from '../route';
import type { AnyRoute } from '../route';
import { ErrorResponseSchema } from '../schemas';

function send(res: Response, answer: CallbackAnswer): void {
  res.status(answer.status).type(answer.contentType).send(answer.body);
}

function headersOf(raw: Record<string, string | string[] | undefined>): Record<string, string | undefined> {
  return Object.fromEntries(
    Object.entries(raw).map(([name, value]) => [name.toLowerCase(), Array.isArray(value) ? value.join(', ') : value])
  );
}

async function closedState(deps: ApiDeps, kind: MovementKind, workflowId: string): Promise<CalledBackMovementState> {
  const handle = deps.client.workflow.getHandle(workflowId);
  // Callbacks name payments, payouts and bills only (kindOfId): never a refund.
  const state = deps.client.withDeadline(Date.now() + deps.timeouts.shortCallMs, () =>
    handle.query(stateQueryOf(kind))
  );
  return state as Promise<CalledBackMovementState>;
}

/**
 * A payout never submitted, or a bill never paid, to its provider (a payment's customer may always pay).
 * A bill's run started by a reset may not know what the runs it replaced paid (it closed before it could
 * ask, on code from before `reset-run-waits-for-what-was-paid`): its report is checked like any other.
 */
function neverSent(movement: CalledBackMovementState): boolean {
  if (movement.kind === 'payout') return !movement.submitted;
  if (movement.kind === 'bill') return !movement.paymentSubmitted && movement.startedByReset !== true;
  return false;
}

/**
 * A success callback for a workflow that has closed without that money: recorded durably as a
 * `lateCallbackWorkflow` (flagged for operators, the merchant told once confirmed) before the provider
 * is acknowledged. If the record cannot be made, this throws, the provider is not acknowledged and
 * retries: the callback is never only logged.
 */
async function handleClosed(
  deps: ApiDeps,
  log: Logger,
  provider: ProviderId,
  kind: MovementKind,
  workflowId: string,
  parsed: ParsedCallback
): Promise<void> {
  if (parsed.outcome.status !== 'succeeded') {
    deps.metrics.callbacks.inc({ provider, result: 'closed' });
    log.info({ workflowId, eventId: parsed.eventId }, 'callback for a closed workflow; nothing to do');
    return;
  }
  const movement = await closedState(deps, kind, workflowId);
  // Money recorded at the movement's own provider; a callback from a provider a payment failed over from
  // is other money (docs: README "Routing"), recorded like any late callback.
  if (MONEY_RECORDED.has(movement.status) && provider === movement.provider) {
    deps.metrics.callbacks.inc({ provider, result: 'closed' });
    log.info({ workflowId, eventId: parsed.eventId }, 'repeat success callback for a closed workflow that recorded it');
    return;
  }
  // A payout or bill that closed without ever being sent cannot have moved money. An unsigned report that
  // it did is anyone's (Ayopop's callbacks carry no signature, and bill ids can be guessed): acknowledged
  // and logged, never a record that polls the provider and flags operators for days.
  if (parsed.trust !== 'verified' && neverSent(movement)) {
    deps.metrics.callbacks.inc({ provider, result: 'closed' });
    log.info({ workflowId, eventId: parsed.eventId }, 'unsigned success callback for a movement never sent; ignored');
    return;
  }
  // One record per movement and provider (a payment that failed over may have money left at a provider
  // it left: `<workflow id>:late:<provider>`, never confused with the record of its own provider). A
  // running record takes this callback as a signal (a verified one settles it); a record that confirmed
  // this very movement's money needs nothing more; any other closed record (denied, unresolved,
  // terminated, or about an earlier movement under this id) is replaced.
  const recordId = lateRecordIdOf(workflowId, provider === movement.provider ? undefined : provider);
  const callback: ProviderCallbackEvent = { ...parsed, provider, receivedAt: new Date().toISOString() };
  const recorded = await recordLateMoney(deps.client, {
    recordId,
    movement,
    callback,
    timings: deps.config.timings,
    taskQueue: deps.config.temporal.taskQueue,
    searchAttributes: searchAttributesOf({
      // Not the movement's kind: a record must never be listed as a second payment.
      kind: 'late_callback',
      status: 'LATE_CALLBACK_UNCONFIRMED',
      provider,
      merchantId: movement.merchantId,
      reference: movement.merchantReference,
      // Nobody is flagged until the record believes the money (it flags itself then).
      needsAttention: false,
    }),
    summary: `Late ${kind} callback: ${provider} reports ${providerStatusOf(parsed)} after ${movement.id} closed ${movement.status}`,
    callTimeoutMs: deps.timeouts.shortCallMs,
  });
  if (recorded !== 'started') {
    deps.metrics.callbacks.inc({ provider, result: 'orphan' });
    log.info(
      { workflowId, recordId, eventId: parsed.eventId },
      recorded === 'told'
        ? "late callback passed to the movement's running record"
        : 'late callback for money already recorded'
    );
    return;
  }
  deps.metrics.callbacks.inc({ provider, result: 'orphan' });
  deps.metrics.orphanCallbacks.inc({ provider });
  log.error(
    { workflowId, recordId, kind, provider, status: movement.status, eventId: parsed.eventId, trust: parsed.trust },
    'LATE CALLBACK: the provider reports money for a movement that closed without it; recorded for an operator'
  );
}

function providerStatusOf(parsed: ParsedCallback): string {
  return 'providerStatus' in parsed.outcome ? parsed.outcome.providerStatus : parsed.outcome.providerCode;
}

/** A workflow id Kasir never starts (`~` is outside its id alphabet), for callbacks naming foreign references. */
function decoyWorkflowId(parsed: ParsedCallback): string {
  return `${parsed.kind}:~${sha256Hex(`${parsed.kind}\u0000${parsed.reference}`).slice(0, 19)}`;
}

/** What became of a callback's signal. */
type Delivery = 'signalled' | 'closed' | 'missing';

/**
 * Signals the workflow; whether it is running, closed or missing, a describe tells when the signal
 * finds nothing. An unsigned callback (trust `hint`) is described at the same time as it is signalled,
 * whatever the outcome, so neither its answer nor its timing tells its sender whether the reference
 * exists. A verified callback's signature covers its body, so only the provider (or a replay of a
 * callback it sent) reaches this point with it; it is described only when the signal finds nothing:
 * one call to the server per callback instead of two. A closed movement then costs more (see
 * `handleClosed`) only for a success callback.
 */
async function deliver(deps: ApiDeps, workflowId: string, event: ProviderCallbackEvent): Promise<Delivery> {
  const handle = deps.client.workflow.getHandle(workflowId);
  const shortCall = () => Date.now() + deps.timeouts.shortCallMs;
  const describe = (deadline: number) => deps.client.withDeadline(deadline, () => handle.describe());
  const deadline = shortCall();
  const describedWithSignal = event.trust === 'hint' ? describe(deadline) : undefined;
  const [signalled] = await Promise.allSettled([
    deps.client.withDeadline(deadline, () => handle.signal(providerCallbackSignal, event)),
    ...(describedWithSignal ? [describedWithSignal] : []),
  ]);
  if (signalled.status === 'fulfilled') return 'signalled';
  if (!(signalled.reason instanceof WorkflowNotFoundError)) throw signalled.reason;
  const [described] = await Promise.allSettled([describedWithSignal ?? describe(shortCall())]);
  if (described.status === 'rejected') {
    if (described.reason instanceof WorkflowNotFoundError) return 'missing';
    throw described.reason;
  }
  if (described.value.status.name !== 'RUNNING') return 'closed';
  // Not found to the signal, yet running to the describe: a new run started in between. Signal it.
  try {
    await deps.client.withDeadline(shortCall(), () => handle.signal(providerCallbackSignal, event));
  } catch (err) {
    if (!(err instanceof WorkflowNotFoundError)) throw err;
    throw new ApiError(503, 'api_error', 'temporarily_unavailable', 'The callback could not be recorded; retry.', {
      headers: { 'Retry-After': '2' },
    });
  }
  return 'signalled';
}

export const CallbackParamsSchema = z.object({
  provider: z.string().meta({ description: `One of ${PROVIDER_IDS.join(', ')}.` }),
});

export const callbackRoutes: AnyRoute[] = [
  defineRoute({
    method: 'post',
    path: '/callbacks/:provider',
    operationId: 'receiveProviderCallback',
    summary: 'Provider callback (providers only)',
    description:
      "Where providers report payment, payout and bill results. The raw body is verified per provider (Finpay HMAC, NICEPAY RSA headers, BDPay platSign; Ayopop's " +
      'unsigned callbacks are confirmed by status inquiry) and answered in its own dialect once the workflow has the signal: BDPay `SUCCESS`, ' +
      'NICEPAY `{"responseCode":"2005600"}`, Finpay its `2000000` JSON, Ayopop HTTP 200. A forged callback is 401 and changes nothing.',
    tags: ['Callbacks'],
    auth: 'none',
    bodyKind: 'raw',
    params: CallbackParamsSchema,
    rawBody: { mediaType: '*/*', description: "The provider's callback, exactly as it signed it." },
    responses: {
      200: {
        description:
          "Accepted (or an unknown reference, answered so the provider stops retrying), in the provider's dialect.",
        mediaType: '*/*',
      },
      400: { description: 'The body does not parse (provider dialect).', mediaType: '*/*' },
      401: {
        description: 'The signature does not verify; nothing was signalled (provider dialect).',
        mediaType: '*/*',
      },
      404: { description: 'Unknown provider.', schema: ErrorResponseSchema },
      503: { description: 'Temporal did not take the signal; the provider should retry.', schema: ErrorResponseSchema },
    },
    async handler({ deps, req, res, params, log: requestLog }) {
      const provider = params.provider;
      if (!isProviderId(provider)) {
        deps.metrics.callbacks.inc({ provider: 'unknown', result: 'unknown_provider' });
        throw new ApiError(404, 'invalid_request_error', 'unknown_provider', `No such provider: '${provider}'`, {
          param: 'provider',
        });
      }
      const log = requestLog.child({ provider });
      const callbacks = deps.connectors[provider].callbacks;
      const raw: RawCallback = {
        headers: headersOf(req.headers),
        rawBody: Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0),
        contentType: req.get('content-type'),
      };

      let parsed: ParsedCallback;
      try {
        parsed = await callbacks.verifyAndParse(raw);
      } catch (err) {
        if (err instanceof CallbackSignatureError) {
          deps.metrics.callbacks.inc({ provider, result: 'rejected_signature' });
          log.warn({ reason: err.message }, 'callback rejected: signature does not verify');
          return send(res, callbacks.reject('signature'));
        }
        if (err instanceof CallbackPayloadError) {
          deps.metrics.callbacks.inc({ provider, result: 'rejected_payload' });
          log.warn({ reason: err.message }, 'callback rejected: body does not parse');
          return send(res, callbacks.reject('payload'));
        }
        throw err;
      }

      // A reference that is not one of ours (or of another kind) goes to a workflow id Kasir never starts,
      // so that it costs the same Temporal round trips as a real one and its answer comes just as late.
      const ours = kindOfId(parsed.reference) === parsed.kind;
      const workflowId = ours ? workflowIdOf(parsed.kind, parsed.reference) : decoyWorkflowId(parsed);
      const event: ProviderCallbackEvent = { ...parsed, provider, receivedAt: new Date().toISOString() };
      const delivery = await deliver(deps, workflowId, event); // throws: not acknowledged, the provider retries
      // An unsigned callback proves nothing about its sender: whoever sent it gets the same answer whether
      // or not the reference exists. A signed one gets the connector's answer for an unknown reference.
      const unknownAnswer = parsed.trust === 'hint' ? 'accepted' : 'unknown-reference';
      switch (delivery) {
        case 'missing':
          deps.metrics.callbacks.inc({ provider, result: 'unknown_reference' });
          log.warn(
            { reference: parsed.reference, kind: parsed.kind, ours, eventId: parsed.eventId },
            ours
              ? 'callback for a movement that does not exist; answered so the provider stops retrying'
              : 'callback names a reference Kasir never issued; answered so the provider stops retrying'
          );
          return send(res, callbacks.answer(unknownAnswer));
        case 'closed':
          await handleClosed(deps, log, provider, parsed.kind, workflowId, parsed);
          return send(res, callbacks.answer('accepted'));
        case 'signalled':
          deps.metrics.callbacks.inc({ provider, result: 'accepted' });
          log.info(
            { workflowId, eventId: parsed.eventId, trust: parsed.trust, status: parsed.outcome.status },
            'callback signalled'
          );
          return send(res, callbacks.answer('accepted'));
      }
    },
  }),
];
