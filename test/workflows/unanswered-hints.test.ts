/**
 * A callback Kasir acknowledged but does not take at face value (a hint) is confirmed by the provider's
 * status. When that status cannot be read, the movement asks again, backing off, and does not close over
 * it: the provider, told the callback arrived, will not send it again.
 */
import assert from 'node:assert/strict';
import { AYOPOP_SIM_ACCOUNTS, AYOPOP_SIM_PRODUCTS } from '../../src/sandbox/ayopop';
import { billStateQuery, paymentStateQuery, providerCallbackSignal } from '../../workflows/messages';
import { recordHistory } from '../helpers/histories';
import { simControl, startBill, startPayment } from '../helpers/movements';
import { eventually, startStack } from '../helpers/stack';
import type { TestStack } from '../helpers/stack';

describe('hints whose provider could not be asked', function () {
  this.timeout(90_000);
  let stack: TestStack;

  before(async function () {
    this.timeout(120_000);
    stack = await startStack({
      api: true,
      // NICEPAY's own expiry (its validity at this time scale) comes after Kasir's, so the customer can
      // still pay after Kasir expired the payment, as a late payment does.
      timeScale: 3,
      timings: {
        // The late watch ends before its next poll: only the notification can tell Kasir of the money.
        payment: {
          poll: { initialMs: 30_000, maxMs: 30_000, factor: 1 },
          lateWindowMs: 6_000,
          latePoll: { initialMs: 60_000, maxMs: 60_000, factor: 1 },
        },
        hintMinIntervalMs: 300,
      },
    });
  });
  after(async () => stack?.stop());
  afterEach(async () => void (await fetch(`${stack.simulators.nicepay.url}/_sim/faults`, { method: 'DELETE' })));

  /**
   * A NICEPAY e-wallet payment Kasir expired and whose customer then pays: NICEPAY notifies Kasir, which
   * acknowledges it, while NICEPAY's status API fails the next `failures` requests.
   */
  async function paidAfterExpiryWhileStatusFails(failures: number) {
    const nicepay = stack.simulators.nicepay.url;
    const { state, handle } = await startPayment(stack, {
      provider: 'nicepay',
      method: 'EWALLET_OVO',
      expiresInMinutes: 0.05,
    });
    assert.equal(state.status, 'PENDING');
    await eventually(
      async () => (await handle.query(paymentStateQuery)).status === 'EXPIRED',
      30_000,
      'Kasir to expire the payment'
    );
    await simControl(nicepay, '/_sim/faults', {
      kind: 'http-5xx',
      path: '/nicepay/api/v1.0/debit/status',
      status: 503,
      count: failures,
    });
    await simControl(nicepay, `/_sim/orders/${state.id}/pay`);
    const acknowledged = await eventually(() =>
      stack.simulators.nicepay.simulator.callbacks.attempts.find((a) => a.reference === state.id && a.acknowledged)
    );
    assert.ok(acknowledged);
    return { state, handle };
  }

  it('asks again about a paid notification whose confirming inquiry failed, instead of closing EXPIRED over it', async () => {
    // Exactly the three attempts of the inquiry that confirms the notification fail.
    const { state, handle } = await paidAfterExpiryWhileStatusFails(3);

    const closed = await handle.result();
    await recordHistory(stack, handle, 'payment', 'hint-asked-until-answered');
    assert.equal(
      closed.status,
      'SUCCEEDED',
      `closed ${closed.status}: ${closed.timeline.map((e) => e.note).join('; ')}`
    );
    assert.ok(
      closed.timeline.some((e) => /could not be read to confirm a callback/.test(e.note ?? '')),
      'the failed inquiry is on the timeline'
    );
    const events = await eventually(async () => {
      const types = stack.webhooks.eventsFor(state.id).map((e) => e.type);
      return types.includes('payment.succeeded') ? types : undefined;
    });
    assert.deepEqual(
      events.filter((t) => t === 'payment.succeeded'),
      ['payment.succeeded']
    );
  });

  it('takes a hint about a bill never paid as needing no answer: nothing is asked again, nothing held open', async () => {
    const { state, handle } = await startBill(stack, {
      productCode: AYOPOP_SIM_PRODUCTS.plnPostpaid,
      accountNumber: AYOPOP_SIM_ACCOUNTS.succeedsImmediately,
    });
    assert.equal(state.status, 'INQUIRED');
    // An unsigned report of a payment Kasir never made (Ayopop's callbacks carry no signature).
    await handle.signal(providerCallbackSignal, {
      kind: 'bill',
      provider: 'ayopop',
      reference: state.id,
      eventId: 'HINT:never-paid',
      trust: 'hint',
      receivedAt: new Date().toISOString(),
      outcome: { status: 'succeeded', providerCode: '0', amount: state.inquiry!.amount },
    });
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const current = await handle.query(billStateQuery);
    assert.equal(current.status, 'INQUIRED');
    assert.ok(
      !current.timeline.some((e) => /could not be read to confirm a callback/.test(e.note ?? '')),
      `timeline: ${current.timeline.map((e) => e.note).join('; ')}`
    );
    await handle.terminate('test cleanup');
  });

  it('flags a notification it could not confirm in `hintConfirmAsks` inquiries for an operator, and closes', async () => {
    const timings = stack.config.timings;
    stack.config.timings = { ...timings, hintConfirmAsks: 1 };
    let started;
    try {
      // NICEPAY's status cannot be read at all from the notification on.
      started = await paidAfterExpiryWhileStatusFails(1_000);
    } finally {
      stack.config.timings = timings;
    }
    const closed = await started.handle.result();
    assert.equal(closed.status, 'EXPIRED');
    assert.equal(closed.needsAttention, true);
    assert.match(closed.attentionReason ?? '', /^HINT_UNCONFIRMED: nicepay sent a callback for this payment/);
  });
});
