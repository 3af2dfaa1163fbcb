import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import express from 'express';
import {
  CallbackSignatureError,
  ProviderResponseInvalidError,
  OperationNotSupportedError,
  OutcomeUnknownError,
  ProviderAuthError,
  ProviderRequestRejectedError,
  ProviderUnavailableError,
} from '../../src/domain/errors';
import type { KasirError } from '../../src/domain/errors';
import type { ParsedCallback } from '../../src/domain/callback';
import type {
  CreatePaymentInput,
  PaymentInstructions,
  PaymentMethod,
  PaymentOutcome,
  PaymentRef,
} from '../../src/domain/payment';
import type { Connector, PaymentsCapability } from '../../src/connectors/connector';
import { listen } from '../../src/sandbox/simulator-kit';
import type { ProviderSimulator, RunningServer } from '../../src/sandbox/simulator-kit';
import { finpayModule } from '../../src/connectors/finpay';
import { basicAuthorization, signFinpayObject } from '../../src/connectors/finpay/signing';
import { createFinpaySimulator, finpaySimulatorSetup } from '../../src/sandbox/finpay';
import { eventually } from '../helpers/eventually';

interface ReceivedCallback {
  rawBody: Buffer;
  status: number;
  parsed?: ParsedCallback;
  error?: unknown;
}

/** A stand-in for Kasir's callback route: verifies with the connector and answers in Finpay's dialect. */
async function startCallbackReceiver(getConnector: () => Connector) {
  const received = new Map<string, ReceivedCallback[]>();
  const failuresLeft = new Map<string, number>();
  const app = express();
  app.post('/callbacks/finpay', express.raw({ type: () => true }), async (req, res) => {
    const rawBody = req.body as Buffer;
    const reference = /"order":\{"id":"([^"]+)"/.exec(rawBody.toString('utf8'))?.[1] ?? 'unknown';
    const record: ReceivedCallback = { rawBody, status: 0 };
    const list = received.get(reference) ?? [];
    list.push(record);
    received.set(reference, list);
    const failures = failuresLeft.get(reference) ?? 0;
    if (failures > 0) {
      failuresLeft.set(reference, failures - 1);
      record.status = 500;
      return void res.status(500).send('temporarily broken');
    }
    const callbacks = getConnector().callbacks;
    let answer;
    try {
      record.parsed = await callbacks.verifyAndParse({ headers: {}, rawBody });
      answer = callbacks.answer('accepted');
    } catch (err) {
      record.error = err;
      answer = callbacks.reject(err instanceof CallbackSignatureError ? 'signature' : 'payload');
    }
    record.status = answer.status;
    res.status(answer.status).type(answer.contentType).send(answer.body);
  });
  const server = await listen(app);
  return {
    server,
    url: `${server.url}/callbacks/finpay`,
    received: (reference: string) => received.get(reference) ?? [],
    failNext: (reference: string, times: number) => failuresLeft.set(reference, times),
  };
}

/** The payment outcome a callback carried; fails the test when it carried none. */
function paymentOutcomeOf(received: ReceivedCallback | undefined): PaymentOutcome {
  const parsed = received?.parsed;
  assert.ok(parsed?.kind === 'payment', `no verified payment callback: ${String(received?.error)}`);
  return parsed.outcome;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const isKasirError =
  (type: new (...args: never[]) => KasirError, check: (err: KasirError) => boolean = () => true) =>
  (err: unknown) =>
    err instanceof type && check(err);

let counter = 0;
function newReference(): string {
  counter += 1;
  return `KPT${Date.now().toString(36).toUpperCase()}${counter}${randomBytes(2).toString('hex').toUpperCase()}`.slice(
    0,
    24
  );
}

describe('finpay connector against its simulator', function () {
  this.timeout(20_000);

  const setup = finpaySimulatorSetup();
  const { credentials } = setup;
  let sim: ProviderSimulator;
  let simServer: RunningServer;
  let connector: Connector;
  let payments: PaymentsCapability;
  let receiver: Awaited<ReturnType<typeof startCallbackReceiver>>;

  const simControl = async (path: string, body?: unknown) => {
    const response = await fetch(`${simServer.url}/_sim${path}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body ?? {}),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  const simOrder = async (reference: string) => {
    const response = await fetch(`${simServer.url}/_sim/orders/${reference}`);
    return response.status === 404 ? undefined : ((await response.json()) as { status: string; paymentCode?: string });
  };
  const rawFinpay = async (
    method: 'GET' | 'POST',
    path: string,
    body?: unknown,
    authorization = basicAuthorization(credentials)
  ) => {
    const response = await fetch(`${simServer.url}${path}`, {
      method,
      headers: { Authorization: authorization, 'Content-Type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return {
      status: response.status,
      body: (await response.json()) as { responseCode: string; responseMessage: string } & Record<string, unknown>,
    };
  };
  const input = (overrides: Partial<CreatePaymentInput> = {}): CreatePaymentInput => ({
    reference: newReference(),
    amount: 150_000,
    method: 'FINPAY_CODE',
    customer: { name: 'Hajar Ismail', email: 'hajar.finnet@gmail.com', phone: '081286288844' },
    description: 'Kasir test order',
    expiresInMinutes: 1440,
    callbackUrl: receiver.url,
    ...overrides,
  });
  const refOf = (created: CreatePaymentInput): PaymentRef => ({
    reference: created.reference,
    amount: created.amount,
    method: created.method,
    createdAt: new Date().toISOString(),
  });
  const createOk = async (overrides: Partial<CreatePaymentInput> = {}) => {
    const created = input(overrides);
    const registration = await payments.create(created);
    assert.equal(registration.result, 'registered');
    return { created, ref: refOf(created), registration };
  };

  before(async () => {
    receiver = await startCallbackReceiver(() => connector);
    sim = createFinpaySimulator({
      credentials,
      timeScale: 1,
      callbackScheduleMs: [0, 30, 60, 120, 240],
      disabledSourceOfFunds: ['linkaja'],
      publicUrl: 'http://sim.finpay.test',
    });
    simServer = await listen(sim.app);
    connector = finpayModule.createConnector({ ...setup.connectorConfig(simServer.url), timeoutMs: 300 });
    payments = connector.payments!;
  });

  after(async () => {
    sim.stop();
    await simServer.close();
    await receiver.server.close();
  });

  afterEach(() => {
    sim.faults.clear();
    sim.callbacks.clearFaults();
  });

  describe('Finpay Payment Code', () => {
    it('creates a payment and reports pending, with the code and a 1440-minute expiry', async () => {
      const before = Date.now();
      const { created, ref, registration } = await createOk();
      assert.ok(registration.result === 'registered');
      assert.match(registration.instructions.paymentCode ?? '', /^88027\d{11}$/);
      assert.match(registration.instructions.redirectUrl ?? '', /^http:\/\/sim\.finpay\.test\/widgetpg\/pending\/\d+$/);
      const expiresAt = Date.parse(registration.instructions.expiresAt);
      assert.ok(expiresAt >= before + 1440 * 60_000 - 1_000 && expiresAt <= Date.now() + 1440 * 60_000 + 1_000);
      assert.deepEqual(registration.outcome, { status: 'pending', providerStatus: 'REQUEST_INITIATED' });
      assert.equal(sim.submissions.get(`initiate:${created.reference}`), 1);

      const outcome = await payments.inquire(ref);
      assert.equal(outcome.status, 'pending');
      assert.equal(outcome.providerStatus, 'REQUEST_INITIATED');
      assert.ok(outcome.providerReference);
    });

    it('pays through the control, delivers a verified callback and reports succeeded', async () => {
      const { created, ref, registration } = await createOk();
      const paid = await simControl(`/orders/${created.reference}/pay`);
      assert.equal(paid.status, 200);

      const [callback] = await eventually(
        () => (receiver.received(created.reference).length > 0 ? receiver.received(created.reference) : undefined),
        5_000,
        'callback'
      );
      assert.equal(callback!.status, 200);
      assert.ok(callback!.parsed, String(callback!.error));
      assert.equal(callback!.parsed.reference, created.reference);
      assert.equal(callback!.parsed.trust, 'verified');
      assert.equal(paymentOutcomeOf(callback).status, 'succeeded');
      assert.equal(paymentOutcomeOf(callback).paidAmount, 150_000);
      // The simulator sends PHP json_encode bytes: slashes escaped.
      assert.ok(!callback!.rawBody.toString('utf8').includes('://'));

      const outcome = await payments.inquire(ref);
      assert.equal(outcome.status, 'succeeded');
      assert.equal(outcome.providerStatus, 'PAID');
      assert.equal(outcome.paidAmount, 150_000);
      assert.ok(outcome.paidAt && Math.abs(Date.parse(outcome.paidAt) - Date.now()) < 5_000);
      assert.ok(registration.result === 'registered');
      const attempts = sim.callbacks.attemptsFor(created.reference);
      assert.equal(attempts.length, 1);
      assert.equal(attempts[0]!.acknowledged, true);
    });

    it('answers a duplicate order id with the order Finpay already holds, recovered by status check', async () => {
      const { created, registration } = await createOk();
      const again = await payments.create(created);
      assert.equal(again.result, 'registered');
      assert.equal(
        again.result === 'registered' ? again.instructions.paymentCode : undefined,
        registration.instructions.paymentCode
      );
      assert.equal(sim.submissions.get(`initiate:${created.reference}`), 2);
      assert.equal((await simOrder(created.reference))?.status, 'REQUEST_INITIATED');
    });

    it('surfaces bad credentials as ProviderAuthError with 4010000', async () => {
      const wrong = finpayModule.createConnector({
        ...setup.connectorConfig(simServer.url),
        merchantKey: 'wrong-key',
        timeoutMs: 300,
      });
      const created = input();
      await assert.rejects(
        wrong.payments!.create(created),
        isKasirError(ProviderAuthError, (err) => err.providerCode === '4010000' && err.httpStatus === 401)
      );
      await assert.rejects(wrong.payments!.inquire(refOf(created)), ProviderAuthError);
      assert.equal(await simOrder(created.reference), undefined);
      const anonymous = await rawFinpay('GET', '/pg/payment/card/check/X', undefined, '');
      assert.deepEqual([anonymous.status, anonymous.body.responseCode], [401, '4010000']);
    });

    it('maps a 5xx on create to outcome unknown and on inquiry to provider unavailable', async () => {
      sim.faults.add({ kind: 'http-5xx', path: '/pg/payment/card/initiate', status: 503 });
      const created = input();
      await assert.rejects(
        payments.create(created),
        isKasirError(OutcomeUnknownError, (err) => err.httpStatus === 503)
      );
      assert.equal(await simOrder(created.reference), undefined);
      sim.faults.add({ kind: 'http-5xx', path: '/pg/payment/card/check' });
      await assert.rejects(payments.inquire(refOf(created)), ProviderUnavailableError);
    });

    it('maps an answer slower than the timeout to outcome unknown; the order exists afterwards', async () => {
      sim.faults.add({ kind: 'slow', path: '/pg/payment/card/initiate', delayMs: 800 });
      const created = input();
      await assert.rejects(payments.create(created), OutcomeUnknownError);
      const outcome = await eventually(
        async () => {
          const current = await payments.inquire(refOf(created));
          return current.status === 'not_found' ? undefined : current;
        },
        5_000,
        'the slow order to exist'
      );
      assert.equal(outcome.status, 'pending');
      assert.equal(sim.submissions.get(`initiate:${created.reference}`), 1);
    });

    it('maps an accepted-then-dropped create to outcome unknown; the order exists', async () => {
      sim.faults.add({ kind: 'accept-then-drop', path: '/pg/payment/card/initiate' });
      const created = input();
      await assert.rejects(payments.create(created), OutcomeUnknownError);
      assert.equal((await payments.inquire(refOf(created))).providerStatus, 'REQUEST_INITIATED');
    });

    it('reports an order Finpay never stored (404, 4040001 Transaction Not Found) as not_found', async () => {
      const outcome = await payments.inquire(refOf(input()));
      assert.deepEqual(outcome, { status: 'not_found', providerStatus: '4040001' });
    });

    it('answers a duplicate QRIS order id (409) as unknown, never declined: its status carries no QR to recover', async () => {
      const { created } = await createOk({ method: 'QRIS' });
      await assert.rejects(
        payments.create(created),
        isKasirError(OutcomeUnknownError, (err) => err.providerCode === '4090000' && err.httpStatus === 409)
      );
      assert.equal(sim.submissions.get(`initiate:${created.reference}`), 2);
      assert.equal((await payments.inquire(refOf(created))).status, 'pending');
    });

    it('re-registers after an accepted-then-dropped create: the duplicate is recovered as the very order, never declined', async () => {
      sim.faults.add({ kind: 'accept-then-drop', path: '/pg/payment/card/initiate' });
      const created = input({ method: 'VA_BCA' });
      await assert.rejects(payments.create(created), OutcomeUnknownError);
      const held = await simOrder(created.reference);
      assert.ok(held?.paymentCode, 'Finpay holds the order whose answer was lost');
      const again = await payments.create(created);
      assert.ok(again.result === 'registered', `expected registered, got ${again.result}`);
      assert.equal(again.instructions.vaNumber, held.paymentCode);
      assert.equal(sim.submissions.get(`initiate:${created.reference}`), 2);
    });
  });

  describe('callbacks', () => {
    it('a forged callback fails verification and is not retried', async () => {
      const { created } = await createOk();
      sim.callbacks.addFault({ kind: 'forge', reference: created.reference });
      await simControl(`/orders/${created.reference}/pay`);
      const [callback] = await eventually(
        () => (receiver.received(created.reference).length > 0 ? receiver.received(created.reference) : undefined),
        5_000,
        'forged callback'
      );
      assert.ok(callback!.error instanceof CallbackSignatureError);
      assert.equal(callback!.parsed, undefined);
      assert.equal(callback!.status, 401);
      await sleep(300);
      assert.equal(receiver.received(created.reference).length, 1);
    });

    it('duplicate deliveries carry the same event id', async () => {
      const { created } = await createOk();
      sim.callbacks.addFault({ kind: 'duplicate', reference: created.reference });
      await simControl(`/orders/${created.reference}/pay`);
      const both = await eventually(
        () => (receiver.received(created.reference).length >= 2 ? receiver.received(created.reference) : undefined),
        5_000,
        'two deliveries'
      );
      assert.ok(both[0]!.parsed && both[1]!.parsed);
      assert.equal(both[0]!.parsed.eventId, both[1]!.parsed.eventId);
      assert.deepEqual(both[0]!.rawBody, both[1]!.rawBody);
    });

    it('a suppressed callback never arrives, yet inquiry sees the payment', async () => {
      const { created, ref } = await createOk();
      sim.callbacks.addFault({ kind: 'suppress', reference: created.reference });
      await simControl(`/orders/${created.reference}/pay`);
      await sleep(200);
      assert.equal(receiver.received(created.reference).length, 0);
      assert.equal((await payments.inquire(ref)).status, 'succeeded');
    });

    it('retries on the schedule until Kasir answers HTTP 200', async () => {
      const { created } = await createOk();
      receiver.failNext(created.reference, 2);
      await simControl(`/orders/${created.reference}/pay`);
      const deliveries = await eventually(
        () => (receiver.received(created.reference).length >= 3 ? receiver.received(created.reference) : undefined),
        5_000,
        'three attempts'
      );
      assert.deepEqual(
        deliveries.map((d) => d.status),
        [500, 500, 200]
      );
      await sleep(300);
      const attempts = sim.callbacks.attemptsFor(created.reference);
      assert.deepEqual(
        attempts.map((a) => [a.attempt, a.acknowledged]),
        [
          [1, false],
          [2, false],
          [3, true],
        ]
      );
    });

    it('calls back on expiry and failure with the matching outcome', async () => {
      const expiring = await createOk();
      await simControl(`/orders/${expiring.created.reference}/expire`);
      const [expired] = await eventually(
        () =>
          receiver.received(expiring.created.reference).length > 0
            ? receiver.received(expiring.created.reference)
            : undefined,
        5_000,
        'expiry callback'
      );
      assert.equal(paymentOutcomeOf(expired).status, 'expired');
      assert.equal((await payments.inquire(expiring.ref)).status, 'expired');

      const failing = await createOk();
      await simControl(`/orders/${failing.created.reference}/fail`, { statusDesc: 'Rejected by issuer' });
      const [failed] = await eventually(
        () =>
          receiver.received(failing.created.reference).length > 0
            ? receiver.received(failing.created.reference)
            : undefined,
        5_000,
        'failure callback'
      );
      assert.deepEqual(paymentOutcomeOf(failed).failure, { code: 'FAILURE', message: 'Rejected by issuer' });
      assert.equal((await simControl(`/orders/${failing.created.reference}/pay`)).status, 409);
    });
  });

  describe('validation', () => {
    const seedLikeRequest = (overrides: Record<string, unknown> = {}) => ({
      customer: {
        email: 'hajar.finnet@gmail.com',
        firstName: 'Hajar',
        lastName: 'Ismail',
        mobilePhone: '+6281286288844',
      },
      order: { id: newReference(), amount: '1000', description: 'Testing' },
      url: { callbackUrl: 'https://merchant.example/cb' },
      sourceOfFunds: { type: 'finpaycode' },
      ...overrides,
    });

    it("accepts Finpay's published sample request as is", async () => {
      const answer = await rawFinpay('POST', '/pg/payment/card/initiate', seedLikeRequest());
      assert.equal(answer.status, 200);
      assert.equal(answer.body.responseCode, '2000000');
      assert.match(String(answer.body.expiryLink), /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
      assert.equal(typeof answer.body.processingTime, 'number');
    });

    it('answers 400 4000002 naming a missing mandatory field', async () => {
      const missingPhone = await rawFinpay(
        'POST',
        '/pg/payment/card/initiate',
        seedLikeRequest({ customer: { email: 'a@b.co' } })
      );
      assert.deepEqual(
        [missingPhone.status, missingPhone.body],
        [
          400,
          {
            responseCode: '4000002',
            responseMessage: 'Invalid Mandatory Field customer.mobile phone',
            processingTime: missingPhone.body.processingTime,
          },
        ]
      );
      const { order: _order, ...withoutOrder } = seedLikeRequest();
      const missingOrder = await rawFinpay('POST', '/pg/payment/card/initiate', withoutOrder);
      assert.equal(missingOrder.body.responseCode, '4000002');
      assert.equal(missingOrder.body.responseMessage, 'Invalid Mandatory Field order');
    });

    it('answers 400 4000001 naming a malformed field', async () => {
      const localPhone = await rawFinpay(
        'POST',
        '/pg/payment/card/initiate',
        seedLikeRequest({ customer: { mobilePhone: '081286288844' } })
      );
      assert.equal(localPhone.status, 400);
      assert.equal(localPhone.body.responseCode, '4000001');
      assert.equal(
        localPhone.body.responseMessage,
        'Invalid Field Format. The customer.mobile phone format is invalid'
      );
      const badType = await rawFinpay(
        'POST',
        '/pg/payment/card/initiate',
        seedLikeRequest({ sourceOfFunds: { type: 'bitcoin' } })
      );
      assert.equal(badType.body.responseMessage, 'Invalid Field Format. The source of funds.type format is invalid');
    });

    it('applies the channel rules: OVO accountId, DANA item categories', async () => {
      const ovo = await rawFinpay(
        'POST',
        '/pg/payment/card/initiate',
        seedLikeRequest({ sourceOfFunds: { type: 'ovo' } })
      );
      assert.equal(ovo.body.responseMessage, 'Invalid Mandatory Field source of funds.account id');
      const dana = await rawFinpay(
        'POST',
        '/pg/payment/card/initiate',
        seedLikeRequest({
          sourceOfFunds: { type: 'dana' },
          order: { id: newReference(), amount: '1000', item: [{ name: 'x', quantity: 1, unitPrice: '1000' }] },
        })
      );
      assert.equal(dana.body.responseMessage, 'Invalid Mandatory Field order.item.0.category');
    });

    it('refuses locally what Finpay would refuse, without sending it', async () => {
      const created = input({ customer: { name: 'No Phone' } });
      await assert.rejects(
        payments.create(created),
        isKasirError(ProviderRequestRejectedError, (err) => err.field === 'customer.mobilePhone')
      );
      assert.equal(sim.submissions.get(`initiate:${created.reference}`), 0);
    });

    it('refuses methods Finpay does not take', async () => {
      await assert.rejects(payments.create(input({ method: 'VA_SAMPOERNA' })), OperationNotSupportedError);
    });
  });

  describe('other channels', () => {
    const cases: [PaymentMethod, (i: PaymentInstructions) => void][] = [
      ['VA_BCA', (i) => assert.match(i.vaNumber ?? '', /^88014\d{11}$/)],
      ['VA_MANDIRI', (i) => assert.match(i.vaNumber ?? '', /^88008\d{11}$/)],
      ['QRIS', (i) => assert.match(i.qrImageUrl ?? '', /^http:\/\/sim\.finpay\.test\/widgetpg\/qris\//)],
      ['RETAIL_ALFAMART', (i) => assert.match(i.paymentCode ?? '', /^88070\d{11}$/)],
      ['RETAIL_INDOMARET', (i) => assert.match(i.paymentCode ?? '', /^88071\d{11}$/)],
      ['EWALLET_OVO', (i) => assert.match(i.deeplink ?? '', /\/widgetpg\/app\/ovo\//)],
      ['EWALLET_DANA', (i) => assert.match(i.deeplink ?? '', /\/widgetpg\/app\/dana\//)],
      ['EWALLET_SHOPEEPAY', (i) => assert.match(i.deeplink ?? '', /\/widgetpg\/app\/shopeepay\//)],
    ];
    for (const [method, check] of cases) {
      it(`creates ${method} with its instructions`, async () => {
        const { registration } = await createOk({ method, expiresInMinutes: 30 });
        assert.ok(registration.result === 'registered');
        check(registration.instructions);
        assert.ok(Date.parse(registration.instructions.expiresAt) <= Date.now() + 30 * 60_000 + 1_000);
      });
    }

    it('returns a channel the merchant has not enabled as a decline', async () => {
      const registration = await payments.create(input({ method: 'EWALLET_LINKAJA' }));
      assert.deepEqual(registration, {
        result: 'declined',
        failure: { code: '4030001', message: 'Feature Not Allowed' },
      });
    });
  });

  describe('cancel and refund', () => {
    it('cancels an unpaid VA order', async () => {
      const { created, ref } = await createOk({ method: 'VA_BNI' });
      const outcome = await payments.cancel!(ref);
      assert.equal(outcome.status, 'cancelled');
      const [callback] = await eventually(
        () => (receiver.received(created.reference).length > 0 ? receiver.received(created.reference) : undefined),
        5_000,
        'cancel callback'
      );
      assert.equal(paymentOutcomeOf(callback).status, 'cancelled');
      assert.equal((await simControl(`/orders/${created.reference}/pay`)).status, 409);
    });

    it('reports the current state when Finpay refuses to cancel (QRIS quirk, already paid)', async () => {
      const qris = await createOk({ method: 'QRIS' });
      assert.equal((await payments.cancel!(qris.ref)).status, 'pending');
      const paid = await createOk();
      await simControl(`/orders/${paid.created.reference}/pay`);
      assert.equal((await payments.cancel!(paid.ref)).status, 'succeeded');
      const raw = await rawFinpay('GET', `/pg/payment/card/cancel/${paid.created.reference}`);
      assert.deepEqual([raw.status, raw.body.responseCode], [404, '4040100']);
    });

    it('refunds in part and then in full', async () => {
      const { created, ref } = await createOk();
      await simControl(`/orders/${created.reference}/pay`);
      const partial = await payments.refund!(ref, {
        refundReference: 'R1',
        amount: 50_000,
        reason: 'one item returned',
      });
      assert.deepEqual([partial.status, partial.providerStatus], ['succeeded', 'PARTIALLY_REFUNDED']);
      await assert.rejects(
        payments.refund!(ref, { refundReference: 'R2', amount: 150_000, reason: 'too much' }),
        isKasirError(
          ProviderRequestRejectedError,
          (err) => err.providerCode === '4000001' && err.field === 'order.amount'
        )
      );
      const full = await payments.refund!(ref, { refundReference: 'R3', amount: 100_000, reason: 'rest' });
      assert.deepEqual([full.status, full.providerStatus], ['refunded', 'REFUNDED']);
      assert.equal(sim.submissions.get(`refund:${created.reference}`), 3);
    });

    it('refuses to refund an unpaid order', async () => {
      const { ref } = await createOk();
      await assert.rejects(
        payments.refund!(ref, { refundReference: 'R1', amount: 1_000, reason: 'x' }),
        isKasirError(ProviderRequestRejectedError, (err) => err.providerCode === '4040100')
      );
      const voided = await rawFinpay('GET', `/pg/payment/card/void/${ref.reference}`);
      assert.deepEqual([voided.status, voided.body.responseCode], [403, '4030015']);
    });
  });

  describe('simulator state', () => {
    it('round-trips orders through exportState/importState', async () => {
      const { created } = await createOk({ method: 'VA_BRI' });
      await simControl(`/orders/${created.reference}/pay`);
      const state = JSON.parse(JSON.stringify(sim.exportState())) as unknown;
      const restored = createFinpaySimulator({ credentials });
      restored.importState(state);
      const server = await listen(restored.app);
      try {
        const other = finpayModule.createConnector({ ...setup.connectorConfig(server.url), timeoutMs: 1_000 });
        const outcome = await other.payments!.inquire(refOf(created));
        assert.deepEqual([outcome.status, outcome.providerStatus], ['succeeded', 'PAID']);
        assert.deepEqual(restored.exportState(), state);
      } finally {
        restored.stop();
        await server.close();
      }
    });

    it('expires an order when order.timeout runs out, scaled by timeScale', async () => {
      const fast = createFinpaySimulator({ credentials, timeScale: 0.002 });
      const server = await listen(fast.app);
      try {
        const other = finpayModule.createConnector({ ...setup.connectorConfig(server.url), timeoutMs: 1_000 });
        const created = input({ expiresInMinutes: 1 });
        const registration = await other.payments!.create(created);
        assert.ok(registration.result === 'registered');
        assert.ok(Date.parse(registration.instructions.expiresAt) <= Date.now() + 2_000);
        const outcome = await eventually(
          async () => {
            const current = await other.payments!.inquire(refOf(created));
            return current.status === 'expired' ? current : undefined;
          },
          5_000,
          'expiry'
        );
        assert.equal(outcome.providerStatus, 'EXPIRED');
        const [callback] = await eventually(
          () => (receiver.received(created.reference).length > 0 ? receiver.received(created.reference) : undefined),
          5_000,
          'expiry callback'
        );
        assert.equal(paymentOutcomeOf(callback).status, 'expired');
      } finally {
        fast.stop();
        await server.close();
      }
    });
  });

  it('signs status-check data like a callback', async () => {
    const { created } = await createOk();
    const raw = await rawFinpay('GET', `/pg/payment/card/check/${created.reference}`);
    const data = raw.body.data as Record<string, unknown>;
    assert.equal(signFinpayObject(data, credentials.merchantKey).signature, data.signature);
  });
});

describe('finpay connector against a misbehaving Finpay', () => {
  let answer: { status: number; body: string } = { status: 200, body: '' };
  let stub: RunningServer;
  let payments: PaymentsCapability;
  const created: CreatePaymentInput = {
    reference: 'KPSTUB1',
    amount: 10_000,
    method: 'FINPAY_CODE',
    customer: { name: 'Budi', phone: '+6281200000000' },
    description: 'stub',
    expiresInMinutes: 60,
    callbackUrl: 'https://kasir.example/callbacks/finpay',
  };

  before(async () => {
    const app = express();
    app.use((_req, res) => void res.status(answer.status).type('application/json').send(answer.body));
    stub = await listen(app);
    payments = finpayModule.createConnector(
      finpayModule.configSchema.parse({ baseUrl: stub.url, merchantId: 'M', merchantKey: 'K', timeoutMs: 500 })
    ).payments!;
  });
  after(() => stub.close());

  it('treats a 2xx that is not JSON as an invalid response', async () => {
    answer = { status: 200, body: '<html>ok</html>' };
    await assert.rejects(payments.create(created), ProviderResponseInvalidError);
  });

  it('holds a Finpay Payment Code answer to its docs (no paymentCode is invalid)', async () => {
    answer = {
      status: 200,
      body: JSON.stringify({
        responseCode: '2000000',
        responseMessage: 'Success',
        redirecturl: 'https://devo.finpay.id/widgetpg/pending/1',
        expiryLink: '2023-04-05 09:56:35',
        processingTime: 0.1,
      }),
    };
    await assert.rejects(payments.create(created), ProviderResponseInvalidError);
  });

  it('treats a 2xx carrying a failure code as an invalid response', async () => {
    answer = {
      status: 200,
      body: JSON.stringify({ responseCode: '4000001', responseMessage: 'Invalid Field Format' }),
    };
    await assert.rejects(payments.create(created), ProviderResponseInvalidError);
  });

  it('turns a 400 into a rejected request naming the field', async () => {
    answer = {
      status: 400,
      body: JSON.stringify({
        responseCode: '4000002',
        responseMessage: 'Invalid Mandatory Field customer.mobile phone',
      }),
    };
    await assert.rejects(
      payments.create(created),
      isKasirError(
        ProviderRequestRejectedError,
        (err) => err.providerCode === '4000002' && err.field === 'customer.mobilePhone' && err.httpStatus === 400
      )
    );
  });

  it('turns a 403 about the merchant setup into an auth error', async () => {
    answer = { status: 403, body: JSON.stringify({ responseCode: '4030000', responseMessage: 'Forbidden' }) };
    await assert.rejects(payments.create(created), ProviderAuthError);
  });

  it('maps a 429 to provider unavailable even on create', async () => {
    answer = { status: 429, body: '{}' };
    await assert.rejects(payments.create(created), ProviderUnavailableError);
  });

  it('holds status-check answers to their schema', async () => {
    answer = {
      status: 200,
      body: JSON.stringify({ responseCode: '2000000', responseMessage: 'Success', processingTime: 0.1 }),
    };
    await assert.rejects(
      payments.inquire({
        reference: 'KPSTUB1',
        amount: 10_000,
        method: 'FINPAY_CODE',
        createdAt: new Date().toISOString(),
      }),
      ProviderResponseInvalidError
    );
  });
});
