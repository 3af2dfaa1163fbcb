import assert from 'node:assert/strict';
import express from 'express';
import type { Connector } from '../../src/connectors/connector';
import { listen } from '../../src/sandbox/simulator-kit';
import type { RunningServer } from '../../src/sandbox/simulator-kit';
import { bdpayModule } from '../../src/connectors/bdpay';
import { BDPAY_CALLBACK_SCHEDULE_MS, bdpaySimulatorSetup, beneficiaryKey } from '../../src/sandbox/bdpay';
import type { BdpaySimulator } from '../../src/sandbox/bdpay';
import {
  buildStringA,
  signFields,
  toPrivateKey,
  toPublicKey,
  verifyFieldSignature,
} from '../../src/connectors/bdpay/signing';
import type { ParsedCallback } from '../../src/domain/callback';
import { deriveId } from '../../src/ids';
import {
  CallbackPayloadError,
  CallbackSignatureError,
  OutcomeUnknownError,
  ProviderResponseInvalidError,
  ProviderUnavailableError,
} from '../../src/domain/errors';
import type { CreatePaymentInput } from '../../src/domain/payment';
import type { SubmitPayoutInput } from '../../src/domain/payout';
import { applyPatch, FIELD_RULE_CASES, VALID_BODIES } from './fixtures/bdpay/field-rules';
import { eventually } from '../helpers/eventually';

let sequence = 0;
/** A Kasir id (`P…` for payments, `O…` for payouts), as the API hands BDPay: callbacks name nothing else. */
function newReference(kind: 'payment' | 'payout' = 'payment'): string {
  sequence += 1;
  return deriveId(kind, 'bdpay-connector-test', `${Date.now()}:${sequence}`);
}
/** A beneficiary account number no other test uses, so per-beneficiary counts are this test's alone. */
function newAccountNumber(): string {
  sequence += 1;
  return `9${String(Date.now()).slice(-8)}${String(sequence).padStart(4, '0')}`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

interface Delivery {
  rawBody: string;
  contentType?: string;
  parsed?: ParsedCallback;
  error?: string;
  answeredStatus: number;
  answeredBody: string;
}

/** Plays Kasir's callback route: verify, parse, answer in BDPay's dialect; scripted answers per reference. */
function createReceiver(connector: () => Connector) {
  const deliveries: Delivery[] = [];
  const scripted = new Map<string, string[]>();
  const app = express();
  app.post('/callbacks/bdpay', express.raw({ type: () => true }), async (req, res) => {
    const rawBody: Buffer = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const contentType = req.headers['content-type'];
    const delivery: Delivery = { rawBody: rawBody.toString('utf8'), contentType, answeredStatus: 0, answeredBody: '' };
    let answer;
    try {
      delivery.parsed = await connector().callbacks.verifyAndParse({
        headers: { 'content-type': contentType },
        rawBody,
        contentType,
      });
      answer = connector().callbacks.answer('accepted');
      const override = scripted.get(delivery.parsed.reference)?.shift();
      if (override !== undefined) answer = { ...answer, body: override };
    } catch (err) {
      delivery.error = err instanceof Error ? err.name : String(err);
      answer = connector().callbacks.reject(err instanceof CallbackSignatureError ? 'signature' : 'payload');
    }
    delivery.answeredStatus = answer.status;
    delivery.answeredBody = answer.body;
    deliveries.push(delivery);
    res.status(answer.status).type(answer.contentType).send(answer.body);
  });
  const forReference = (reference: string) =>
    deliveries.filter((d) => d.parsed?.reference === reference || d.rawBody.includes(`orderNum=${reference}`));
  return { app, deliveries, scripted, forReference };
}

describe('bdpay connector against its simulator', function () {
  this.timeout(20_000);
  const setup = bdpaySimulatorSetup();
  const merchantKey = toPrivateKey(setup.credentials.merchantPrivateKeyPem);
  const platformPublicKey = toPublicKey(setup.credentials.platformPublicKeyPem);
  let sim: BdpaySimulator;
  let simServer: RunningServer;
  let receiverServer: RunningServer;
  let connector: Connector;
  /** The same connector with a 300 ms timeout, for slow answers. */
  let impatient: Connector;
  let callbackUrl: string;
  const receiver = createReceiver(() => connector);

  before(async () => {
    // 0.0001: the seed's 1 s … 2 h schedule takes about 1.1 s; a 15-minute expiry takes 90 ms.
    sim = setup.createSimulator({ timeScale: 0.0001 });
    simServer = await listen(sim.app);
    receiverServer = await listen(receiver.app);
    callbackUrl = `${receiverServer.url}/callbacks/bdpay`;
    connector = bdpayModule.createConnector({ ...setup.connectorConfig(simServer.url), timeoutMs: 3_000 });
    impatient = bdpayModule.createConnector({ ...setup.connectorConfig(simServer.url), timeoutMs: 300 });
  });

  afterEach(async () => {
    sim.faults.clear();
    sim.callbacks.clearFaults();
    await fetch(`${simServer.url}/_sim/response-faults`, { method: 'DELETE' });
  });

  after(async () => {
    sim.stop();
    await simServer.close();
    await receiverServer.close();
  });

  const control = async (path: string, body?: unknown) => {
    const response = await fetch(`${simServer.url}/_sim${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body ?? {}),
    });
    const text = await response.text();
    const answer: unknown = text === '' ? undefined : JSON.parse(text);
    return { status: response.status, answer };
  };

  const paymentInput = (overrides: Partial<CreatePaymentInput> = {}): CreatePaymentInput => ({
    reference: newReference(),
    amount: 150_000,
    method: 'VA_BCA',
    customer: { name: 'Budi Santoso', email: 'budi@example.co.id', phone: '+6282113086611' },
    description: 'Invoice 2024 001',
    expiresInMinutes: 4_320,
    callbackUrl,
    returnUrl: 'https://shop.example/return',
    ...overrides,
  });

  const payoutInput = (overrides: Partial<SubmitPayoutInput> = {}): SubmitPayoutInput => ({
    reference: newReference('payout'),
    amount: 150_000,
    feeMode: 'deducted',
    beneficiary: { bankCode: '014', accountNumber: newAccountNumber(), accountName: 'Budi Santoso' },
    description: 'Payout for invoice INV 2024 001',
    callbackUrl,
    ...overrides,
  });

  const paymentRef = (reference: string) => ({
    reference,
    amount: 150_000,
    method: 'VA_BCA' as const,
    createdAt: new Date().toISOString(),
  });

  describe('pay-in', () => {
    it('creates a VA order, reports it pending, and succeeded once paid, with a callback the query confirms', async () => {
      const input = paymentInput();
      const registration = await connector.payments!.create(input);
      assert.ok(registration.result === 'registered');
      assert.match(registration.instructions.vaNumber ?? '', /^8808\d{12}$/);
      assert.ok(registration.providerReference);
      const pending = await connector.payments!.inquire(paymentRef(input.reference));
      assert.equal(pending.status, 'pending');
      assert.equal(pending.providerStatus, 'NO_PAY');

      const balanceBefore = sim.account().balance;
      assert.equal((await control(`/orders/${input.reference}/pay`)).status, 200);
      const delivery = await eventually(() => receiver.forReference(input.reference)[0], 4_000, 'the pay-in callback');
      assert.match(delivery.contentType ?? '', /application\/x-www-form-urlencoded/);
      assert.equal(delivery.answeredBody, 'SUCCESS');
      assert.equal(delivery.parsed?.kind, 'payment');
      // Signed, but a hint: platSign has no field boundaries, so the amount is confirmed by ORDER_QUERY.
      assert.equal(delivery.parsed.trust, 'hint');
      assert.equal(delivery.parsed.eventId, `payin:${registration.providerReference}:00`);
      assert.deepEqual(delivery.parsed.outcome, {
        status: 'succeeded',
        providerStatus: 'SUCCESS',
        providerReference: registration.providerReference,
        paidAmount: 150_000,
      });
      const paid = await connector.payments!.inquire(paymentRef(input.reference));
      assert.equal(paid.status, 'succeeded');
      assert.equal(paid.paidAmount, 150_000);
      assert.equal(sim.account().balance, balanceBefore + 150_000 - 4_000);
      await eventually(
        () => (sim.callbacks.attemptsFor(input.reference)[0]?.acknowledged ? true : undefined),
        4_000,
        'the acknowledgement'
      );
    });

    it('hands out a QRIS string, a DANA cashier link, and nothing to show for an OVO push', async () => {
      const qris = await connector.payments!.create(paymentInput({ method: 'QRIS' }));
      assert.ok(qris.result === 'registered');
      assert.match(qris.instructions.qrContent ?? '', /^000201/);

      const danaInput = paymentInput({ method: 'EWALLET_DANA' });
      const dana = await connector.payments!.create(danaInput);
      assert.ok(dana.result === 'registered');
      const link = new URL(dana.instructions.redirectUrl ?? '');
      assert.match(link.pathname, /^\/cashier\//);
      assert.equal((await connector.payments!.inquire(paymentRef(danaInput.reference))).providerStatus, 'INIT_ORDER');
      assert.equal((await fetch(`${simServer.url}${link.pathname}`)).status, 200);
      const opened = await connector.payments!.inquire(paymentRef(danaInput.reference));
      assert.deepEqual([opened.status, opened.providerStatus], ['pending', 'OPEN_PAY_URL']);

      const ovoInput = paymentInput({ method: 'EWALLET_OVO' });
      const created = Date.now();
      const ovo = await connector.payments!.create(ovoInput);
      assert.ok(ovo.result === 'registered');
      assert.equal(ovo.instructions.vaNumber, undefined);
      assert.equal(ovo.instructions.qrContent, undefined);
      const window = Date.parse(ovo.instructions.expiresAt) - created;
      assert.ok(window > 25_000 && window <= 31_000, `OVO window ${window} ms`);
      // 30 s of provider time at timeScale 0.0001.
      await eventually(
        () => (sim.order(ovoInput.reference)?.status === 'PAY_CANCEL' ? true : undefined),
        4_000,
        'the OVO expiry'
      );
      assert.equal((await connector.payments!.inquire(paymentRef(ovoInput.reference))).status, 'expired');
    });

    it('cancels an unpaid order when its expiryPeriod lapses, and it can no longer be paid', async () => {
      const input = paymentInput({ expiresInMinutes: 15 });
      await connector.payments!.create(input);
      await eventually(
        async () => {
          const outcome = await connector.payments!.inquire(paymentRef(input.reference));
          return outcome.status === 'expired' ? outcome : undefined;
        },
        4_000,
        'the expiry'
      );
      assert.equal((await control(`/orders/${input.reference}/pay`)).status, 409);
      await sleep(30);
      assert.equal(receiver.forReference(input.reference).length, 0);
    });

    it('moves orders to PAY_CANCEL and PAY_ERROR through the controls', async () => {
      const expired = paymentInput();
      await connector.payments!.create(expired);
      assert.equal((await control(`/orders/${expired.reference}/expire`)).status, 200);
      assert.equal((await connector.payments!.inquire(paymentRef(expired.reference))).status, 'expired');

      const failed = paymentInput();
      await connector.payments!.create(failed);
      assert.equal((await control(`/orders/${failed.reference}/fail`)).status, 200);
      const outcome = await connector.payments!.inquire(paymentRef(failed.reference));
      assert.deepEqual([outcome.status, outcome.providerStatus], ['failed', 'PAY_ERROR']);
    });

    it('refuses a duplicate orderNum, which Kasir reports as unknown (DUPLICATE_ORDER), never declined', async () => {
      const input = paymentInput();
      const first = await connector.payments!.create(input);
      assert.ok(first.result === 'registered');
      await assert.rejects(connector.payments!.create(input), (err: unknown) => {
        assert.ok(err instanceof OutcomeUnknownError, String(err));
        assert.equal(err.providerCode, 'DUPLICATE_ORDER');
        assert.match(err.message, /orderNum already exists/);
        return true;
      });
      assert.equal(sim.order(input.reference)?.platOrderNum, first.providerReference);
      assert.equal(sim.submissions.get(input.reference), 2);
      const outcome = await connector.payments!.inquire(paymentRef(input.reference));
      assert.deepEqual([outcome.status, outcome.providerReference], ['pending', first.providerReference]);
    });

    it('re-registers after an accepted-then-dropped order: the duplicate answer is unknown, and the query finds the order', async () => {
      sim.faults.add({ kind: 'accept-then-drop', path: '/gateway/pay' });
      const input = paymentInput();
      await assert.rejects(connector.payments!.create(input), OutcomeUnknownError);
      const held = sim.order(input.reference);
      assert.ok(held, 'BDPay holds the order whose answer was lost');
      // What a re-run after a lost workflow task does: send the same orderNum again.
      await assert.rejects(
        connector.payments!.create(input),
        (err: unknown) => err instanceof OutcomeUnknownError && err.providerCode === 'DUPLICATE_ORDER'
      );
      const outcome = await connector.payments!.inquire(paymentRef(input.reference));
      assert.deepEqual(
        [outcome.status, outcome.providerStatus, outcome.providerReference],
        ['pending', 'NO_PAY', held.platOrderNum]
      );
      assert.equal(sim.submissions.get(input.reference), 2);
    });

    it('reports an order BDPay does not know as not_found with status NOTEXIST', async () => {
      const outcome = await connector.payments!.inquire(paymentRef(newReference()));
      assert.deepEqual(outcome, { status: 'not_found', providerStatus: 'NOTEXIST' });
    });

    it('rejects an order, query or balance answer whose platSign is forged', async () => {
      sim.addResponseFault({ kind: 'forge-sign', path: '/gateway/pay' });
      const input = paymentInput();
      await assert.rejects(connector.payments!.create(input), ProviderResponseInvalidError);
      assert.ok(sim.order(input.reference));
      assert.equal((await connector.payments!.inquire(paymentRef(input.reference))).status, 'pending');
      sim.addResponseFault({ kind: 'forge-sign', path: '/gateway/query' });
      await assert.rejects(connector.payments!.inquire(paymentRef(input.reference)), ProviderResponseInvalidError);
      sim.addResponseFault({ kind: 'forge-sign', path: '/gateway/interface/getBalance' });
      await assert.rejects(connector.payouts!.balance(), ProviderResponseInvalidError);
    });

    it('treats UNKNOWN on an order as an unknown outcome, resolved by query', async () => {
      assert.equal((await control('/response-faults', { kind: 'unknown', path: '/gateway/pay' })).status, 201);
      const input = paymentInput();
      await assert.rejects(connector.payments!.create(input), OutcomeUnknownError);
      assert.equal((await connector.payments!.inquire(paymentRef(input.reference))).providerStatus, 'NO_PAY');
    });

    it('surfaces a 5xx on a query as ProviderUnavailableError', async () => {
      sim.faults.add({ kind: 'http-5xx', path: '/gateway/query', status: 503 });
      await assert.rejects(connector.payments!.inquire(paymentRef(newReference())), ProviderUnavailableError);
    });
  });

  describe('request checks', () => {
    const postSigned = async (path: string, fields: Record<string, string>, key = merchantKey) => {
      const response = await fetch(`${simServer.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ ...fields, sign: signFields(fields, key) }),
      });
      assert.equal(response.status, 200);
      return (await response.json()) as Record<string, string>;
    };

    for (const rule of FIELD_RULE_CASES) {
      it(`refuses over HTTP, naming the field: ${rule.endpoint} ${rule.rule}`, async () => {
        const orderNum = newReference();
        const body = applyPatch(
          { ...VALID_BODIES[rule.endpoint], merchantCode: setup.credentials.merchantCode, orderNum },
          rule.patch
        );
        const balance = sim.account();
        const answer = await postSigned(rule.endpoint, body);
        assert.equal(verifyFieldSignature(answer, 'platSign', platformPublicKey), true);
        assert.equal(answer.platRespCode, 'FAIL');
        assert.ok(answer.platRespMessage?.startsWith(rule.field), `message: ${answer.platRespMessage}`);
        assert.equal(sim.order(orderNum), undefined);
        assert.equal(sim.payout(orderNum), undefined);
        assert.deepEqual(sim.account(), balance);
      });
    }

    it('accepts the valid bodies the rules start from', async () => {
      for (const endpoint of ['/gateway/pay', '/gateway/prepaidOrder', '/gateway/cash'] as const) {
        const orderNum = newReference();
        const answer = await postSigned(endpoint, {
          ...VALID_BODIES[endpoint],
          merchantCode: setup.credentials.merchantCode,
          orderNum,
        });
        assert.equal(answer.platRespCode, 'SUCCESS', `${endpoint}: ${answer.platRespMessage}`);
      }
    });

    it('refuses a wrong sign, an unknown merchant and a body that is not JSON', async () => {
      const fields = {
        ...VALID_BODIES['/gateway/cash'],
        merchantCode: setup.credentials.merchantCode,
        orderNum: newReference(),
      };
      const otherKey = toPrivateKey(bdpaySimulatorSetup().credentials.merchantPrivateKeyPem);
      const badSign = await postSigned('/gateway/cash', fields, otherKey);
      assert.deepEqual([badSign.platRespCode, badSign.platRespMessage], ['FAIL', 'sign error']);
      const tampered = await fetch(`${simServer.url}/gateway/cash`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ ...fields, sign: signFields(fields, merchantKey), money: '9999999' }),
      });
      assert.equal(((await tampered.json()) as Record<string, string>).platRespMessage, 'sign error');
      const unknownMerchant = await postSigned('/gateway/cash', { ...fields, merchantCode: 'S800000000000000' });
      assert.equal(unknownMerchant.platRespMessage, 'merchant does not exist');
      const notJson = await fetch(`${simServer.url}/gateway/query`, { method: 'POST', body: 'orderNum=KP1' });
      const notJsonAnswer = (await notJson.json()) as Record<string, string>;
      assert.equal(notJsonAnswer.platRespCode, 'FAIL');
      assert.equal(verifyFieldSignature(notJsonAnswer, 'platSign', platformPublicKey), true);
      assert.equal(sim.payout(fields.orderNum), undefined);
    });
  });

  describe('payouts', () => {
    const setBalance = (balance: number) => control('/account', { balance, freeze: 0 });

    it('accepts a payout with the fee deducted, freezes the amount, and pays amount minus fee on settle', async () => {
      await setBalance(1_000_000);
      const input = payoutInput();
      const submission = await connector.payouts!.submit(input);
      assert.equal(submission.result, 'accepted');
      assert.equal(submission.fee, 2_500);
      assert.ok(submission.providerReference);
      assert.deepEqual(sim.account(), { balance: 850_000, freeze: 150_000, pendMoney: 0 });
      assert.deepEqual(await connector.payouts!.balance(), { available: 850_000, frozen: 150_000 });
      const processing = await connector.payouts!.inquire({ reference: input.reference });
      assert.deepEqual([processing.status, processing.providerStatus], ['processing', '1']);

      assert.equal((await control(`/payouts/${input.reference}/settle`)).status, 200);
      const delivery = await eventually(() => receiver.forReference(input.reference)[0], 4_000, 'the payout callback');
      assert.equal(delivery.parsed?.kind, 'payout');
      // Signed, but a hint: platSign has no field boundaries, so the amount is confirmed by CASH_QUERY.
      assert.equal(delivery.parsed.trust, 'hint');
      assert.equal(delivery.parsed.eventId, `payout:${submission.providerReference}:2`);
      assert.deepEqual(
        [delivery.parsed.outcome.status, delivery.parsed.outcome.amount, delivery.parsed.outcome.fee],
        ['succeeded', 150_000, 2_500]
      );
      assert.equal((await connector.payouts!.inquire({ reference: input.reference })).status, 'succeeded');
      assert.deepEqual(sim.account(), { balance: 850_000, freeze: 0, pendMoney: 0 });
      assert.equal(sim.beneficiaryCredit('014', input.beneficiary.accountNumber), 147_500);
      assert.equal(sim.submissions.get(input.reference), 1);
      assert.equal(sim.submissions.get(beneficiaryKey('014', input.beneficiary.accountNumber)), 1);
    });

    it('takes the fee from the balance when the merchant pays it, and returns everything when the payout fails', async () => {
      await setBalance(1_000_000);
      const input = payoutInput({ feeMode: 'merchant' });
      assert.equal((await connector.payouts!.submit(input)).result, 'accepted');
      assert.deepEqual(sim.account(), { balance: 847_500, freeze: 152_500, pendMoney: 0 });

      assert.equal(
        (await control(`/payouts/${input.reference}/fail`, { message: 'Account name mismatch' })).status,
        200
      );
      const delivery = await eventually(() => receiver.forReference(input.reference)[0], 4_000, 'the payout callback');
      assert.ok(delivery.parsed?.kind === 'payout');
      assert.equal(delivery.parsed.outcome.status, 'failed');
      assert.deepEqual(delivery.parsed.outcome.failure, { code: '4', message: 'Account name mismatch' });
      const outcome = await connector.payouts!.inquire({ reference: input.reference });
      assert.deepEqual(
        [outcome.status, outcome.providerStatus, outcome.failure?.message],
        ['failed', '4', 'Account name mismatch']
      );
      assert.deepEqual(sim.account(), { balance: 1_000_000, freeze: 0, pendMoney: 0 });
      assert.equal(sim.beneficiaryCredit('014', input.beneficiary.accountNumber), 0);
      assert.equal((await control(`/payouts/${input.reference}/settle`)).status, 409);
    });

    it('fails a payout the balance cannot cover, and creates nothing', async () => {
      await setBalance(100_000);
      const input = payoutInput();
      const submission = await connector.payouts!.submit(input);
      assert.deepEqual(
        [submission.result, submission.providerCode, submission.message],
        ['failed', 'FAIL', 'insufficient balance']
      );
      assert.equal((await connector.payouts!.inquire({ reference: input.reference })).status, 'not_found');
      assert.deepEqual(sim.account(), { balance: 100_000, freeze: 0, pendMoney: 0 });
    });

    it('answers UNKNOWN with the payout really created; Kasir sends it exactly once and resolves it by query', async () => {
      await setBalance(1_000_000);
      assert.equal((await control('/response-faults', { kind: 'unknown', path: '/gateway/cash' })).status, 201);
      const input = payoutInput();
      const submission = await connector.payouts!.submit(input);
      assert.deepEqual([submission.result, submission.providerCode], ['unknown', 'UNKNOWN']);
      assert.equal(sim.payout(input.reference)?.answeredUnknown, true);
      assert.deepEqual(sim.account(), { balance: 850_000, freeze: 150_000, pendMoney: 0 });

      assert.equal((await connector.payouts!.inquire({ reference: input.reference })).status, 'processing');
      await control(`/payouts/${input.reference}/settle`);
      assert.equal((await connector.payouts!.inquire({ reference: input.reference })).status, 'succeeded');
      assert.equal(sim.submissions.get(input.reference), 1);
      assert.equal(sim.submissions.get(beneficiaryKey('014', input.beneficiary.accountNumber)), 1);
      assert.equal(sim.beneficiaryCredit('014', input.beneficiary.accountNumber), 147_500);
    });

    it('returns unknown (not an error) when the answer is too slow, and the payout exists all the same', async () => {
      await setBalance(1_000_000);
      sim.faults.add({ kind: 'slow', path: '/gateway/cash', delayMs: 800 });
      const input = payoutInput();
      const submission = await impatient.payouts!.submit(input);
      assert.deepEqual([submission.result, submission.providerCode], ['unknown', 'NO_ANSWER']);
      await eventually(() => sim.payout(input.reference), 4_000, 'the slow payout to be handled');
      assert.equal((await connector.payouts!.inquire({ reference: input.reference })).status, 'processing');
      assert.equal(sim.submissions.get(input.reference), 1);
    });

    it('returns unknown when the connection drops after the payout was accepted', async () => {
      await setBalance(1_000_000);
      sim.faults.add({ kind: 'accept-then-drop', path: '/gateway/cash' });
      const input = payoutInput();
      const submission = await connector.payouts!.submit(input);
      assert.equal(submission.result, 'unknown');
      assert.ok(sim.payout(input.reference));
      assert.equal((await connector.payouts!.inquire({ reference: input.reference })).status, 'processing');
      assert.equal(sim.submissions.get(input.reference), 1);
      assert.equal(sim.submissions.get(beneficiaryKey('014', input.beneficiary.accountNumber)), 1);
    });

    it('returns unknown on a 5xx or a dropped connection, and never sends it again', async () => {
      sim.faults.add({ kind: 'http-5xx', path: '/gateway/cash', status: 502 });
      const afterBadGateway = payoutInput();
      const submission = await connector.payouts!.submit(afterBadGateway);
      assert.deepEqual([submission.result, submission.providerCode], ['unknown', 'NO_ANSWER']);
      // The fault answered before the simulator handled anything, and Kasir did not try again.
      assert.equal(sim.submissions.get(afterBadGateway.reference), 0);
      assert.equal((await connector.payouts!.inquire({ reference: afterBadGateway.reference })).status, 'not_found');

      sim.faults.add({ kind: 'drop', path: '/gateway/cash' });
      const afterDrop = payoutInput();
      assert.equal((await connector.payouts!.submit(afterDrop)).result, 'unknown');
      assert.equal(sim.submissions.get(afterDrop.reference), 0);
    });

    it('does not trust an accepted answer, nor a FAIL, whose platSign is forged', async () => {
      await setBalance(1_000_000);
      sim.addResponseFault({ kind: 'forge-sign', path: '/gateway/cash' });
      const accepted = payoutInput();
      const submission = await connector.payouts!.submit(accepted);
      assert.deepEqual([submission.result, submission.providerCode], ['unknown', 'UNTRUSTED_ANSWER']);
      assert.equal((await connector.payouts!.inquire({ reference: accepted.reference })).status, 'processing');

      await setBalance(1_000);
      sim.addResponseFault({ kind: 'forge-sign', path: '/gateway/cash' });
      const refused = payoutInput();
      assert.equal((await connector.payouts!.submit(refused)).result, 'unknown');
      assert.equal((await connector.payouts!.inquire({ reference: refused.reference })).status, 'not_found');
    });

    it('refuses a resubmission of the same orderNum as a duplicate, which Kasir reports as unknown, never failed', async () => {
      await setBalance(1_000_000);
      const input = payoutInput();
      assert.equal((await connector.payouts!.submit(input)).result, 'accepted');
      // BDPay answers the second submission FAIL, although the money is moving: evidence the payout exists.
      const again = await connector.payouts!.submit(input);
      assert.deepEqual(again, {
        result: 'unknown',
        providerCode: 'DUPLICATE_ORDER',
        message: 'orderNum already exists',
      });
      assert.equal(sim.submissions.get(input.reference), 2);
      assert.equal((await connector.payouts!.inquire({ reference: input.reference })).status, 'processing');
      assert.deepEqual(sim.account(), { balance: 850_000, freeze: 150_000, pendMoney: 0 });
    });

    it('resubmits after an accepted-then-dropped payout: unknown both times, one payout, counted per orderNum', async () => {
      await setBalance(1_000_000);
      sim.faults.add({ kind: 'accept-then-drop', path: '/gateway/cash' });
      const input = payoutInput();
      const first = await connector.payouts!.submit(input);
      assert.equal(first.result, 'unknown');
      assert.ok(sim.payout(input.reference), 'the payout exists at BDPay, though Kasir never saw the answer');

      const again = await connector.payouts!.submit(input);
      assert.deepEqual(again, {
        result: 'unknown',
        providerCode: 'DUPLICATE_ORDER',
        message: 'orderNum already exists',
      });
      const response = await fetch(`${simServer.url}/_sim/submissions`);
      assert.equal(response.status, 200);
      const submissions = (await response.json()) as Record<string, number>;
      assert.equal(submissions[input.reference], 2);
      assert.equal(submissions[beneficiaryKey('014', input.beneficiary.accountNumber)], 2);

      assert.equal((await connector.payouts!.inquire({ reference: input.reference })).status, 'processing');
      assert.deepEqual(sim.account(), { balance: 850_000, freeze: 150_000, pendMoney: 0 });
      await control(`/payouts/${input.reference}/settle`);
      assert.equal((await connector.payouts!.inquire({ reference: input.reference })).status, 'succeeded');
      assert.equal(sim.beneficiaryCredit('014', input.beneficiary.accountNumber), 147_500);
    });

    it('settles payouts by itself when auto-settle is switched on', async () => {
      await setBalance(1_000_000);
      assert.equal((await control('/settings', { autoSettlePayoutsAfterMs: 60_000 })).status, 200);
      try {
        const input = payoutInput();
        assert.equal((await connector.payouts!.submit(input)).result, 'accepted');
        await eventually(
          () => (sim.payout(input.reference)?.status === '2' ? true : undefined),
          4_000,
          'the auto-settle'
        );
        assert.equal((await connector.payouts!.inquire({ reference: input.reference })).status, 'succeeded');
      } finally {
        await control('/settings', { autoSettlePayoutsAfterMs: null });
      }
    });
  });

  describe('callbacks', () => {
    it('uses the seed schedule: 6 notifications, 1 s, 30 s, 60 s, 90 s, 1 h and 2 h apart', () => {
      assert.deepEqual(BDPAY_CALLBACK_SCHEDULE_MS, [1_000, 30_000, 60_000, 90_000, 3_600_000, 7_200_000]);
    });

    it('retries until the answer is exactly SUCCESS, and stops at the first one', async () => {
      const input = paymentInput();
      receiver.scripted.set(input.reference, ['success', 'SUCCESS ', 'OK']);
      await connector.payments!.create(input);
      await control(`/orders/${input.reference}/pay`);
      await eventually(
        () => (sim.callbacks.attemptsFor(input.reference).length >= 4 ? true : undefined),
        4_000,
        'four attempts'
      );
      // A fifth attempt would come 1 h × 0.0001 = 360 ms after the fourth.
      await sleep(900);
      const attempts = sim.callbacks.attemptsFor(input.reference);
      assert.deepEqual(
        attempts.map((a) => [a.attempt, a.answer, a.acknowledged]),
        [
          [1, 'success', false],
          [2, 'SUCCESS ', false],
          [3, 'OK', false],
          [4, 'SUCCESS', true],
        ]
      );
      // Every delivery was the same event, so Kasir records it once.
      const eventIds = new Set(receiver.forReference(input.reference).map((d) => d.parsed?.eventId));
      assert.equal(eventIds.size, 1);
    });

    it('notifies 6 times in all when never acknowledged', async () => {
      const input = paymentInput();
      receiver.scripted.set(
        input.reference,
        Array.from({ length: 10 }, () => 'FAIL')
      );
      await connector.payments!.create(input);
      await control(`/orders/${input.reference}/pay`);
      await eventually(
        () => (sim.callbacks.attemptsFor(input.reference).length >= 6 ? true : undefined),
        4_000,
        'six attempts'
      );
      await sleep(400);
      assert.equal(sim.callbacks.attemptsFor(input.reference).length, 6);
      assert.equal(receiver.forReference(input.reference).length, 6);
    });

    it('delivers a duplicate that carries the same eventId and is answered SUCCESS both times', async () => {
      const input = paymentInput();
      assert.equal((await control('/callback-faults', { kind: 'duplicate', reference: input.reference })).status, 201);
      await connector.payments!.create(input);
      await control(`/orders/${input.reference}/pay`);
      const deliveries = await eventually(
        () => {
          const found = receiver.forReference(input.reference);
          return found.length >= 2 ? found : undefined;
        },
        4_000,
        'both deliveries'
      );
      assert.deepEqual(
        deliveries.map((d) => d.answeredBody),
        ['SUCCESS', 'SUCCESS']
      );
      assert.equal(deliveries[0]!.parsed?.eventId, deliveries[1]!.parsed?.eventId);
    });

    it('rejects a callback with a forged platSign with 401 and trusts nothing in it', async () => {
      await control('/account', { balance: 1_000_000, freeze: 0 });
      const input = payoutInput();
      await connector.payouts!.submit(input);
      sim.callbacks.addFault({ kind: 'forge', reference: input.reference });
      await control(`/payouts/${input.reference}/settle`);
      const delivery = await eventually(() => receiver.forReference(input.reference)[0], 4_000, 'the forged callback');
      assert.equal(delivery.error, 'CallbackSignatureError');
      assert.equal(delivery.parsed, undefined);
      assert.equal(delivery.answeredStatus, 401);
      assert.notEqual(delivery.answeredBody, 'SUCCESS');
      const attempt = await eventually(
        () => {
          const first = sim.callbacks.attemptsFor(input.reference)[0];
          // The record exists from the moment it is sent; its status once the answer is back.
          return first?.status === undefined ? undefined : first;
        },
        4_000,
        'the answered attempt'
      );
      assert.deepEqual([attempt.status, attempt.acknowledged, attempt.forged], [401, false, true]);
      assert.equal((await connector.payouts!.inquire({ reference: input.reference })).status, 'succeeded');
    });

    describe('digits moved across field boundaries (issue 13)', () => {
      const platformKey = toPrivateKey(setup.credentials.platformPrivateKeyPem);

      /** The genuine callback the simulator sent for `reference`, as Kasir received it. */
      async function genuineCallback(reference: string): Promise<Record<string, string>> {
        const delivery = await eventually(() => receiver.forReference(reference)[0], 4_000, 'the genuine callback');
        assert.equal(delivery.error, undefined, 'the genuine callback itself is taken');
        return Object.fromEntries(new URLSearchParams(delivery.rawBody));
      }

      const form = (fields: Record<string, string>) => ({
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        contentType: 'application/x-www-form-urlencoded',
        rawBody: Buffer.from(new URLSearchParams(fields).toString()),
      });

      /** Kasir either refuses the forgery as malformed, or takes it only as a hint; never as a verified fact. */
      async function neverVerified(forged: Record<string, string>): Promise<ParsedCallback | undefined> {
        let parsed: ParsedCallback;
        try {
          parsed = await connector.callbacks.verifyAndParse(form(forged));
        } catch (err) {
          assert.ok(err instanceof CallbackPayloadError, `refused, but not as a payload error: ${String(err)}`);
          return undefined;
        }
        assert.equal(parsed.trust, 'hint', 'a field-shifted callback must not be trusted as verified');
        return parsed;
      }

      it('a pay-in signed for fee 4000 and amount 150000 still verifies as fee 40001 and amount 50000, but is never a verified payment of 50000', async () => {
        const input = paymentInput({ amount: 150_000 });
        await connector.payments!.create(input);
        await control(`/orders/${input.reference}/pay`);
        const genuine = await genuineCallback(input.reference);
        assert.deepEqual([genuine.payFee, genuine.payMoney], ['4000', '150000']);
        // The simulator signed it with its test platform key; the padding is deterministic, so signFields agrees.
        const { platSign, ...signed } = genuine;
        assert.equal(signFields(signed, platformKey), platSign);

        // payFee and payMoney sit side by side in StringA ("…4000150000…"): move one digit across the boundary.
        const forged = { ...genuine, payFee: '40001', payMoney: '50000' };
        assert.equal(buildStringA(forged), buildStringA(genuine));
        assert.equal(verifyFieldSignature(forged, 'platSign', platformPublicKey), true, 'the platSign still verifies');

        const parsed = await neverVerified(forged);
        if (parsed !== undefined) assert.equal(parsed.kind, 'payment');
        // What the workflow trusts instead: ORDER_QUERY, which carries the real amount.
        const confirmed = await connector.payments!.inquire(paymentRef(input.reference));
        assert.deepEqual([confirmed.status, confirmed.paidAmount], ['succeeded', 150_000]);
      });

      it('a payout signed for fee 2500, feeType 0 and money 150000 still verifies as fee 25000, feeType 1 and money 50000, but is never verified', async () => {
        await control('/account', { balance: 1_000_000, freeze: 0 });
        const input = payoutInput({ amount: 150_000 });
        assert.equal((await connector.payouts!.submit(input)).result, 'accepted');
        await control(`/payouts/${input.reference}/settle`);
        const genuine = await genuineCallback(input.reference);
        assert.deepEqual([genuine.fee, genuine.feeType, genuine.money], ['2500', '0', '150000']);

        // fee, feeType and money are adjacent ("2500" "0" "150000" = "25000" "1" "50000"): every value well-formed.
        const forged = { ...genuine, fee: '25000', feeType: '1', money: '50000' };
        assert.equal(buildStringA(forged), buildStringA(genuine));
        assert.equal(verifyFieldSignature(forged, 'platSign', platformPublicKey), true, 'the platSign still verifies');

        await neverVerified(forged);
        const confirmed = await connector.payouts!.inquire({ reference: input.reference });
        assert.deepEqual([confirmed.status, confirmed.amount], ['succeeded', 150_000]);
      });

      it('refuses a shift that leaves a value outside its format (a leading zero, a digit into platOrderNum)', async () => {
        const input = paymentInput({ amount: 150_000 });
        await connector.payments!.create(input);
        await control(`/orders/${input.reference}/pay`);
        const genuine = await genuineCallback(input.reference);
        const shifts = [
          // "4000" "150000" → "400" "0150000": an amount with a leading zero.
          { ...genuine, payFee: '400', payMoney: '0150000' },
          // "150000" "PRE…" → "15000" "0PRE…": a platOrderNum that does not start with a letter.
          { ...genuine, payMoney: '15000', platOrderNum: `0${genuine.platOrderNum}` },
          // A field no callback documents, to take digits off payMoney: "150000" → "15" "0000".
          { ...genuine, payMoney: '15', payMoneyX: '0000' },
        ];
        for (const forged of shifts) {
          assert.equal(verifyFieldSignature(forged, 'platSign', platformPublicKey), true);
          await assert.rejects(connector.callbacks.verifyAndParse(form(forged)), CallbackPayloadError);
        }
      });
    });

    it('leaves a missing callback to the query', async () => {
      const input = paymentInput();
      await control('/callback-faults', { kind: 'suppress', reference: input.reference });
      await connector.payments!.create(input);
      await control(`/orders/${input.reference}/pay`);
      await sleep(50);
      assert.equal(receiver.forReference(input.reference).length, 0);
      assert.equal((await connector.payments!.inquire(paymentRef(input.reference))).status, 'succeeded');
    });
  });

  describe('state', () => {
    it('exports its orders, payouts and balances as JSON and imports them into a fresh simulator', async () => {
      await control('/account', { balance: 1_000_000, freeze: 0 });
      const order = paymentInput();
      await connector.payments!.create(order);
      const payout = payoutInput();
      await connector.payouts!.submit(payout);
      const exported = JSON.parse(JSON.stringify(sim.exportState()));

      const restored = setup.createSimulator({ timeScale: 0.0001 });
      restored.importState(exported);
      const server = await listen(restored.app);
      try {
        const other = bdpayModule.createConnector(setup.connectorConfig(server.url));
        assert.equal((await other.payments!.inquire(paymentRef(order.reference))).providerStatus, 'NO_PAY');
        assert.equal((await other.payouts!.inquire({ reference: payout.reference })).status, 'processing');
        assert.deepEqual(restored.account(), sim.account());
        // The restored simulator remembers the payout: a resubmission is refused as a duplicate.
        const again = await other.payouts!.submit(payout);
        assert.deepEqual([again.result, again.providerCode], ['unknown', 'DUPLICATE_ORDER']);
        assert.deepEqual(JSON.parse(JSON.stringify(restored.exportState())).orders, exported.orders);
      } finally {
        restored.stop();
        await server.close();
      }
    });
  });
});
