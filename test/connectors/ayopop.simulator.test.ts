/** The Ayopop connector against its simulator: inquiry, payment, status, callbacks, faults and auth. */
import assert from 'node:assert/strict';
import express from 'express';
import { ProviderAuthError } from '../../src/domain/errors';
import type { BillsCapability, Connector } from '../../src/connectors/connector';
import { AYOPOP_NO_ANSWER_CODE, ayopopConfigSchema, createAyopopConnector } from '../../src/connectors/ayopop';
import type { AyopopConfig } from '../../src/connectors/ayopop';
import { AYOPOP_PATHS } from '../../src/connectors/ayopop/schemas';
import { signAyopopToken } from '../../src/connectors/ayopop/signing';
import {
  AYOPOP_SIM_ACCOUNTS,
  AYOPOP_SIM_INSUFFICIENT_DEPOSIT_CODE,
  AYOPOP_SIM_PRODUCTS,
  AYOPOP_SIM_SETTLE_FAILURE_CODE,
  ayopopSimulatorSetup,
  createAyopopSimulator,
} from '../../src/sandbox/ayopop';
import { listen, rawBody } from '../../src/sandbox/simulator-kit';
import type { ProviderSimulator, RunningServer } from '../../src/sandbox/simulator-kit';
import { eventually } from '../helpers/eventually';

const TIME_SCALE = 0.01; // settle after 50 ms, first callback after 10 ms

interface ReceivedCallback {
  refNumber: string;
  headers: Record<string, string | undefined>;
  rawBody: Buffer;
}

/** The Ayopop connector, with its one money capability, bills, known to be there. */
function createBillsConnector(config: AyopopConfig): Connector & { bills: BillsCapability } {
  const connector = createAyopopConnector(config);
  assert.ok(connector.bills, 'the Ayopop connector has bills');
  return { ...connector, bills: connector.bills };
}

let referenceCounter = 0;
function newReference(): string {
  referenceCounter += 1;
  return `KPAYO${Date.now().toString(36).toUpperCase()}${referenceCounter}`.slice(0, 24);
}

describe('ayopop connector against its simulator', function () {
  this.timeout(20_000);

  const setup = ayopopSimulatorSetup();
  const { credentials } = setup;
  let sim: ProviderSimulator;
  let server: RunningServer;
  let connector: Connector & { bills: BillsCapability };
  let receiverServer: RunningServer;
  let callbackUrl: string;
  const received: ReceivedCallback[] = [];
  /** Statuses the receiver answers for a refNumber, in order; 200 once they run out. */
  const scriptedAnswers = new Map<string, number[]>();

  const simPost = async (path: string, body: unknown = {}) =>
    fetch(`${server.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  const simGet = async <T>(path: string): Promise<T> => (await (await fetch(`${server.url}${path}`)).json()) as T;
  const deposit = async () => (await simGet<{ balance: number }>('/_sim/deposit')).balance;
  const callbacksFor = (refNumber: string) => received.filter((c) => c.refNumber === refNumber);

  async function inquireOk(accountNumber: string, productCode: string = AYOPOP_SIM_PRODUCTS.plnPostpaid) {
    const outcome = await connector.bills.inquire({ productCode, accountNumber });
    assert.equal(outcome.result, 'ok', JSON.stringify(outcome));
    return outcome;
  }

  async function payAfterInquiry(accountNumber: string, reference = newReference()) {
    const inquiry = await inquireOk(accountNumber);
    const outcome = await connector.bills.pay({
      reference,
      inquiryId: inquiry.inquiryId,
      productCode: inquiry.productCode,
      accountNumber,
      amount: inquiry.amount,
      callbackUrl,
    });
    return { reference, inquiry, outcome };
  }

  const finalStatus = (reference: string) =>
    eventually(
      async () => {
        const status = await connector.bills.status(reference);
        return status.status === 'processing' ? undefined : status;
      },
      5_000,
      `a final status for ${reference}`
    );

  before(async () => {
    sim = setup.createSimulator({ timeScale: TIME_SCALE });
    server = await listen(sim.app);
    connector = createBillsConnector(
      ayopopConfigSchema.parse({ ...setup.connectorConfig(server.url), timeoutMs: 300 })
    );

    const receiver = express();
    receiver.post('/callbacks/ayopop', rawBody(), (req, res) => {
      const body = req.body as Buffer;
      const refNumber = (JSON.parse(body.toString('utf8')) as { data?: { refNumber?: string } }).data?.refNumber ?? '';
      received.push({ refNumber, headers: { 'content-type': req.get('content-type') }, rawBody: body });
      const status = scriptedAnswers.get(refNumber)?.shift() ?? 200;
      const answer =
        status === 200
          ? connector.callbacks.answer('accepted')
          : { status, contentType: 'text/plain', body: 'not now' };
      res.status(answer.status).type(answer.contentType).send(answer.body);
    });
    receiverServer = await listen(receiver);
    callbackUrl = `${receiverServer.url}/callbacks/ayopop`;
  });

  after(async () => {
    sim?.stop();
    await server?.close();
    await receiverServer?.close();
  });

  afterEach(async () => void (await fetch(`${server.url}/_sim/faults`, { method: 'DELETE' })));

  describe('inquiry', () => {
    it('returns the bill with amount, admin fee and an expiry no later than the simulator enforces', async () => {
      const before = Date.now();
      const inquiry = await inquireOk(AYOPOP_SIM_ACCOUNTS.succeeds);
      assert.equal(inquiry.customerName, 'BUDI SANTOSO');
      assert.equal(inquiry.amount, 150_000);
      assert.equal(inquiry.totalAdmin, 2_500);
      assert.ok(inquiry.expiresAt);
      const simInquiry = await simGet<{ expiresAt: number; accountNumber: string }>(
        `/_sim/inquiries/${inquiry.inquiryId}`
      );
      assert.equal(simInquiry.accountNumber, AYOPOP_SIM_ACCOUNTS.succeeds);
      assert.ok(Date.parse(inquiry.expiresAt) > before);
      assert.ok(Date.parse(inquiry.expiresAt) <= simInquiry.expiresAt);
    });

    it('prices fixed and open products from the catalogue and the request; a voucher is quoted without its price, as in the seed', async () => {
      const token = await inquireOk('0811111111111', AYOPOP_SIM_PRODUCTS.plnToken20k);
      assert.equal(token.amount, 20_000);
      // Seed 004: a Google Play inquiry answers `amount: 0` ("Harga Produk" 0); the payment carries the price.
      const voucher = await inquireOk('0811111111111', AYOPOP_SIM_PRODUCTS.googlePlay20k);
      assert.equal(voucher.amount, 0);
      assert.ok(voucher.details.some((line) => line.key === 'Harga Produk' && line.value === '0'));
      const topUp = await connector.bills.inquire({
        productCode: AYOPOP_SIM_PRODUCTS.danaTopUp,
        accountNumber: '0811111111111',
        amount: 75_000,
      });
      assert.equal(topUp.result === 'ok' && topUp.amount, 75_000);
    });

    it('returns every scripted refusal with its code and a reason in Indonesian and English', async () => {
      const expected: Array<[string, number]> = [
        [AYOPOP_SIM_ACCOUNTS.billTooOld, 301],
        [AYOPOP_SIM_ACCOUNTS.alreadyPaid, 302],
        [AYOPOP_SIM_ACCOUNTS.billNotAvailable, 303],
        [AYOPOP_SIM_ACCOUNTS.wrongAccount, 304],
        [AYOPOP_SIM_ACCOUNTS.billerProblem, 305],
        [AYOPOP_SIM_ACCOUNTS.cutOff, 310],
        [AYOPOP_SIM_ACCOUNTS.productUnavailable, 311],
        [AYOPOP_SIM_ACCOUNTS.mandatoryBillFirst, 314],
        [AYOPOP_SIM_ACCOUNTS.overLimit, 315],
        [AYOPOP_SIM_ACCOUNTS.payAtCounter, 320],
        [AYOPOP_SIM_ACCOUNTS.blockedAccount, 112],
        [AYOPOP_SIM_ACCOUNTS.productOffline, 184],
      ];
      for (const [accountNumber, code] of expected) {
        const outcome = await connector.bills.inquire({ productCode: AYOPOP_SIM_PRODUCTS.plnPostpaid, accountNumber });
        assert.equal(outcome.result, 'failed', accountNumber);
        if (outcome.result !== 'failed') continue;
        assert.equal(outcome.providerCode, String(code));
        assert.ok(outcome.reason.id.length > 0 && outcome.reason.en.length > 0);
        assert.notEqual(outcome.reason.id, outcome.reason.en);
      }
      const alreadyPaid = await connector.bills.inquire({
        productCode: AYOPOP_SIM_PRODUCTS.plnPostpaid,
        accountNumber: AYOPOP_SIM_ACCOUNTS.alreadyPaid,
      });
      assert.deepEqual(alreadyPaid, {
        result: 'failed',
        providerCode: '302',
        reason: { id: 'Tagihan sudah dibayar', en: 'Bill has already been paid' },
      });
      const unknownProduct = await connector.bills.inquire({
        productCode: 'NOPE',
        accountNumber: AYOPOP_SIM_ACCOUNTS.succeeds,
      });
      assert.equal(unknownProduct.result === 'failed' && unknownProduct.providerCode, '341');
    });
  });

  describe('payment', () => {
    it('debits the deposit, settles 299 → 0 on the timer, calls back unsigned, and status confirms the token', async () => {
      const depositBefore = await deposit();
      const { reference, outcome } = await payAfterInquiry(AYOPOP_SIM_ACCOUNTS.succeeds);
      assert.equal(outcome.status, 'processing');
      assert.equal(outcome.providerCode, '299');
      assert.equal(await deposit(), depositBefore - 152_500);

      const [callback] = await eventually(
        () => (callbacksFor(reference).length > 0 ? callbacksFor(reference) : undefined),
        5_000,
        'the callback'
      );
      const parsed = await connector.callbacks.verifyAndParse({
        headers: callback!.headers,
        rawBody: callback!.rawBody,
      });
      assert.equal(parsed.kind, 'bill');
      assert.equal(parsed.trust, 'hint');
      assert.equal(parsed.reference, reference);
      assert.equal(parsed.eventId, `${reference}:0`);
      assert.equal(parsed.outcome.status, 'succeeded');
      assert.ok(parsed.outcome.token);

      const status = await connector.bills.status(reference);
      assert.equal(status.status, 'succeeded');
      assert.equal(status.token, parsed.outcome.token);
      assert.equal(sim.submissions.get(reference), 1);
    });

    it('succeeds at once for an account that settles synchronously', async () => {
      const { reference, outcome } = await payAfterInquiry(AYOPOP_SIM_ACCOUNTS.succeedsImmediately);
      assert.equal(outcome.status, 'succeeded');
      assert.equal(outcome.providerCode, '0');
      assert.ok(outcome.token);
      assert.equal((await connector.bills.status(reference)).token, outcome.token);
    });

    it('fails after processing with a 1xx and refunds the deposit', async () => {
      const depositBefore = await deposit();
      const { reference, outcome } = await payAfterInquiry(AYOPOP_SIM_ACCOUNTS.failsAfterProcessing);
      assert.equal(outcome.status, 'processing');
      assert.equal(await deposit(), depositBefore - 122_500);
      const final = await finalStatus(reference);
      assert.equal(final.status, 'failed');
      assert.equal(final.providerCode, String(AYOPOP_SIM_SETTLE_FAILURE_CODE));
      assert.equal(final.depositRefunded, true);
      assert.equal(final.token, undefined);
      assert.equal(await deposit(), depositBefore);
    });

    it('stays processing until a control succeeds or fails it', async () => {
      const first = await payAfterInquiry(AYOPOP_SIM_ACCOUNTS.staysProcessing);
      const second = await payAfterInquiry(AYOPOP_SIM_ACCOUNTS.staysProcessing);
      await new Promise((resolve) => setTimeout(resolve, 150)); // three settle periods
      assert.equal((await connector.bills.status(first.reference)).status, 'processing');

      const depositBefore = await deposit();
      assert.equal((await simPost(`/_sim/orders/${first.reference}/fail`, { code: 110 })).status, 200);
      const failed = await connector.bills.status(first.reference);
      assert.deepEqual([failed.status, failed.providerCode, failed.depositRefunded], ['failed', '110', true]);
      assert.equal(await deposit(), depositBefore + 101_500);

      assert.equal((await simPost(`/_sim/orders/${second.reference}/succeed`, { token: '1234-5678' })).status, 200);
      const succeeded = await connector.bills.status(second.reference);
      assert.deepEqual([succeeded.status, succeeded.token], ['succeeded', '1234-5678']);

      assert.equal((await simPost(`/_sim/orders/${first.reference}/succeed`)).status, 409);
      assert.equal((await simPost(`/_sim/orders/${second.reference}/fail`, { code: 102 })).status, 400);
      await eventually(
        () => (callbacksFor(first.reference).length && callbacksFor(second.reference).length ? true : undefined),
        5_000,
        'both callbacks'
      );
    });

    it('fails with 1xx and debits nothing when the deposit is short', async () => {
      const original = await deposit();
      await simPost('/_sim/deposit', { balance: 1_000 });
      try {
        const { reference, outcome } = await payAfterInquiry(AYOPOP_SIM_ACCOUNTS.succeeds);
        assert.equal(outcome.status, 'failed');
        assert.equal(outcome.providerCode, String(AYOPOP_SIM_INSUFFICIENT_DEPOSIT_CODE));
        assert.equal(outcome.message, 'Insufficient deposit balance');
        assert.equal(await deposit(), 1_000);
        assert.equal((await connector.bills.status(reference)).status, 'failed');
      } finally {
        await simPost('/_sim/deposit', { balance: original });
      }
    });
  });

  describe('inquiry binding', () => {
    const pay = (
      reference: string,
      inquiry: { inquiryId: string; productCode: string; amount: number },
      accountNumber: string,
      amount = inquiry.amount
    ) =>
      connector.bills.pay({
        reference,
        inquiryId: inquiry.inquiryId,
        productCode: inquiry.productCode,
        accountNumber,
        amount,
      });

    it('refuses another account (313), another amount (114) and a consumed inquiry (185), debiting nothing', async () => {
      const inquiry = await inquireOk(AYOPOP_SIM_ACCOUNTS.succeeds);
      const depositBefore = await deposit();
      const otherAccount = await pay(newReference(), inquiry, AYOPOP_SIM_ACCOUNTS.staysProcessing);
      assert.deepEqual(
        [otherAccount.status, otherAccount.providerCode, otherAccount.depositRefunded],
        ['failed', '313', false]
      );
      const otherAmount = await pay(newReference(), inquiry, AYOPOP_SIM_ACCOUNTS.succeeds, inquiry.amount + 1);
      assert.deepEqual([otherAmount.status, otherAmount.providerCode], ['failed', '114']);
      assert.equal(await deposit(), depositBefore);

      assert.equal((await pay(newReference(), inquiry, AYOPOP_SIM_ACCOUNTS.succeeds)).status, 'processing');
      const reused = await pay(newReference(), inquiry, AYOPOP_SIM_ACCOUNTS.succeeds);
      assert.deepEqual([reused.status, reused.providerCode], ['failed', '185']);
    });

    it('refuses an expired inquiry with 312, by control and by the scripted account', async () => {
      const inquiry = await inquireOk(AYOPOP_SIM_ACCOUNTS.succeeds);
      assert.equal((await simPost(`/_sim/inquiries/${inquiry.inquiryId}/expire`)).status, 200);
      const expired = await pay(newReference(), inquiry, AYOPOP_SIM_ACCOUNTS.succeeds);
      assert.deepEqual([expired.status, expired.providerCode, expired.depositRefunded], ['failed', '312', false]);

      const { reference, outcome } = await payAfterInquiry(AYOPOP_SIM_ACCOUNTS.inquiryExpires);
      assert.equal(outcome.providerCode, '312');
      assert.equal((await connector.bills.status(reference)).providerCode, '312');
    });

    it('refuses a payment the biller reports as mismatched with 313', async () => {
      const { outcome } = await payAfterInquiry(AYOPOP_SIM_ACCOUNTS.paymentMismatch);
      assert.deepEqual([outcome.status, outcome.providerCode], ['failed', '313']);
    });

    it('expires inquiry ids on the scaled timer', async () => {
      const short = createAyopopSimulator({
        credentials,
        inquiryTtlMs: 3_000,
        timeScale: 0.01,
      });
      const shortServer = await listen(short.app);
      try {
        const shortConnector = createBillsConnector(
          ayopopConfigSchema.parse({ ...setup.connectorConfig(shortServer.url), inquiryTtlMs: 30 })
        );
        const inquiry = await shortConnector.bills.inquire({
          productCode: AYOPOP_SIM_PRODUCTS.plnPostpaid,
          accountNumber: AYOPOP_SIM_ACCOUNTS.succeeds,
        });
        assert.ok(inquiry.result === 'ok');
        await new Promise((resolve) => setTimeout(resolve, 60));
        const outcome = await shortConnector.bills.pay({
          reference: newReference(),
          inquiryId: inquiry.inquiryId,
          productCode: inquiry.productCode,
          accountNumber: AYOPOP_SIM_ACCOUNTS.succeeds,
          amount: inquiry.amount,
        });
        assert.equal(outcome.providerCode, '312');
      } finally {
        short.stop();
        await shortServer.close();
      }
    });
  });

  describe('lost answers and duplicates', () => {
    const addFault = (fault: object) => simPost('/_sim/faults', { path: AYOPOP_PATHS.payment, ...fault });

    it('answers processing when the payment answer is too slow, then resolves by status with one payment', async () => {
      await addFault({ kind: 'slow', delayMs: 800 });
      const { reference, outcome } = await payAfterInquiry(AYOPOP_SIM_ACCOUNTS.succeeds);
      assert.equal(outcome.status, 'processing');
      assert.equal(outcome.providerCode, AYOPOP_NO_ANSWER_CODE);
      const final = await finalStatus(reference);
      assert.equal(final.status, 'succeeded');
      assert.ok(final.token);
      assert.equal(sim.submissions.get(reference), 1);
    });

    it('answers processing when the connection drops after Ayopop accepted, then resolves by status', async () => {
      await addFault({ kind: 'accept-then-drop' });
      const { reference, outcome } = await payAfterInquiry(AYOPOP_SIM_ACCOUNTS.succeeds);
      assert.equal(outcome.status, 'processing');
      assert.equal((await finalStatus(reference)).status, 'succeeded');
      assert.equal(sim.submissions.get(reference), 1);
    });

    for (const httpStatus of [502, 504]) {
      it(`answers processing on HTTP ${httpStatus}, and status keeps it processing (188) when nothing arrived`, async () => {
        await addFault({ kind: 'http-5xx', status: httpStatus });
        const { reference, outcome } = await payAfterInquiry(AYOPOP_SIM_ACCOUNTS.succeeds);
        assert.deepEqual([outcome.status, outcome.providerCode], ['processing', `HTTP_${httpStatus}`]);
        const status = await connector.bills.status(reference);
        assert.deepEqual([status.status, status.providerCode], ['processing', '188']);
        assert.equal(sim.submissions.get(reference), 0);
      });
    }

    it('answers a reused refNumber with 102 as processing and leaves the original untouched', async () => {
      const original = await payAfterInquiry(AYOPOP_SIM_ACCOUNTS.staysProcessing);
      const orderBefore = await simGet<Record<string, unknown>>(`/_sim/orders/${original.reference}`);
      const depositBefore = await deposit();

      const again = await payAfterInquiry(AYOPOP_SIM_ACCOUNTS.succeeds, original.reference);
      assert.deepEqual([again.outcome.status, again.outcome.providerCode], ['processing', '102']);
      assert.equal(again.outcome.depositRefunded, undefined);

      assert.deepEqual(await simGet(`/_sim/orders/${original.reference}`), orderBefore);
      assert.equal(await deposit(), depositBefore);
      const unused = await simGet<{ usedBy?: string }>(`/_sim/inquiries/${again.inquiry.inquiryId}`);
      assert.equal(unused.usedBy, undefined);
      assert.equal(sim.submissions.get(original.reference), 2);
      assert.equal((await connector.bills.status(original.reference)).providerCode, '299');
    });

    it('re-sends after an accepted-then-dropped payment: the 102 refusal is processing, never failed, and one payment settles', async () => {
      await addFault({ kind: 'accept-then-drop' });
      const first = await payAfterInquiry(AYOPOP_SIM_ACCOUNTS.succeeds);
      assert.equal(first.outcome.status, 'processing');
      // What a re-run after a lost workflow task does: pay again under the same refNumber.
      const again = await payAfterInquiry(AYOPOP_SIM_ACCOUNTS.succeeds, first.reference);
      assert.deepEqual([again.outcome.status, again.outcome.providerCode], ['processing', '102']);
      assert.equal(again.outcome.depositRefunded, undefined);
      assert.equal(sim.submissions.get(first.reference), 2);
      const unused = await simGet<{ usedBy?: string }>(`/_sim/inquiries/${again.inquiry.inquiryId}`);
      assert.equal(unused.usedBy, undefined);
      assert.equal((await finalStatus(first.reference)).status, 'succeeded');
    });

    it('reports an unknown refNumber as processing (188)', async () => {
      const status = await connector.bills.status(newReference());
      assert.deepEqual([status.status, status.providerCode], ['processing', '188']);
    });
  });

  describe('callbacks', () => {
    it('retries until the receiver answers HTTP 200', async () => {
      const reference = newReference();
      scriptedAnswers.set(reference, [500, 503]);
      await payAfterInquiry(AYOPOP_SIM_ACCOUNTS.succeeds, reference);
      const attempts = await eventually(
        () => {
          const list = sim.callbacks.attemptsFor(reference);
          return list.some((a) => a.acknowledged) ? list : undefined;
        },
        5_000,
        'an acknowledged callback'
      );
      assert.deepEqual(
        attempts.map((a) => a.status),
        [500, 503, 200]
      );
      assert.equal(callbacksFor(reference).length, 3);
    });

    it('delivers duplicates with the same event id when told to', async () => {
      const reference = newReference();
      await simPost('/_sim/callback-faults', { kind: 'duplicate', reference });
      await payAfterInquiry(AYOPOP_SIM_ACCOUNTS.succeeds, reference);
      const copies = await eventually(
        () => (callbacksFor(reference).length >= 2 ? callbacksFor(reference) : undefined),
        5_000,
        'two copies'
      );
      const parsed = await Promise.all(
        copies.map((c) => connector.callbacks.verifyAndParse({ headers: c.headers, rawBody: c.rawBody }))
      );
      assert.equal(parsed[0]!.eventId, parsed[1]!.eventId);
    });

    it('sends nothing when the callback is suppressed, and status still settles it', async () => {
      const reference = newReference();
      await simPost('/_sim/callback-faults', { kind: 'suppress', reference });
      await payAfterInquiry(AYOPOP_SIM_ACCOUNTS.succeeds, reference);
      assert.equal((await finalStatus(reference)).status, 'succeeded');
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.equal(sim.callbacks.attemptsFor(reference).length, 0);
      assert.equal(callbacksFor(reference).length, 0);
    });
  });

  describe('auth', () => {
    async function rawCall(options: {
      key?: string;
      secret?: string;
      version?: string;
      claims?: Record<string, unknown>;
      body?: string;
    }) {
      const claims = options.claims ?? { partnerId: credentials.apiKey, refNumber: 'KPANY' };
      const headers: Record<string, string> = { 'Content-Type': 'application/json' };
      if (options.key !== '') headers.KEY = options.key ?? credentials.apiKey;
      headers.TOKEN = await signAyopopToken(claims, options.secret ?? credentials.apiSecret);
      headers.VERSION = options.version ?? '2.0';
      const response = await fetch(`${server.url}${AYOPOP_PATHS.status}`, {
        method: 'POST',
        headers,
        body: options.body ?? JSON.stringify(claims),
      });
      return { status: response.status, body: (await response.json()) as { responseCode: number; success: boolean } };
    }

    it('accepts the partner key, secret and version', async () => {
      const { status, body } = await rawCall({});
      assert.deepEqual([status, body.responseCode], [200, 188]);
      assert.equal((await rawCall({ body: '' })).status, 200);
      assert.equal((await rawCall({ body: '{}' })).status, 200);
    });

    it('answers 401 to a wrong secret, a foreign KEY, a partnerId unlike KEY, a wrong VERSION or a body unlike the claims', async () => {
      const refused = [
        await rawCall({ secret: 'not-the-secret' }),
        await rawCall({ key: 'someone-else', claims: { partnerId: 'someone-else', refNumber: 'KPANY' } }),
        await rawCall({ claims: { partnerId: 'someone-else', refNumber: 'KPANY' } }),
        await rawCall({ key: '' }),
        await rawCall({ version: '1.0' }),
        await rawCall({ body: JSON.stringify({ partnerId: credentials.apiKey, refNumber: 'KPOTHER' }) }),
      ];
      for (const { status, body } of refused)
        assert.deepEqual([status, body.responseCode, body.success], [401, 401, false]);
    });

    it('answers 400 with 321 to claims that do not fit the endpoint', async () => {
      const { status, body } = await rawCall({ claims: { partnerId: credentials.apiKey } });
      assert.deepEqual([status, body.responseCode], [400, 321]);
    });

    it('surfaces a refused secret as ProviderAuthError', async () => {
      const wrong = createBillsConnector(
        ayopopConfigSchema.parse({ ...setup.connectorConfig(server.url), apiSecret: 'wrong-secret' })
      );
      await assert.rejects(
        wrong.bills.inquire({
          productCode: AYOPOP_SIM_PRODUCTS.plnPostpaid,
          accountNumber: AYOPOP_SIM_ACCOUNTS.succeeds,
        }),
        ProviderAuthError
      );
      await assert.rejects(wrong.bills.status('KPANY'), ProviderAuthError);
    });
  });

  describe('state', () => {
    it('exports and imports its state, re-arming settle timers', async () => {
      const { reference } = await payAfterInquiry(AYOPOP_SIM_ACCOUNTS.failsAfterProcessing);
      const state = JSON.parse(JSON.stringify(sim.exportState())) as unknown;
      const copy = setup.createSimulator({ timeScale: TIME_SCALE });
      try {
        copy.importState(state);
        assert.deepEqual(JSON.parse(JSON.stringify(copy.exportState())), state);
        const copyServer = await listen(copy.app);
        try {
          const copyConnector = createBillsConnector(ayopopConfigSchema.parse(setup.connectorConfig(copyServer.url)));
          const final = await eventually(
            async () => {
              const status = await copyConnector.bills.status(reference);
              return status.status === 'processing' ? undefined : status;
            },
            5_000,
            'the imported order to settle'
          );
          assert.equal(final.providerCode, String(AYOPOP_SIM_SETTLE_FAILURE_CODE));
        } finally {
          await copyServer.close();
        }
      } finally {
        copy.stop();
      }
    });
  });
});
