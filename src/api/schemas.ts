/**
 * zod schemas shared by several routes: ids, metadata, the error object and the public views of
 * payments, payouts and bills. Request bodies live next to their routes. Every schema here is also
 * what the OpenAPI document shows (`.meta({ id })` names its component).
 */
import { z } from 'zod';
import { BILL_STATUSES } from '../domain/bill';
import { MAX_RUPIAH } from '../domain/money';
import { PAYMENT_METHODS, PAYMENT_STATUSES } from '../domain/payment';
import { PAYOUT_STATUSES } from '../domain/payout';
import { PROVIDER_IDS } from '../domain/provider';
import { REFUND_STATUSES } from '../domain/refund';
import type { MovementKind } from '../ids';
import { ERROR_TYPES } from './http-errors';
import { BILL_PROVIDER_IDS, PAYMENT_PROVIDER_IDS, PAYOUT_PROVIDER_IDS } from './providers';

/** Printable text without control characters. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const PRINTABLE = /^[^\u0000-\u001F\u007F]*$/;

export const MerchantReferenceSchema = z
  .string()
  .min(1)
  .max(64)
  .regex(PRINTABLE, 'must not contain control characters')
  .meta({
    description:
      'Your own reference for this movement (order id, invoice number). It identifies the movement: one reference is one ' +
      'movement (per merchant and kind), and it is the idempotency key, whatever the `Idempotency-Key` header says.',
    example: 'ORDER-10023',
  });

export const RupiahSchema = z
  .number({ error: 'must be a number' })
  .int({ error: 'must be a whole number of rupiah' })
  .positive({ error: 'must be positive' })
  .max(MAX_RUPIAH, { error: `must be at most ${MAX_RUPIAH}` })
  .meta({ description: 'Whole rupiah (IDR has no minor unit in practice).', example: 150000 });

export const MetadataSchema = z
  .record(z.string().min(1).max(40).regex(PRINTABLE), z.string().max(500))
  .refine((value) => Object.keys(value).length <= 20, { error: 'at most 20 keys' })
  .meta({
    description:
      'Up to 20 string key/value pairs (keys ≤ 40, values ≤ 500 characters), returned as given. No personal data.',
    example: { cartId: 'c_881' },
  });

export const ProviderSchema = z.enum(PROVIDER_IDS).meta({ description: 'A payment provider Kasir connects to.' });

/** A provider that can take payments (money in). */
export const PaymentProviderSchema = z
  .enum(PAYMENT_PROVIDER_IDS)
  .meta({ description: 'A provider Kasir takes payments through.' });
/** A provider that can send payouts. */
export const PayoutProviderSchema = z
  .enum(PAYOUT_PROVIDER_IDS)
  .meta({ description: 'A provider Kasir sends payouts through.' });
/** A provider that can pay bills. */
export const BillProviderSchema = z
  .enum(BILL_PROVIDER_IDS)
  .meta({ description: 'A provider Kasir pays bills through.' });
export const PaymentMethodSchema = z.enum(PAYMENT_METHODS).meta({ description: 'How the customer pays.' });

export const IdParamsSchema = z.object({
  id: z.string().max(64).meta({ description: 'Kasir id, as returned on creation.', example: 'P0M6XH4B8Q2W9N1C7D3E' }),
});

export const IdempotencyHeadersSchema = z.object({
  'Idempotency-Key': z
    .string()
    .min(1)
    .max(255)
    .regex(/^[\x21-\x7E]+$/, 'visible ASCII characters only')
    .optional()
    .meta({
      description:
        'Optional: `reference` identifies the movement (per merchant), whatever the key. ' +
        'Repeating a request with the same `reference` and body returns the same movement (200, `Idempotent-Replayed: true`), ' +
        'with this key, another key or none; the same `reference` with a different body is a 409 naming `reference`. ' +
        'A new key never creates a second movement for a reference.',
    }),
});

export const FieldErrorSchema = z.object({
  param: z.string(),
  code: z.string(),
  message: z.string(),
});

export const ErrorResponseSchema = z
  .object({
    error: z.object({
      type: z.enum(ERROR_TYPES),
      code: z.string().meta({ example: 'validation_failed' }),
      message: z.string(),
      param: z.string().optional().meta({ description: 'The first offending parameter, when there is one.' }),
      errors: z
        .array(FieldErrorSchema)
        .optional()
        .meta({ description: 'Every offending parameter (validation errors).' }),
      request_id: z.string().meta({ description: 'Also in the `Request-Id` header. Quote it to support.' }),
    }),
  })
  .meta({ id: 'Error', description: 'The one error shape of the Kasir API.' });

const TimelineEntrySchema = z.object({
  at: z.string(),
  status: z.string(),
  source: z.enum([
    'registration',
    'callback',
    'poll',
    'cancel',
    'expiry',
    'submission',
    'query',
    'operator',
    'inquiry',
    'payment',
  ]),
  note: z.string().optional(),
  money: z.boolean().optional().meta({
    description: 'A money event (status change, submission, operator action, attention flag): never dropped.',
  }),
  repeated: z
    .number()
    .int()
    .min(2)
    .optional()
    .meta({ description: 'A routine entry that happened this many times in a row.' }),
  lastAt: z.string().optional().meta({ description: 'When a repeated routine entry last happened.' }),
});

/** The fields that say which movement it is, first in every view. */
function identityOf<K extends MovementKind>(kind: K) {
  return {
    id: z.string(),
    kind: z.literal(kind),
    merchantId: z.string(),
    merchantReference: z.string(),
    provider: ProviderSchema,
  };
}

const FailureSchema = z.object({ code: z.string(), message: z.string() });

const TimestampsAndAttention = {
  needsAttention: z.boolean().meta({ description: 'An operator should look at this movement (see attentionReason).' }),
  attentionReason: z.string().optional(),
  createdAt: z.string(),
  updatedAt: z.string(),
  timeline: z.array(TimelineEntrySchema),
};

export const PaymentInstructionsSchema = z
  .object({
    vaNumber: z.string().optional(),
    paymentCode: z.string().optional(),
    redirectUrl: z.string().optional(),
    deeplink: z.string().optional(),
    qrContent: z.string().optional(),
    qrImageUrl: z.string().optional(),
    checkoutUrl: z
      .string()
      .optional()
      .meta({
        description:
          "Kasir's hosted checkout page for this payment: send the customer there instead of rendering the instructions yourself. " +
          'Signed and unguessable; valid until the payment closes (plus a grace period to show the outcome).',
      }),
    expiresAt: z.string(),
  })
  .meta({
    id: 'PaymentInstructions',
    description: 'What the customer needs in order to pay; fields appear as the method has them.',
  });

export const PaymentViewSchema = z
  .object({
    ...identityOf('payment'),
    method: PaymentMethodSchema,
    amount: z.number().int(),
    status: z.enum(PAYMENT_STATUSES),
    instructions: PaymentInstructionsSchema.optional(),
    providerReference: z.string().optional(),
    providerStatus: z.string().optional(),
    paidAmount: z.number().int().optional(),
    paidAt: z.string().optional(),
    failure: FailureSchema.optional(),
    metadata: z.record(z.string(), z.string()).optional(),
    routing: z
      .object({
        pinned: z.boolean().optional(),
        tried: z.array(
          z.object({
            provider: ProviderSchema,
            reason: z.enum(['declined', 'refused', 'unknown_then_not_found']),
            detail: z.string(),
            at: z.string(),
          })
        ),
        leftChecked: z.boolean().optional(),
      })
      .optional()
      .meta({
        description:
          'Routed payments only: the providers registration left (and why) before `provider`, which holds the order.',
      }),
    refundedAmount: z.number().int().optional().meta({
      description: 'Returned to the customer by refunds that succeeded; present once a refund was asked for.',
    }),
    refunds: z
      .array(
        z.object({
          id: z.string(),
          amount: z.number().int(),
          status: z.enum(['IN_FLIGHT', 'SUCCEEDED', 'FAILED']),
          requestedAt: z.string(),
        })
      )
      .optional()
      .meta({ description: "The payment's refunds, oldest first (GET `/v1/refunds/{id}` for each one's detail)." }),
    ...TimestampsAndAttention,
  })
  .meta({ id: 'Payment', description: 'A payment (money in) as Kasir reports it.' });
export type PaymentView = z.infer<typeof PaymentViewSchema>;

/** An operator's resolution of a payout or a bill payment the provider left unresolved. */
const OperatorResolutionSchema = z.object({
  by: z.string(),
  outcome: z.enum(['SUCCEEDED', 'FAILED']),
  evidence: z.string(),
  at: z.string(),
  providerStatus: z
    .string()
    .optional()
    .meta({ description: "The provider's own status when the operator resolved it." }),
  forced: z
    .boolean()
    .optional()
    .meta({ description: "`true`: applied with `force` although the provider's status contradicted it." }),
});

export const PayoutViewSchema = z
  .object({
    ...identityOf('payout'),
    amount: z.number().int(),
    fee: z.number().int().optional(),
    feeMode: z.enum(['deducted', 'merchant']),
    beneficiary: z.object({ bankCode: z.string(), accountNumberMasked: z.string() }),
    status: z.enum(PAYOUT_STATUSES),
    submitted: z.boolean(),
    submittedAt: z.string().optional(),
    providerReference: z.string().optional(),
    providerStatus: z.string().optional(),
    failure: FailureSchema.optional(),
    resolution: OperatorResolutionSchema.optional(),
    metadata: z.record(z.string(), z.string()).optional(),
    ...TimestampsAndAttention,
  })
  .meta({
    id: 'Payout',
    description:
      'A payout (money out to a bank account). UNKNOWN is resolved by the provider or an operator, never by resubmitting.',
  });
export type PayoutView = z.infer<typeof PayoutViewSchema>;

export const RefundViewSchema = z
  .object({
    ...identityOf('refund'),
    paymentId: z.string().meta({ description: 'The payment this refund returns money of.' }),
    amount: z.number().int(),
    reason: z.string(),
    status: z.enum(REFUND_STATUSES).meta({
      description:
        'REQUESTED until the provider answers; SUCCEEDED or FAILED; UNKNOWN while an answer that was lost is resolved by inquiry (never by refunding again).',
    }),
    submitted: z.boolean(),
    submittedAt: z.string().optional(),
    providerStatus: z
      .string()
      .optional()
      .meta({ description: "The payment's status at the provider after the refund." }),
    failure: FailureSchema.optional(),
    resolution: z
      .object({ by: z.string(), outcome: z.enum(['SUCCEEDED', 'FAILED']), evidence: z.string(), at: z.string() })
      .optional()
      .meta({ description: "An operator's resolution of a refund whose outcome the provider could not prove." }),
    metadata: z.record(z.string(), z.string()).optional(),
    ...TimestampsAndAttention,
  })
  .meta({ id: 'Refund', description: 'A refund of a paid payment, as Kasir reports it.' });
export type RefundView = z.infer<typeof RefundViewSchema>;

export const BillViewSchema = z
  .object({
    ...identityOf('bill'),
    productCode: z.string(),
    status: z.enum(BILL_STATUSES),
    inquiry: z
      .object({
        inquiryId: z.string(),
        customerName: z.string(),
        productName: z.string().optional(),
        amount: z.number().int(),
        totalAdmin: z.number().int(),
        processingFee: z.number().int(),
        expiresAt: z.string(),
        details: z.array(z.object({ key: z.string(), value: z.string() })),
      })
      .optional(),
    total: z
      .number()
      .int()
      .optional()
      .meta({ description: 'amount + totalAdmin + processingFee: what `expectedTotal` must equal.' }),
    inquiryFailure: z.object({ code: z.string(), reason: z.object({ id: z.string(), en: z.string() }) }).optional(),
    paymentSubmitted: z.boolean(),
    paidAt: z.string().optional(),
    providerCode: z.string().optional(),
    transactionId: z.string().optional(),
    token: z
      .string()
      .optional()
      .meta({ description: 'Token, serial number or voucher for the customer (PLN token, pulsa serial).' }),
    failure: z.object({ code: z.string(), message: z.string(), depositRefunded: z.boolean() }).optional(),
    resolution: OperatorResolutionSchema.optional(),
    ...TimestampsAndAttention,
  })
  .meta({ id: 'Bill', description: 'A bill (PPOB): inquiry, then one payment after your confirmation.' });
export type BillView = z.infer<typeof BillViewSchema>;

/** A page of one kind's movements as `GET` on its collection answers, named `<Title>List` in the OpenAPI document. */
export function movementListSchema<K extends MovementKind>(kind: K, title: string) {
  const summary = z
    .object({
      id: z.string(),
      kind: z.literal(kind),
      merchantReference: z.string().optional(),
      provider: z.string().optional(),
      method: z.string().optional(),
      amount: z.number().int().optional(),
      status: z.string().optional(),
      needsAttention: z.boolean().optional(),
      createdAt: z.string().optional(),
      closedAt: z.string().optional(),
    })
    .meta({
      id: `${title}Summary`,
      description: `A ${kind} as the search index sees it (eventually consistent, updated within seconds). GET the ${kind} for its full state.`,
    });
  return z
    .object({
      object: z.literal('list'),
      data: z.array(summary),
      hasMore: z.boolean(),
      nextPageToken: z
        .string()
        .nullable()
        .meta({ description: 'Pass as `page_token` for the next page; null on the last page.' }),
    })
    .meta({ id: `${title}List` });
}

/** A page of movements of kind `K`. */
export type MovementList<K extends MovementKind> = z.infer<ReturnType<typeof movementListSchema<K>>>;
export type PaymentList = MovementList<'payment'>;
export type PaymentSummary = PaymentList['data'][number];
export type PayoutList = MovementList<'payout'>;
export type BillList = MovementList<'bill'>;

/** Delivery of a merchant event (workflows/movement-state.ts `DeliveryStatus`). */
export const DeliveryStatusSchema = z.enum(['pending', 'delivered', 'failing', 'skipped']).meta({
  description:
    '`pending`: queued, not yet answered; `delivered`: your endpoint answered 2xx; `failing`: your endpoint failed and ' +
    'Kasir is retrying with backoff; `skipped`: you configured no webhook URL.',
});

export const DeliveryAttemptSchema = z
  .object({
    at: z.string().meta({ description: 'When the attempt started.' }),
    attempt: z.number().int().meta({ description: 'Attempt number of the delivery (1 for a redelivery).' }),
    status: z.number().int().optional().meta({ description: 'The HTTP status your endpoint answered.' }),
    error: z.string().optional().meta({ description: 'Why no HTTP answer came (timeout, network error).' }),
    latencyMs: z.number().int(),
    redelivery: z.boolean().optional().meta({ description: 'Sent by `POST /v1/events/{id}/redeliver`.' }),
  })
  .meta({ id: 'DeliveryAttempt' });
export type DeliveryAttemptView = z.infer<typeof DeliveryAttemptSchema>;

export const EventViewSchema = z
  .object({
    object: z.literal('event'),
    id: z.string().meta({ description: 'The id your webhook carried (`Kasir-Event-Id`); deduplicate on it.' }),
    type: z.string().meta({ example: 'payment.succeeded' }),
    merchantId: z.string(),
    createdAt: z.string(),
    movement: z.object({
      kind: z.enum(['payment', 'payout', 'bill', 'refund']),
      id: z.string(),
    }),
    data: z
      .record(z.string(), z.unknown())
      .meta({ description: 'The movement as the webhook carried it (as GET shows it).' }),
    deliveryStatus: DeliveryStatusSchema,
    deliveredAt: z.string().optional(),
    attemptCount: z.number().int().meta({ description: 'Delivery attempts made so far, redeliveries included.' }),
    attempts: z.array(DeliveryAttemptSchema).meta({ description: 'The latest attempts, oldest first (bounded).' }),
    nextAttemptAt: z.string().optional().meta({ description: 'When Kasir retries a failing delivery next.' }),
  })
  .meta({ id: 'Event', description: 'A webhook Kasir sent (or is sending) you, with its delivery.' });
export type EventView = z.infer<typeof EventViewSchema>;

export const EventListSchema = z
  .object({
    object: z.literal('list'),
    data: z.array(EventViewSchema),
    hasMore: z.boolean(),
    nextPageToken: z
      .string()
      .nullable()
      .meta({ description: 'Pass as `page_token` for the next page; null on the last page.' }),
  })
  .meta({ id: 'EventList' });
export type EventList = z.infer<typeof EventListSchema>;

export const RedeliveryResultSchema = z
  .object({
    object: z.literal('event_redelivery'),
    eventId: z.string(),
    delivered: z.boolean().meta({ description: 'Your endpoint answered 2xx.' }),
    attempt: DeliveryAttemptSchema,
    recorded: z.boolean().meta({ description: "The attempt was recorded in the event's delivery attempts." }),
  })
  .meta({ id: 'EventRedelivery' });
export type RedeliveryResult = z.infer<typeof RedeliveryResultSchema>;
