/**
 * Provider callbacks (style anchors 5.5): raw body → the connector verifies and parses it → signal the
 * workflow the reference names → answer in the provider's dialect, only once the signal is accepted.
 *
 * Never signal-with-start: a forged or late callback can never create a movement. A reference Kasir
 * does not know gets the answer that stops the provider's retries (retrying cannot help), plus a log
 * line and a metric. A callback for a workflow that already closed is acknowledged, and if it reports
 * money Kasir did not record as such, it is logged at error level as an orphan for an operator.
 */
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/client';
import type { Response } from 'express';
import { z } from 'zod';
import type { CallbackAnswer, RawCallback } from '../../connectors/connector';
import type { ParsedCallback, ProviderCallbackEvent } from '../../domain/callback';
import { CallbackPayloadError, CallbackSignatureError } from '../../domain/errors';
import { PROVIDER_IDS, isProviderId } from '../../domain/provider';
import type { ProviderId } from '../../domain/provider';
import { kindOfId, sha256Hex, workflowIdOf } from '../../ids';
import type { MovementKind } from '../../ids';
import {
  billStateQuery,
  paymentStateQuery,
  payoutStateQuery,
  providerCallbackSignal,
} from '../../../workflows/messages';
import type { lateCallbackWorkflow } from '../../../workflows/late-callback';
import {
  KasirKind,
  KasirMerchant,
  KasirMerchantReference,
  KasirNeedsAttention,
  KasirProvider,
  KasirStatus,
} from '../../../workflows/search-attributes';
import type { MoneyMovementState } from '../../../workflows/types';
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

async function closedState(deps: ApiDeps, kind: MovementKind, workflowId: string): Promise<MoneyMovementState> {
  const handle = deps.client.workflow.getHandle(workflowId);
  const deadline = Date.now() + deps.timeouts.shortCallMs;
  switch (kind) {
    case 'payment':
      return deps.client.withDeadline(deadline, () => handle.query(paymentStateQuery));
    case 'payout':
      return deps.client.withDeadline(deadline, () => handle.query(payoutStateQuery));
    case 'bill':
      return deps.client.withDeadline(deadline, () => handle.query(billStateQuery));
  }
}

/** States in which a closed movement already recorded the money a success callback reports. */
const MONEY_RECORDED = new Set(['SUCCEEDED', 'AMOUNT_MISMATCH', 'REFUNDED']);

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
  if (MONEY_RECORDED.has(movement.status)) {
    deps.metrics.callbacks.inc({ provider, result: 'closed' });
    log.info({ workflowId, eventId: parsed.eventId }, 'repeat success callback for a closed workflow that recorded it');
    return;
  }
  const recordId = `${workflowId}:late:${sha256Hex(parsed.eventId).slice(0, 16)}`;
  const callback: ProviderCallbackEvent = { ...parsed, provider, receivedAt: new Date().toISOString() };
  try {
    await deps.client.withDeadline(Date.now() + deps.timeouts.shortCallMs, () =>
      deps.client.workflow.start<typeof lateCallbackWorkflow>('lateCallbackWorkflow', {
        workflowId: recordId,
        taskQueue: deps.config.temporal.taskQueue,
        args: [{ movement, callback, timings: deps.config.timings }],
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
        typedSearchAttributes: [
          { key: KasirKind, value: kind },
          { key: KasirStatus, value: 'LATE_CALLBACK' },
          { key: KasirProvider, value: provider },
          { key: KasirMerchant, value: movement.merchantId },
          { key: KasirMerchantReference, value: movement.merchantReference },
          { key: KasirNeedsAttention, value: true },
        ],
        staticSummary: `Late ${kind} callback: ${provider} reports ${providerStatusOf(parsed)} after ${movement.id} closed ${movement.status}`,
      })
    );
  } catch (err) {
    // The same callback delivered again: its record exists already.
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
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

      const kind = kindOfId(parsed.reference);
      if (kind === undefined || kind !== parsed.kind) {
        deps.metrics.callbacks.inc({ provider, result: 'unknown_reference' });
        log.warn(
          { reference: parsed.reference, kind: parsed.kind },
          'callback names a reference Kasir never issued; answered so the provider stops retrying'
        );
        return send(res, callbacks.answer('unknown-reference'));
      }

      const workflowId = workflowIdOf(kind, parsed.reference);
      const handle = deps.client.workflow.getHandle(workflowId);
      const event: ProviderCallbackEvent = { ...parsed, provider, receivedAt: new Date().toISOString() };
      try {
        await deps.client.withDeadline(Date.now() + deps.timeouts.shortCallMs, () =>
          handle.signal(providerCallbackSignal, event)
        );
      } catch (err) {
        if (!(err instanceof WorkflowNotFoundError)) throw err; // not acknowledged: the provider retries
        let exists = true;
        try {
          await deps.client.withDeadline(Date.now() + deps.timeouts.shortCallMs, () => handle.describe());
        } catch (describeErr) {
          if (!(describeErr instanceof WorkflowNotFoundError)) throw describeErr;
          exists = false;
        }
        if (!exists) {
          deps.metrics.callbacks.inc({ provider, result: 'unknown_reference' });
          log.warn(
            { workflowId, eventId: parsed.eventId },
            'callback for a movement that does not exist; answered so the provider stops retrying'
          );
          return send(res, callbacks.answer('unknown-reference'));
        }
        await handleClosed(deps, log, provider, kind, workflowId, parsed);
        return send(res, callbacks.answer('accepted'));
      }
      deps.metrics.callbacks.inc({ provider, result: 'accepted' });
      log.info(
        { workflowId, eventId: parsed.eventId, trust: parsed.trust, status: parsed.outcome.status },
        'callback signalled'
      );
      send(res, callbacks.answer('accepted'));
    },
  }),
];
