import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import express from 'express';
import type { Connector, PaymentsCapability } from '../../src/connectors/connector';
import { createNicepayConnector } from '../../src/connectors/nicepay';
import type { NicepayConfig } from '../../src/connectors/nicepay';
import { createNicepaySimulator, nicepaySimulatorSetup } from '../../src/sandbox/nicepay';
import type { NicepaySimulator, NicepayTestCredentials } from '../../src/sandbox/nicepay';
import { NICEPAY_PATHS } from '../../src/connectors/nicepay/schemas';
import {
  newExternalId,
  signClientTimestamp,
  signTransaction,
  toSnapTimestamp,
} from '../../src/connectors/nicepay/signing';
import { listen } from '../../src/sandbox/simulator-kit';
import type { RunningServer } from '../../src/sandbox/simulator-kit';
import {
  CallbackPayloadError,
  CallbackSignatureError,
  OutcomeUnknownError,
  ProviderAuthError,
  ProviderRequestRejectedError,
  ProviderUnavailableError,
} from '../../src/domain/errors';
import type { KasirError } from '../../src/domain/errors';
import type { CreatePaymentInput, PaymentMethod, PaymentRef } from '../../src/domain/payment';
import { eventually } from '../helpers/eventually';

interface ReceivedNotification {
  headers: IncomingHttpHeaders;
  rawBody: Buffer;
  status: number;
}

/** Kasir's side of the notification: verify, answer in NICEPAY's dialect, record what arrived. */
class NotificationReceiver {
  readonly received: ReceivedNotification[] = [];
  /** Answers the next N deliveries with HTTP 200 but a non-2005600 body, as a broken receiver would. */
  refuseNext = 0;
  server?: RunningServer;

  constructor(private readonly connector: () => Connector) {}

  async start(): Promise<string> {
    const app = express();
    app.post('/callbacks/nicepay', express.raw({ type: () => true }), (req, res) => {
      const rawBody = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      const headers = Object.fromEntries(
        Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : v])
      );
      const finish = (answer: { status: number; contentType: string; body: string }) => {
        this.received.push({ headers: req.headers, rawBody, status: answer.status });
        res.status(answer.status).type(answer.contentType).send(answer.body);
      };
      if (this.refuseNext > 0) {
        this.refuseNext -= 1;
        return finish({
          status: 200,
          contentType: 'application/json',
          body: '{"responseCode":"5005600","responseMessage":"Try later"}',
        });
      }
      const callbacks = this.connector().callbacks;
      callbacks.verifyAndParse({ headers, rawBody }).then(
        () => finish(callbacks.answer('accepted')),
        (err: unknown) => finish(callbacks.reject(err instanceof CallbackSignatureError ? 'signature' : 'payload'))
      );
    });
    this.server = await listen(app);
    return `${this.server.url}/callbacks/nicepay`;
  }

  for(reference: string): ReceivedNotification[] {
    return this.received.filter((r) =>
      r.rawBody.toString('utf8').includes(`"originalPartnerReferenceNo":"${reference}"`)
    );
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function failsWith(type: new (...args: never[]) => KasirError, providerCode?: string) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof type, `expected ${type.name}, got ${String(err)}`);
    if (providerCode !== undefined) assert.equal(err.providerCode, providerCode);
    return true;
  };
}

let referenceCounter = 0;
function newReference(): string {
  referenceCounter += 1;
  return `KP${Date.now().toString(36).toUpperCase()}${String(referenceCounter).padStart(4, '0')}`;
}

describe('nicepay connector against its simulator', () => {
  let credentials: NicepayTestCredentials;
  let config: NicepayConfig;
  let sim: NicepaySimulator;
  let simServer: RunningServer;
  let connector: Connector;
  let payments: PaymentsCapability;
  let callbackUrl: string;
  const receiver = new NotificationReceiver(() => connector);

  function paymentInput(overrides: Partial<CreatePaymentInput> = {}): CreatePaymentInput {
    return {
      reference: newReference(),
      amount: 150_000,
      method: 'EWALLET_DANA',
      customer: { name: 'Budi Santoso', phone: '081286288844' },
      description: 'Kopi susu x3',
      expiresInMinutes: 600,
      callbackUrl,
      returnUrl: 'https://shop.example/return',
      ...overrides,
    };
  }

  function refOf(input: CreatePaymentInput, providerReference?: string): PaymentRef {
    return {
      reference: input.reference,
      amount: input.amount,
      method: input.method,
      createdAt: new Date().toISOString(),
      ...(providerReference ? { providerReference } : {}),
    };
  }

  async function createdPayment(overrides: Partial<CreatePaymentInput> = {}) {
    const input = paymentInput(overrides);
    const registration = await payments.create(input);
    assert.equal(registration.result, 'registered');
    return { input, ref: refOf(input, registration.providerReference), registration };
  }

  async function control(reference: string, action: 'pay' | 'fail' | 'expire'): Promise<number> {
    const response = await fetch(`${simServer.url}/_sim/orders/${reference}/${action}`, { method: 'POST' });
    return response.status;
  }

  async function forceResponse(
    service: 'payment' | 'status' | 'refund',
    responseCode: string,
    responseMessage?: string,
    count = 1
  ) {
    const response = await fetch(`${simServer.url}/_sim/responses`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ service, responseCode, responseMessage, count }),
    });
    assert.equal(response.status, 201);
  }

  before(async () => {
    const setup = nicepaySimulatorSetup();
    credentials = setup.credentials;
    sim = createNicepaySimulator({
      credentials,
      timeScale: 0.001,
      // 1 ms, 10 ms, 20 ms, ... after scaling: retries are visible within a test.
      notificationScheduleMs: [1_000, 10_000, 20_000, 20_000, 20_000],
    });
    simServer = await listen(sim.app);
    // A generous timeout keeps a loaded machine from failing tests that are not about timeouts; the slow-answer
    // test uses its own 300 ms connector.
    config = { ...setup.connectorConfig(simServer.url), timeoutMs: 5_000 };
    connector = createNicepayConnector(config);
    payments = connector.payments!;
    callbackUrl = await receiver.start();
  });

  after(async () => {
    sim.stop();
    await simServer.close();
    await receiver.server?.close();
  });

  afterEach(async () => {
    sim.faults.clear();
    sim.callbacks.clearFaults();
    await fetch(`${simServer.url}/_sim/responses`, { method: 'DELETE' });
  });

  describe('access token', () => {
    it('asks for one token however many calls start at once', async () => {
      const fresh = createNicepayConnector(config);
      const { ref } = await createdPayment();
      const before = sim.tokenStats().issued;
      const outcomes = await Promise.all(Array.from({ length: 25 }, () => fresh.payments!.inquire(ref)));
      assert.equal(outcomes.length, 25);
      assert.equal(sim.tokenStats().issued - before, 1);
    });

    it('renews the token before its 900 s run out, without waiting for a rejection', async () => {
      let offsetMs = 0;
      const clocked = createNicepayConnector(config, { now: () => Date.now() + offsetMs });
      const { ref } = await createdPayment();
      const start = sim.tokenStats().issued;
      await clocked.payments!.inquire(ref);
      assert.equal(sim.tokenStats().issued - start, 1);
      offsetMs = 839_000; // renewal is due at 900 s - 60 s margin = 840 s
      await clocked.payments!.inquire(ref);
      assert.equal(sim.tokenStats().issued - start, 1);
      offsetMs = 841_000;
      await clocked.payments!.inquire(ref);
      assert.equal(sim.tokenStats().issued - start, 2);
    });

    it('fetches a new token once when NICEPAY answers 401xx01 for an expired one', async () => {
      const { ref } = await createdPayment();
      const before = sim.tokenStats().issued;
      sim.expireTokens();
      const outcome = await payments.inquire(ref);
      assert.equal(outcome.status, 'pending');
      assert.equal(sim.tokenStats().issued - before, 1);
    });

    it('gives up with ProviderAuthError when a fresh token is refused too', async () => {
      const { ref } = await createdPayment();
      await forceResponse('status', '4015501', 'Access Token Invalid', 2);
      await assert.rejects(payments.inquire(ref), failsWith(ProviderAuthError, '4015501'));
    });

    it('is refused with 4017300 when the token request is signed with another key', async () => {
      const timestamp = toSnapTimestamp(new Date());
      const response = await fetch(`${simServer.url}/nicepay${NICEPAY_PATHS.accessToken}`, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          'X-TIMESTAMP': timestamp,
          'X-CLIENT-KEY': credentials.clientId,
          'X-SIGNATURE': signClientTimestamp(credentials.nicepayPrivateKeyPem, credentials.clientId, timestamp),
        },
        body: JSON.stringify({ grantType: 'client_credentials' }),
      });
      assert.equal(response.status, 401);
      assert.equal(((await response.json()) as { responseCode: string }).responseCode, '4017300');
    });
  });

  describe('payment, status and refund', () => {
    it('registers a debit as pending with NICEPAY referenceNo and redirect instructions', async () => {
      const { input, registration } = await createdPayment();
      assert.equal(registration.result, 'registered');
      if (registration.result !== 'registered') return;
      assert.match(registration.providerReference ?? '', new RegExp(`^${credentials.clientId}05\\d{18}$`));
      assert.equal(registration.outcome.status, 'pending');
      assert.ok(registration.instructions.redirectUrl);
      assert.ok(registration.instructions.deeplink);
      assert.equal(sim.order(input.reference)?.status, '01');
      assert.equal(sim.submissions.get(input.reference), 1);
    });

    it('sends each wallet as its mitraCd', async () => {
      const methods: Array<[PaymentMethod, string]> = [
        ['EWALLET_OVO', 'OVOE'],
        ['EWALLET_DANA', 'DANA'],
        ['EWALLET_LINKAJA', 'LINK'],
        ['EWALLET_SHOPEEPAY', 'ESHP'],
      ];
      for (const [method, mitraCd] of methods) {
        const { input } = await createdPayment({ method });
        assert.equal(sim.order(input.reference)?.mitraCd, mitraCd);
      }
    });

    it('follows a debit from pending to paid, partly refunded and fully refunded', async () => {
      const { ref } = await createdPayment({ amount: 100_000 });
      assert.equal((await payments.inquire(ref)).status, 'pending');
      assert.equal(await control(ref.reference, 'pay'), 200);
      const paid = await payments.inquire(ref);
      assert.equal(paid.status, 'succeeded');
      assert.equal(paid.providerStatus, '00');
      assert.equal(paid.paidAmount, 100_000);
      assert.ok(paid.paidAt);

      const partial = await payments.refund!(ref, {
        refundReference: `${ref.reference}R1`,
        amount: 30_000,
        reason: 'one cup spilt',
      });
      assert.equal(partial.status, 'succeeded');
      await assert.rejects(
        payments.refund!(ref, { refundReference: `${ref.reference}R2`, amount: 70_001, reason: 'too much' }),
        failsWith(ProviderRequestRejectedError, '4035802')
      );
      const rest = await payments.refund!(ref, {
        refundReference: `${ref.reference}R3`,
        amount: 70_000,
        reason: 'order cancelled',
      });
      assert.equal(rest.status, 'refunded');
      assert.equal((await payments.inquire(ref)).status, 'refunded');
      assert.equal(sim.order(ref.reference)?.status, '04');
    });

    it('refunds only a paid debit', async () => {
      const { ref } = await createdPayment();
      await assert.rejects(
        payments.refund!(ref, { refundReference: `${ref.reference}R1`, amount: 1_000, reason: 'not paid yet' }),
        failsWith(ProviderRequestRejectedError, '4035815')
      );
    });

    it('treats a repeated partnerRefundNo as the refund already made', async () => {
      const { ref } = await createdPayment({ amount: 50_000 });
      await control(ref.reference, 'pay');
      const refund = { refundReference: `${ref.reference}R1`, amount: 50_000, reason: 'duplicate order' };
      assert.equal((await payments.refund!(ref, refund)).status, 'refunded');
      assert.equal((await payments.refund!(ref, refund)).status, 'refunded');
      assert.equal(sim.order(ref.reference)?.refunds.length, 1);
    });

    it('reports a failed debit with its failure', async () => {
      const { ref } = await createdPayment();
      await control(ref.reference, 'fail');
      const outcome = await payments.inquire(ref);
      assert.equal(outcome.status, 'failed');
      assert.equal(outcome.failure?.code, '06');
    });

    it('cancels a debit whose validUpTo passes (05), by timer and by control', async () => {
      const { ref } = await createdPayment({ expiresInMinutes: 1 }); // 60 ms at timeScale 0.001
      const expired = await eventually(
        async () => {
          const outcome = await payments.inquire(ref);
          return outcome.status === 'pending' ? undefined : outcome;
        },
        3_000,
        'expiry'
      );
      assert.equal(expired.status, 'cancelled');
      assert.equal(expired.providerStatus, '05');
      assert.equal(await control(ref.reference, 'pay'), 409);

      const second = await createdPayment();
      assert.equal(await control(second.ref.reference, 'expire'), 200);
      assert.equal((await payments.inquire(second.ref)).status, 'cancelled');
    });

    it('refuses a repeated partnerReferenceNo with 4095401, which Kasir reports as unknown, never declined', async () => {
      const { input, ref } = await createdPayment();
      await assert.rejects(payments.create(input), (err: unknown) => {
        assert.ok(err instanceof OutcomeUnknownError, `expected OutcomeUnknownError, got ${String(err)}`);
        assert.equal(err.providerCode, '4095401');
        assert.equal(err.httpStatus, 409);
        return true;
      });
      assert.equal(sim.submissions.get(input.reference), 2);
      // The query finds the first payment, untouched.
      const outcome = await payments.inquire(ref);
      assert.deepEqual([outcome.status, outcome.providerReference], ['pending', ref.providerReference]);
    });

    it('reports any 409xx01 duplicate answer to a registration as unknown', async () => {
      await forceResponse('payment', '4095601', 'Duplicate partnerReferenceNo');
      await assert.rejects(payments.create(paymentInput()), failsWith(OutcomeUnknownError, '4095601'));
    });

    it('returns a decline as data, not as an error', async () => {
      const overLimit = await payments.create(paymentInput({ amount: 20_000_001 }));
      assert.deepEqual(overLimit, {
        result: 'declined',
        failure: { code: '4035402', message: 'Exceeds Transaction Amount Limit' },
      });
      await forceResponse('payment', '4035414', 'Insufficient Funds');
      const poor = await payments.create(paymentInput());
      assert.deepEqual(poor, { result: 'declined', failure: { code: '4035414', message: 'Insufficient Funds' } });
    });

    it('surfaces 400xx01/400xx02 as ProviderRequestRejectedError naming the field', async () => {
      await forceResponse('payment', '4005402', 'Invalid Mandatory Field {additionalInfo.billingPhone}');
      await assert.rejects(payments.create(paymentInput()), (err: unknown) => {
        assert.ok(err instanceof ProviderRequestRejectedError);
        assert.equal(err.providerCode, '4005402');
        assert.equal(err.field, 'additionalInfo.billingPhone');
        return true;
      });
    });

    it('reports a reference NICEPAY does not know (4045501 Transaction Not Found) as not_found', async () => {
      assert.deepEqual(await payments.inquire(refOf(paymentInput())), {
        status: 'not_found',
        providerStatus: '4045501',
      });
    });

    it('still rejects the other 404 answers to an inquiry, which are not "not found"', async () => {
      await forceResponse('status', '4045508', 'Invalid Merchant');
      await assert.rejects(payments.inquire(refOf(paymentInput())), failsWith(ProviderAuthError, '4045508'));
      await forceResponse('status', '4045504', 'Transaction Cancelled');
      await assert.rejects(payments.inquire(refOf(paymentInput())), failsWith(ProviderRequestRejectedError, '4045504'));
    });
  });

  describe('faults', () => {
    const paymentPath = `/nicepay${NICEPAY_PATHS.debitPayment}`;
    const statusPath = `/nicepay${NICEPAY_PATHS.debitStatus}`;

    it('turns a 500 on create into OutcomeUnknownError, and the inquiry shows nothing was made', async () => {
      sim.faults.add({ kind: 'http-5xx', path: paymentPath, status: 500 });
      const input = paymentInput();
      await assert.rejects(payments.create(input), failsWith(OutcomeUnknownError));
      assert.equal((await payments.inquire(refOf(input))).status, 'not_found');
    });

    it('turns a SNAP 5045400 on create into OutcomeUnknownError', async () => {
      await forceResponse('payment', '5045400', 'Request Timeout');
      await assert.rejects(payments.create(paymentInput()), failsWith(OutcomeUnknownError, '5045400'));
    });

    it('turns a 504 on status into ProviderUnavailableError (safe to retry)', async () => {
      const { ref } = await createdPayment();
      sim.faults.add({ kind: 'http-5xx', path: statusPath, status: 504 });
      await assert.rejects(payments.inquire(ref), failsWith(ProviderUnavailableError));
      assert.equal((await payments.inquire(ref)).status, 'pending');
    });

    it('turns a slow create into OutcomeUnknownError; the debit exists once the provider catches up', async () => {
      const impatient = createNicepayConnector({ ...config, timeoutMs: 300 });
      await impatient.payments!.inquire(refOf(paymentInput())).catch(() => undefined); // holds a token now
      sim.faults.add({ kind: 'slow', path: paymentPath, delayMs: 1_500 });
      const input = paymentInput();
      await assert.rejects(impatient.payments!.create(input), failsWith(OutcomeUnknownError));
      await eventually(() => sim.order(input.reference), 3_000, 'the slow create to land');
      const outcome = await payments.inquire(refOf(input));
      assert.equal(outcome.status, 'pending');
      assert.equal(outcome.providerReference, sim.order(input.reference)?.referenceNo);
      assert.equal(sim.submissions.get(input.reference), 1);
    });

    it('turns an accepted-then-dropped create into OutcomeUnknownError; inquiry finds the debit', async () => {
      sim.faults.add({ kind: 'accept-then-drop', path: paymentPath });
      const input = paymentInput();
      await assert.rejects(payments.create(input), failsWith(OutcomeUnknownError));
      assert.equal((await payments.inquire(refOf(input))).status, 'pending');
      assert.equal(sim.submissions.get(input.reference), 1);
    });

    it('re-registers after an accepted-then-dropped create: the 4095401 refusal is unknown too, one debit', async () => {
      sim.faults.add({ kind: 'accept-then-drop', path: paymentPath });
      const input = paymentInput();
      await assert.rejects(payments.create(input), failsWith(OutcomeUnknownError));
      const held = sim.order(input.reference);
      assert.ok(held, 'NICEPAY holds the debit whose answer was lost');
      // What a re-run after a lost workflow task does: send the same partnerReferenceNo again.
      await assert.rejects(payments.create(input), failsWith(OutcomeUnknownError, '4095401'));
      const outcome = await payments.inquire(refOf(input));
      assert.deepEqual([outcome.status, outcome.providerReference], ['pending', held.referenceNo]);
      assert.equal(sim.submissions.get(input.reference), 2);
      assert.equal(sim.order(input.reference)?.referenceNo, held.referenceNo);
    });
  });

  describe('notification (service 56)', () => {
    it('is verified as a hint, then confirmed by status inquiry', async () => {
      const { ref } = await createdPayment();
      await control(ref.reference, 'pay');
      const [delivery] = await eventually(
        () => (receiver.for(ref.reference).length > 0 ? receiver.for(ref.reference) : undefined),
        3_000,
        'notification'
      );
      assert.equal(delivery!.status, 200);
      const headers = Object.fromEntries(Object.entries(delivery!.headers).map(([k, v]) => [k, String(v)]));
      const parsed = await connector.callbacks.verifyAndParse({ headers, rawBody: delivery!.rawBody });
      assert.equal(parsed.trust, 'hint');
      assert.equal(parsed.reference, ref.reference);
      assert.equal(parsed.eventId, `00:${ref.providerReference}`);
      assert.equal(parsed.outcome.status, 'succeeded');
      const confirmed = await payments.inquire(ref);
      assert.equal(confirmed.status, 'succeeded');
      const attempts = await eventually(
        () => (sim.callbacks.attemptsFor(ref.reference).some((a) => a.acknowledged) ? true : undefined),
        3_000,
        'acknowledgement'
      );
      assert.equal(attempts, true);
      assert.equal(sim.callbacks.attemptsFor(ref.reference).length, 1);
    });

    it('verifies only the headers, so a forged body is still just a hint the inquiry contradicts', async () => {
      const { ref } = await createdPayment();
      const timestamp = toSnapTimestamp(new Date());
      const lie = Buffer.from(
        JSON.stringify({
          originalReferenceNo: ref.providerReference,
          originalPartnerReferenceNo: ref.reference,
          amount: { value: '150000.00', currency: 'IDR' },
          latestTransactionStatus: '00',
        })
      );
      const headers = {
        'x-timestamp': timestamp,
        'x-client-key': credentials.clientId,
        'x-signature': signClientTimestamp(credentials.nicepayPrivateKeyPem, credentials.clientId, timestamp),
      };
      const parsed = await connector.callbacks.verifyAndParse({ headers, rawBody: lie });
      assert.equal(parsed.trust, 'hint');
      assert.equal((await payments.inquire(ref)).status, 'pending');
    });

    describe('freshness of X-TIMESTAMP (issue 13: the signature covers only client id and timestamp)', () => {
      const FIVE_MINUTES = 5 * 60_000;
      const signedAt = Date.parse('2026-12-01T04:04:12.000Z');

      /** One captured notification: genuine headers from NICEPAY's key, and a body that parses. */
      function captured(at = signedAt): { headers: Record<string, string>; rawBody: Buffer } {
        const timestamp = toSnapTimestamp(new Date(at));
        return {
          headers: {
            'x-timestamp': timestamp,
            'x-client-key': credentials.clientId,
            'x-signature': signClientTimestamp(credentials.nicepayPrivateKeyPem, credentials.clientId, timestamp),
          },
          rawBody: Buffer.from(
            JSON.stringify({
              originalReferenceNo: `${credentials.clientId}0520261201110412${'1234'}`,
              originalPartnerReferenceNo: newReference(),
              amount: { value: '150000.00', currency: 'IDR' },
              latestTransactionStatus: '00',
            })
          ),
        };
      }

      /** The same connector configuration, its clock at `now`. */
      const at = (now: number) => createNicepayConnector(config, { now: () => now }).callbacks;

      it('takes a notification whose X-TIMESTAMP is within 5 minutes of now, either way', async () => {
        const notification = captured();
        for (const offset of [0, 1_000, -1_000, FIVE_MINUTES, -FIVE_MINUTES]) {
          const parsed = await at(signedAt + offset).verifyAndParse(notification);
          assert.equal(parsed.trust, 'hint', `offset ${offset} ms`);
        }
      });

      it('refuses the same genuine headers replayed more than 5 minutes later, or dated ahead, with CallbackSignatureError', async () => {
        const notification = captured();
        for (const offset of [FIVE_MINUTES + 1_000, 60 * 60_000, 30 * 24 * 60 * 60_000, -(FIVE_MINUTES + 1_000)]) {
          await assert.rejects(
            at(signedAt + offset).verifyAndParse(notification),
            (err: unknown) => {
              assert.ok(err instanceof CallbackSignatureError, `offset ${offset} ms: ${String(err)}`);
              assert.match(err.message, /X-TIMESTAMP/);
              return true;
            },
            `offset ${offset} ms`
          );
        }
      });

      it('reads the clock at each notification, defaulting to Date.now', async () => {
        let now = signedAt;
        const callbacks = createNicepayConnector(config, { now: () => now }).callbacks;
        const notification = captured();
        assert.equal((await callbacks.verifyAndParse(notification)).trust, 'hint');
        now = signedAt + FIVE_MINUTES + 1_000;
        await assert.rejects(callbacks.verifyAndParse(notification), CallbackSignatureError);

        // No clock given: the real one. Fresh headers pass, headers signed 6 minutes ago do not.
        const real = createNicepayConnector(config).callbacks;
        assert.equal((await real.verifyAndParse(captured(Date.now()))).trust, 'hint');
        await assert.rejects(real.verifyAndParse(captured(Date.now() - 6 * 60_000)), CallbackSignatureError);
      });

      it('answers a replayed notification 401 4015600 in NICEPAY dialect', async () => {
        const stale = captured(Date.now() - 10 * 60_000);
        const response = await fetch(callbackUrl, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', ...stale.headers },
          body: stale.rawBody,
        });
        assert.equal(response.status, 401);
        assert.equal(((await response.json()) as { responseCode: string }).responseCode, '4015600');
      });
    });

    it('answers 2005600 whatever the reference, and rejects in NICEPAY dialect', () => {
      for (const outcome of ['accepted', 'unknown-reference'] as const) {
        const answer = connector.callbacks.answer(outcome);
        assert.equal(answer.status, 200);
        assert.deepEqual(JSON.parse(answer.body), { responseCode: '2005600', responseMessage: 'Successful' });
      }
      assert.equal(JSON.parse(connector.callbacks.reject('signature').body).responseCode, '4015600');
      assert.equal(connector.callbacks.reject('signature').status, 401);
      assert.equal(connector.callbacks.reject('payload').status, 400);
    });

    it('rejects a wrong key, a foreign client key, missing headers and an unreadable body', async () => {
      const timestamp = toSnapTimestamp(new Date());
      const body = Buffer.from('{"originalPartnerReferenceNo":"X"}');
      const signedBy = (key: string, clientId = credentials.clientId) => ({
        'x-timestamp': timestamp,
        'x-client-key': clientId,
        'x-signature': signClientTimestamp(key, clientId, timestamp),
      });
      await assert.rejects(
        connector.callbacks.verifyAndParse({ headers: signedBy(credentials.merchantPrivateKeyPem), rawBody: body }),
        CallbackSignatureError
      );
      await assert.rejects(
        connector.callbacks.verifyAndParse({
          headers: signedBy(credentials.nicepayPrivateKeyPem, 'OTHERCLNT1'),
          rawBody: body,
        }),
        CallbackSignatureError
      );
      await assert.rejects(connector.callbacks.verifyAndParse({ headers: {}, rawBody: body }), CallbackSignatureError);
      await assert.rejects(
        connector.callbacks.verifyAndParse({ headers: signedBy(credentials.nicepayPrivateKeyPem), rawBody: body }),
        CallbackPayloadError
      );
      await assert.rejects(
        connector.callbacks.verifyAndParse({
          headers: signedBy(credentials.nicepayPrivateKeyPem),
          rawBody: Buffer.from('not json'),
        }),
        CallbackPayloadError
      );
    });

    it('is retried on schedule until the answer carries 2005600', async () => {
      const { ref } = await createdPayment();
      receiver.refuseNext = 2;
      await control(ref.reference, 'pay');
      await eventually(
        () => (sim.callbacks.attemptsFor(ref.reference).some((a) => a.acknowledged) ? true : undefined),
        3_000,
        'acknowledged retry'
      );
      const attempts = sim.callbacks.attemptsFor(ref.reference);
      assert.deepEqual(
        attempts.map((a) => a.acknowledged),
        [false, false, true]
      );
    });

    it('can arrive twice with the same event id', async () => {
      const { ref } = await createdPayment();
      sim.callbacks.addFault({ kind: 'duplicate', reference: ref.reference });
      await control(ref.reference, 'pay');
      const deliveries = await eventually(
        () => (receiver.for(ref.reference).length >= 2 ? receiver.for(ref.reference) : undefined),
        3_000,
        'two deliveries'
      );
      const events = await Promise.all(
        deliveries.map((d) =>
          connector.callbacks.verifyAndParse({
            headers: Object.fromEntries(Object.entries(d.headers).map(([k, v]) => [k, String(v)])),
            rawBody: d.rawBody,
          })
        )
      );
      assert.equal(events[0]!.eventId, events[1]!.eventId);
    });

    it('can arrive late or never, while inquiry already tells the truth', async () => {
      const late = await createdPayment();
      sim.callbacks.addFault({ kind: 'delay', reference: late.ref.reference, delayMs: 300 });
      await control(late.ref.reference, 'pay');
      assert.equal((await payments.inquire(late.ref)).status, 'succeeded');
      assert.equal(receiver.for(late.ref.reference).length, 0);
      await eventually(
        () => (receiver.for(late.ref.reference).length > 0 ? true : undefined),
        3_000,
        'late notification'
      );

      const missing = await createdPayment();
      sim.callbacks.addFault({ kind: 'suppress', reference: missing.ref.reference });
      await control(missing.ref.reference, 'pay');
      assert.equal((await payments.inquire(missing.ref)).status, 'succeeded');
      await sleep(100);
      assert.equal(receiver.for(missing.ref.reference).length, 0);
      assert.equal(sim.callbacks.attemptsFor(missing.ref.reference).length, 0);
    });

    it('signed with the wrong key is refused by Kasir with 4015600', async () => {
      const { ref } = await createdPayment();
      sim.callbacks.addFault({ kind: 'forge', reference: ref.reference });
      await control(ref.reference, 'pay');
      const [delivery] = await eventually(
        () => (receiver.for(ref.reference).length > 0 ? receiver.for(ref.reference) : undefined),
        3_000,
        'forged notification'
      );
      assert.equal(delivery!.status, 401);
      assert.equal(sim.callbacks.attemptsFor(ref.reference)[0]?.acknowledged, false);
    });
  });

  describe('simulator transactional checks', () => {
    let accessToken: string;

    before(async () => {
      const timestamp = toSnapTimestamp(new Date());
      const response = await fetch(`${simServer.url}/nicepay${NICEPAY_PATHS.accessToken}`, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          'X-TIMESTAMP': timestamp,
          'X-CLIENT-KEY': credentials.clientId,
          'X-SIGNATURE': signClientTimestamp(credentials.merchantPrivateKeyPem, credentials.clientId, timestamp),
        },
        body: JSON.stringify({ grantType: 'client_credentials', additionalInfo: {} }),
      });
      const json = (await response.json()) as {
        responseCode: string;
        accessToken: string;
        expiresIn: string;
        tokenType: string;
      };
      assert.equal(response.status, 200);
      assert.equal(json.responseCode, '2007300');
      assert.equal(json.expiresIn, '900');
      assert.equal(json.tokenType, 'Bearer');
      accessToken = json.accessToken;
    });

    function statusBody(reference = 'NOSUCHREF'): string {
      return JSON.stringify({
        merchantId: credentials.clientId,
        originalReferenceNo: '',
        originalPartnerReferenceNo: reference,
        serviceCode: '54',
        additionalInfo: {},
      });
    }

    async function post(
      path: string,
      body: string,
      tweak: {
        token?: string;
        secret?: string;
        externalId?: string;
        channelId?: string;
        omit?: string;
        sign?: string;
      } = {}
    ): Promise<{ status: number; responseCode: string; responseMessage: string }> {
      const timestamp = toSnapTimestamp(new Date());
      const token = tweak.token ?? accessToken;
      const headers: Record<string, string> = {
        'Content-Type': 'application/json',
        Authorization: `Bearer ${token}`,
        'X-TIMESTAMP': timestamp,
        'X-SIGNATURE': signTransaction(tweak.secret ?? credentials.clientSecret, {
          method: 'POST',
          relativePath: path,
          accessToken: token,
          body: tweak.sign ?? body,
          timestamp,
        }),
        'X-PARTNER-ID': credentials.clientId,
        'X-EXTERNAL-ID': tweak.externalId ?? newExternalId(),
        'CHANNEL-ID': tweak.channelId ?? `${credentials.clientId}01`,
      };
      if (tweak.omit) delete headers[tweak.omit];
      const response = await fetch(`${simServer.url}/nicepay${path}`, { method: 'POST', headers, body });
      const json = (await response.json()) as { responseCode: string; responseMessage: string };
      return { status: response.status, ...json };
    }

    it('answers with HTTP status = first three digits of responseCode', async () => {
      const answer = await post(NICEPAY_PATHS.debitStatus, statusBody());
      assert.equal(answer.responseCode, '4045501');
      assert.equal(answer.status, 404);
    });

    it('rejects a bad HMAC with 401xx00', async () => {
      const answer = await post(NICEPAY_PATHS.debitStatus, statusBody(), { secret: 'wrong-secret' });
      assert.deepEqual([answer.status, answer.responseCode], [401, '4015500']);
      const tampered = await post(NICEPAY_PATHS.debitStatus, statusBody(), { sign: statusBody('OTHER') });
      assert.equal(tampered.responseCode, '4015500');
    });

    it('accepts the signature over the minified form of a spaced body', async () => {
      const spaced = JSON.stringify(JSON.parse(statusBody()), null, 2);
      const answer = await post(NICEPAY_PATHS.debitStatus, spaced, { sign: statusBody() });
      assert.equal(answer.responseCode, '4045501');
    });

    it('rejects an unknown or expired token with 401xx01', async () => {
      const answer = await post(NICEPAY_PATHS.debitStatus, statusBody(), { token: 'not-a-token' });
      assert.deepEqual([answer.status, answer.responseCode], [401, '4015501']);
    });

    it('rejects an X-EXTERNAL-ID reused the same day with 409', async () => {
      const externalId = newExternalId();
      assert.equal((await post(NICEPAY_PATHS.debitStatus, statusBody(), { externalId })).responseCode, '4045501');
      const reused = await post(NICEPAY_PATHS.debitStatus, statusBody(), { externalId });
      assert.deepEqual([reused.status, reused.responseCode], [409, '4095500']);
    });

    it('rejects a missing mandatory header or field with 400xx02, naming it', async () => {
      const noHeader = await post(NICEPAY_PATHS.debitStatus, statusBody(), { omit: 'X-EXTERNAL-ID' });
      assert.deepEqual([noHeader.status, noHeader.responseCode], [400, '4005502']);
      assert.match(noHeader.responseMessage, /X-EXTERNAL-ID/);
      const body = JSON.parse(statusBody()) as Record<string, unknown>;
      delete body.originalPartnerReferenceNo;
      const noField = await post(NICEPAY_PATHS.debitStatus, JSON.stringify(body));
      assert.deepEqual([noField.status, noField.responseCode], [400, '4005502']);
      assert.match(noField.responseMessage, /originalPartnerReferenceNo/);
    });

    it('rejects a bad format with 400xx01, naming it', async () => {
      const badId = await post(NICEPAY_PATHS.debitStatus, statusBody(), { externalId: 'ABC-123' });
      assert.deepEqual([badId.status, badId.responseCode], [400, '4005501']);
      const body = { ...(JSON.parse(statusBody()) as object), amount: { value: '10', currency: 'IDR' } };
      const badAmount = await post(NICEPAY_PATHS.debitStatus, JSON.stringify(body));
      assert.deepEqual([badAmount.status, badAmount.responseCode], [400, '4005501']);
      assert.match(badAmount.responseMessage, /amount\.value/);
    });

    describe("the forms NICEPAY's own SDKs send (issue 13)", () => {
      /** A token request signed with the merchant key, carrying exactly `body`. */
      async function tokenRequest(
        body: string
      ): Promise<{ status: number; responseCode: string; responseMessage: string }> {
        const timestamp = toSnapTimestamp(new Date());
        const response = await fetch(`${simServer.url}/nicepay${NICEPAY_PATHS.accessToken}`, {
          method: 'POST',
          headers: {
            'Content-Type': 'application/json',
            'X-TIMESTAMP': timestamp,
            'X-CLIENT-KEY': credentials.clientId,
            'X-SIGNATURE': signClientTimestamp(credentials.merchantPrivateKeyPem, credentials.clientId, timestamp),
          },
          body,
        });
        const json = (await response.json()) as { responseCode: string; responseMessage: string };
        return { status: response.status, ...json };
      }

      it('issues a token for the Python SDK body with additionalInfo "" (optional, so not a missing field)', async () => {
        // python-nicepay: BuildAccessToken().setGrantType("client_credentials").setAdditionalInfo(""), sent by json.dumps.
        const python = await tokenRequest('{"grantType": "client_credentials", "additionalInfo": ""}');
        assert.deepEqual([python.status, python.responseCode], [200, '2007300']);
        const compact = await tokenRequest('{"grantType":"client_credentials","additionalInfo":""}');
        assert.deepEqual([compact.status, compact.responseCode], [200, '2007300']);
        const without = await tokenRequest('{"grantType":"client_credentials"}');
        assert.deepEqual([without.status, without.responseCode], [200, '2007300']);
      });

      it('still refuses a token request without grantType, naming grantType, and any other grantType', async () => {
        const missing = await tokenRequest('{"additionalInfo":""}');
        assert.deepEqual([missing.status, missing.responseCode], [400, '4007302']);
        assert.match(missing.responseMessage, /grantType/);
        const other = await tokenRequest('{"grantType":"password","additionalInfo":""}');
        assert.deepEqual([other.status, other.responseCode], [400, '4007301']);
        const notText = await tokenRequest('{"grantType":"client_credentials","additionalInfo":7}');
        assert.deepEqual([notText.status, notText.responseCode], [400, '4007301']);
      });

      it('takes CHANNEL-ID equal to the client id, as the Node SDK sends it', async () => {
        const answer = await post(NICEPAY_PATHS.debitStatus, statusBody(), { channelId: credentials.clientId });
        assert.equal(answer.responseCode, '4045501');
      });

      it('still refuses any other CHANNEL-ID with 401xx00', async () => {
        for (const channelId of [`${credentials.clientId}02`, 'NICE', `${credentials.clientId.toLowerCase()}01`]) {
          const answer = await post(NICEPAY_PATHS.debitStatus, statusBody(), { channelId });
          assert.deepEqual([answer.status, answer.responseCode], [401, '4015500'], channelId);
          assert.match(answer.responseMessage, /CHANNEL-ID/);
        }
      });

      it('takes an alphanumeric X-EXTERNAL-ID such as ordNo20261201040412, and still refuses it reused the same day', async () => {
        const externalId = 'ordNo20261201040412';
        const first = await post(NICEPAY_PATHS.debitStatus, statusBody(), {
          externalId,
          channelId: credentials.clientId,
        });
        assert.equal(first.responseCode, '4045501');
        const reused = await post(NICEPAY_PATHS.debitStatus, statusBody(), { externalId });
        assert.deepEqual([reused.status, reused.responseCode], [409, '4095500']);
        const numeric = newExternalId();
        assert.equal(
          (await post(NICEPAY_PATHS.debitStatus, statusBody(), { externalId: numeric })).responseCode,
          '4045501'
        );
        assert.equal(
          (await post(NICEPAY_PATHS.debitStatus, statusBody(), { externalId: numeric })).responseCode,
          '4095500'
        );
      });

      it('still refuses an X-EXTERNAL-ID that is not 1 to 40 letters and digits', async () => {
        for (const externalId of ['ordNo-2026', 'ord No', `ordNo${'1'.repeat(36)}`, 'ordNo_1']) {
          const answer = await post(NICEPAY_PATHS.debitStatus, statusBody(), { externalId });
          assert.deepEqual([answer.status, answer.responseCode], [400, '4005501'], externalId);
          assert.match(answer.responseMessage, /X-EXTERNAL-ID/);
        }
        assert.equal(
          (await post(NICEPAY_PATHS.debitStatus, statusBody(), { externalId: `ordNo${'1'.repeat(35)}` })).responseCode,
          '4045501'
        );
      });

      it('still checks the HMAC on a request in the SDK forms', async () => {
        const answer = await post(NICEPAY_PATHS.debitStatus, statusBody(), {
          channelId: credentials.clientId,
          externalId: 'ordNo20261201040413',
          secret: 'wrong-secret',
        });
        assert.deepEqual([answer.status, answer.responseCode], [401, '4015500']);
      });
    });

    it('rejects a duplicate partnerReferenceNo with 4095401', async () => {
      const { input } = await createdPayment();
      const body = JSON.stringify({
        partnerReferenceNo: input.reference,
        merchantId: credentials.clientId,
        amount: { value: '1000.00', currency: 'IDR' },
        urlParam: [{ url: callbackUrl, type: 'PAY_NOTIFY', isDeeplink: 'Y' }],
        additionalInfo: {
          mitraCd: 'OVOE',
          goodsNm: 'x',
          billingNm: 'y',
          billingPhone: '0812',
          callBackUrl: 'https://shop.example',
          dbProcessUrl: callbackUrl,
          cartData: '{}',
        },
      });
      const answer = await post(NICEPAY_PATHS.debitPayment, body);
      assert.deepEqual(
        [answer.status, answer.responseCode, answer.responseMessage],
        [409, '4095401', 'Duplicate partnerReferenceNo']
      );
    });
  });

  describe('state and credentials', () => {
    it('round-trips its orders through exportState/importState', async () => {
      const { ref } = await createdPayment({ amount: 40_000 });
      await control(ref.reference, 'pay');
      await payments.refund!(ref, { refundReference: `${ref.reference}R1`, amount: 10_000, reason: 'partial' });
      const state = JSON.parse(JSON.stringify(sim.exportState())) as unknown;
      const restored = createNicepaySimulator({ credentials, timeScale: 0.001 });
      try {
        restored.importState(state);
        assert.deepEqual(restored.order(ref.reference), sim.order(ref.reference));
        assert.deepEqual(restored.exportState(), sim.exportState());
      } finally {
        restored.stop();
      }
    });

    it('restores the same test credentials from what it saved', () => {
      const again = nicepaySimulatorSetup(credentials);
      assert.deepEqual(again.credentials, credentials);
      assert.equal(again.connectorConfig('http://127.0.0.1:9').baseUrl, 'http://127.0.0.1:9/nicepay');
    });
  });
});
