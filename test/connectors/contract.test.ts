/**
 * One contract for every connector: the same scenarios, by the same names, run against each connector in
 * `CONNECTOR_MODULES` and the simulator `SIMULATOR_SETUPS` gives it, the way Hyperswitch's connector
 * template gives every connector the same tests. What differs between providers is data, in
 * `EXPECTATIONS` (a payment each one takes, how far its callbacks prove anything), never copied test code.
 *
 * A scenario for a capability a connector does not have (payments, payouts, bills) or a property it lacks
 * (signed callbacks) is not generated at all, so every test that runs is one the connector must pass.
 * Provider-specific behaviour stays in `<provider>.simulator.test.ts`.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import express from 'express';
import type { BillsCapability, Connector, PaymentsCapability, PayoutsCapability } from '../../src/connectors/connector';
import type { RawCallback } from '../../src/connectors/connector';
import { CONNECTOR_MODULES } from '../../src/connectors/registry';
import type { CallbackTrust, ParsedCallback } from '../../src/domain/callback';
import { CallbackSignatureError, OutcomeUnknownError, ProviderUnavailableError } from '../../src/domain/errors';
import type { CreatePaymentInput, PaymentRef, PaymentRegistration } from '../../src/domain/payment';
import type { SubmitPayoutInput } from '../../src/domain/payout';
import { PROVIDER_IDS } from '../../src/domain/provider';
import type { ProviderId } from '../../src/domain/provider';
import { deriveId } from '../../src/ids';
import type { MovementKind } from '../../src/ids';
import { AYOPOP_SIM_ACCOUNTS, AYOPOP_SIM_PRODUCTS } from '../../src/sandbox/ayopop';
import { SIMULATOR_SETUPS } from '../../src/sandbox/registry';
import { listen } from '../../src/sandbox/simulator-kit';
import type { ProviderSimulator, RunningServer, SimulatorSetup } from '../../src/sandbox/simulator-kit';
import { eventually } from '../helpers/eventually';

/** What the contract needs to know about one provider, beyond what its connector says of itself. */
interface ContractExpectations {
  /** A payment the provider takes, for a connector with payments. */
  payment?: Omit<CreatePaymentInput, 'reference' | 'callbackUrl'>;
  /** A payout the provider takes, for a connector with payouts. */
  payout?: Omit<SubmitPayoutInput, 'reference' | 'callbackUrl'>;
  /** A bill that inquires fine and, once paid, stays processing until `/_sim/orders/:reference/pay`. */
  bill?: { productCode: string; accountNumber: string };
  /** How far the provider's callbacks can be trusted once verified. */
  callbackTrust: CallbackTrust;
  /** Whether callbacks carry a signature, so a forged one must be refused. */
  signedCallbacks: boolean;
}

const customer = { name: 'Budi Santoso', email: 'budi@example.co.id', phone: '081286288844' };

const EXPECTATIONS: Record<ProviderId, ContractExpectations> = {
  finpay: {
    payment: { amount: 150_000, method: 'VA_BCA', customer, description: 'Contract order', expiresInMinutes: 1440 },
    callbackTrust: 'verified',
    signedCallbacks: true,
  },
  nicepay: {
    payment: {
      amount: 150_000,
      method: 'EWALLET_DANA',
      customer,
      description: 'Contract order',
      expiresInMinutes: 1440,
      returnUrl: 'https://shop.example/return',
    },
    callbackTrust: 'hint',
    signedCallbacks: true,
  },
  bdpay: {
    payment: { amount: 150_000, method: 'VA_BCA', customer, description: 'Contract order', expiresInMinutes: 1440 },
    payout: {
      amount: 150_000,
      feeMode: 'deducted',
      beneficiary: { bankCode: '014', accountNumber: '1234567890', accountName: 'Budi Santoso' },
      description: 'Contract payout',
    },
    callbackTrust: 'hint',
    signedCallbacks: true,
  },
  ayopop: {
    bill: { productCode: AYOPOP_SIM_PRODUCTS.plnPostpaid, accountNumber: AYOPOP_SIM_ACCOUNTS.staysProcessing },
    callbackTrust: 'hint',
    signedCallbacks: false,
  },
};

/** Simulator clocks run a thousand times faster: callback retries take milliseconds, a day-long expiry 86 s. */
const TIME_SCALE = 0.001;

const newReference = (kind: MovementKind) => deriveId(kind, 'contract', randomUUID());

type ReceiverMode = 'accept' | 'unknown-reference' | 'reject-payload';

interface Delivery {
  rawBody: Buffer;
  parsed?: ParsedCallback;
  error?: unknown;
  status: number;
}

/**
 * A stand-in for Kasir's callback route: verifies with the connector, then answers as told for that
 * reference (accepted by default), in the connector's own dialect.
 */
function callbackReceiver(connector: () => Connector) {
  const deliveries: Delivery[] = [];
  const modes = new Map<string, ReceiverMode>();
  const app = express();
  app.post('/callbacks', express.raw({ type: () => true }), async (req, res) => {
    const headers: Record<string, string | undefined> = {};
    for (const [name, value] of Object.entries(req.headers)) headers[name] = Array.isArray(value) ? value[0] : value;
    const callback: RawCallback = { headers, rawBody: req.body as Buffer, contentType: req.get('content-type') };
    const { callbacks } = connector();
    const delivery: Delivery = { rawBody: callback.rawBody, status: 0 };
    let answer;
    try {
      delivery.parsed = await callbacks.verifyAndParse(callback);
      const mode = modes.get(delivery.parsed.reference) ?? 'accept';
      answer =
        mode === 'reject-payload'
          ? callbacks.reject('payload')
          : callbacks.answer(mode === 'accept' ? 'accepted' : 'unknown-reference');
    } catch (err) {
      delivery.error = err;
      answer = callbacks.reject(err instanceof CallbackSignatureError ? 'signature' : 'payload');
    }
    delivery.status = answer.status;
    deliveries.push(delivery);
    res.status(answer.status).type(answer.contentType).send(answer.body);
  });
  return {
    app,
    answerAs: (reference: string, mode: ReceiverMode) => modes.set(reference, mode),
    /** Deliveries whose body names `reference` (every provider's callback body carries Kasir's reference). */
    deliveriesFor: (reference: string) => deliveries.filter((d) => d.rawBody.toString('utf8').includes(reference)),
  };
}

function contractFor(id: ProviderId): void {
  const module = CONNECTOR_MODULES[id];
  const expectations = EXPECTATIONS[id];
  const setup: SimulatorSetup<unknown> = SIMULATOR_SETUPS[id]();
  // Capabilities are read from the connector itself; building one sends nothing.
  const declared = module.createConnector(module.configSchema.parse(setup.connectorConfig('http://127.0.0.1:9')));

  describe(`${id} connector (contract)`, function () {
    this.timeout(20_000);
    let sim: ProviderSimulator;
    let simServer: RunningServer;
    let receiverServer: RunningServer;
    let connector: Connector;
    let callbackUrl: string;
    const receiver = callbackReceiver(() => connector);

    before(async () => {
      sim = setup.createSimulator({ timeScale: TIME_SCALE });
      simServer = await listen(sim.app);
      receiverServer = await listen(receiver.app);
      callbackUrl = `${receiverServer.url}/callbacks`;
      connector = module.createConnector(
        module.configSchema.parse({ ...(setup.connectorConfig(simServer.url) as object), timeoutMs: 5_000 })
      );
    });

    afterEach(() => {
      sim.faults.clear();
      sim.callbacks.clearFaults();
    });

    after(async () => {
      sim.stop();
      await simServer.close();
      await receiverServer.close();
    });

    const control = async (path: string) => {
      const response = await fetch(`${simServer.url}/_sim${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{}',
      });
      assert.equal(response.status, 200, `POST /_sim${path}: ${await response.text()}`);
    };
    /** The next request the simulator receives fails with HTTP 500, before it touches any state. */
    const failNextRequest = () => sim.faults.add({ kind: 'http-5xx', status: 500 });

    // ---------- payments ----------

    const payments = (): PaymentsCapability => connector.payments!;
    const paymentInput = (): CreatePaymentInput => {
      assert.ok(expectations.payment, `EXPECTATIONS.${id} has no payment, yet the connector takes payments`);
      return { ...expectations.payment, reference: newReference('payment'), callbackUrl };
    };
    const refOf = (input: CreatePaymentInput, providerReference?: string): PaymentRef => ({
      reference: input.reference,
      amount: input.amount,
      method: input.method,
      createdAt: new Date().toISOString(),
      ...(providerReference === undefined ? {} : { providerReference }),
    });
    const createPayment = async () => {
      const input = paymentInput();
      const registration = await payments().create(input);
      assert.equal(registration.result, 'registered', JSON.stringify(registration));
      return { input, registration, ref: refOf(input, registration.providerReference) };
    };

    // ---------- payouts ----------

    const payouts = (): PayoutsCapability => connector.payouts!;
    const payoutInput = (): SubmitPayoutInput => {
      assert.ok(expectations.payout, `EXPECTATIONS.${id} has no payout, yet the connector makes payouts`);
      return { ...expectations.payout, reference: newReference('payout'), callbackUrl };
    };

    // ---------- bills ----------

    const bills = (): BillsCapability => connector.bills!;
    const inquireBill = async () => {
      assert.ok(expectations.bill, `EXPECTATIONS.${id} has no bill, yet the connector pays bills`);
      const inquiry = await bills().inquire(expectations.bill);
      assert.ok(inquiry.result === 'ok', JSON.stringify(inquiry));
      return inquiry;
    };
    const payBill = async (reference = newReference('bill')) => {
      const inquiry = await inquireBill();
      const input = {
        reference,
        inquiryId: inquiry.inquiryId,
        productCode: inquiry.productCode,
        accountNumber: expectations.bill!.accountNumber,
        amount: inquiry.amount,
        callbackUrl,
      };
      return { input, outcome: await bills().pay(input) };
    };

    // ---------- callbacks ----------

    /** Makes the simulator send one genuine callback, through the first capability the connector has. */
    const triggerCallback = async (): Promise<{ reference: string; kind: ParsedCallback['kind'] }> => {
      if (declared.payments) {
        const { input } = await createPayment();
        await control(`/orders/${input.reference}/pay`);
        return { reference: input.reference, kind: 'payment' };
      }
      if (declared.bills) {
        const { input } = await payBill();
        await control(`/orders/${input.reference}/pay`);
        return { reference: input.reference, kind: 'bill' };
      }
      const input = payoutInput();
      assert.equal((await payouts().submit(input)).result, 'accepted');
      await control(`/payouts/${input.reference}/settle`);
      return { reference: input.reference, kind: 'payout' };
    };
    const attemptsFor = (reference: string, atLeast = 1) =>
      eventually(
        () => {
          const attempts = sim.callbacks.attemptsFor(reference).filter((a) => a.status !== undefined || a.error);
          return attempts.length >= atLeast ? attempts : undefined;
        },
        10_000,
        `${atLeast} callback attempt(s) for ${reference}`
      );

    it('restores the same test credentials and connector config from what its sandbox saved', () => {
      const first = SIMULATOR_SETUPS[id]();
      const again = SIMULATOR_SETUPS[id](JSON.parse(JSON.stringify(first.credentials)));
      assert.deepEqual(again.credentials, first.credentials);
      assert.deepEqual(again.connectorConfig('http://127.0.0.1:9'), first.connectorConfig('http://127.0.0.1:9'));
      assert.equal(module.configSchema.safeParse(again.connectorConfig('http://127.0.0.1:9')).success, true);
    });

    it('verifies and parses a genuine callback from its simulator', async () => {
      const { reference, kind } = await triggerCallback();
      await attemptsFor(reference);
      const [delivery] = receiver.deliveriesFor(reference);
      assert.ok(delivery?.parsed, `the callback did not verify: ${String(delivery?.error)}`);
      assert.equal(delivery.parsed.kind, kind);
      assert.equal(delivery.parsed.reference, reference);
      assert.equal(delivery.parsed.trust, expectations.callbackTrust);
      assert.equal(delivery.parsed.outcome.status, 'succeeded');
      assert.ok(delivery.parsed.eventId.length > 0);
    });

    it('acknowledges an accepted callback in its dialect, so the simulator stops retrying', async () => {
      const { reference } = await triggerCallback();
      const [attempt] = await attemptsFor(reference);
      assert.equal(attempt?.acknowledged, true, JSON.stringify(attempt));
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.equal(sim.callbacks.attemptsFor(reference).length, 1);
    });

    it('answers an unknown reference in its dialect, so the simulator stops retrying', async () => {
      const reference = newReference(declared.payments ? 'payment' : declared.bills ? 'bill' : 'payout');
      receiver.answerAs(reference, 'unknown-reference');
      const answer = connector.callbacks.answer('unknown-reference');
      assert.ok(answer.status >= 200 && answer.status < 300, `answered HTTP ${answer.status}`);
      assert.ok(connector.callbacks.unknownReferencePolicy.length > 0);
      const triggered = await triggerCallbackFor(reference);
      const [attempt] = await attemptsFor(triggered);
      assert.equal(attempt?.acknowledged, true, JSON.stringify(attempt));
    });

    it('rejects an unreadable callback in its dialect, which the simulator does not take as acknowledged', async () => {
      const answer = connector.callbacks.reject('payload');
      assert.ok(answer.status >= 400 && answer.status < 500, `answered HTTP ${answer.status}`);
      const reference = newReference(declared.payments ? 'payment' : declared.bills ? 'bill' : 'payout');
      receiver.answerAs(reference, 'reject-payload');
      await triggerCallbackFor(reference);
      const attempts = await attemptsFor(reference, 2);
      assert.ok(
        attempts.every((a) => !a.acknowledged && a.status === answer.status),
        JSON.stringify(attempts)
      );
    });

    if (expectations.signedCallbacks) {
      it('rejects a forged callback with CallbackSignatureError, answered in its dialect', async () => {
        sim.callbacks.addFault({ kind: 'forge' });
        const { reference } = await triggerCallback();
        const [attempt] = await attemptsFor(reference);
        assert.equal(attempt?.forged, true);
        assert.equal(attempt?.acknowledged, false);
        const [delivery] = receiver.deliveriesFor(reference);
        assert.ok(delivery?.error instanceof CallbackSignatureError, String(delivery?.error));
        assert.equal(delivery.parsed, undefined);
        assert.equal(delivery.status, connector.callbacks.reject('signature').status);
        assert.ok(delivery.status >= 400 && delivery.status < 500);
      });
    }

    /** `triggerCallback`, for a reference chosen beforehand (so the receiver can be told how to answer it). */
    async function triggerCallbackFor(reference: string): Promise<string> {
      if (declared.payments) {
        const input = { ...paymentInput(), reference };
        assert.equal((await payments().create(input)).result, 'registered');
        await control(`/orders/${reference}/pay`);
      } else if (declared.bills) {
        await payBill(reference);
        await control(`/orders/${reference}/pay`);
      } else {
        assert.equal((await payouts().submit({ ...payoutInput(), reference })).result, 'accepted');
        await control(`/payouts/${reference}/settle`);
      }
      return reference;
    }

    if (declared.payments) {
      describe('payments', () => {
        it('validates a payment it takes without finding an issue', () => {
          assert.deepEqual(payments().validate(paymentInput()), []);
        });

        it('registers a payment and reports it pending', async () => {
          const { ref } = await createPayment();
          const outcome = await payments().inquire(ref);
          assert.equal(outcome.status, 'pending', JSON.stringify(outcome));
        });

        it('reports a paid payment as succeeded, with the amount paid', async () => {
          const { input, ref } = await createPayment();
          await control(`/orders/${input.reference}/pay`);
          const outcome = await payments().inquire(ref);
          assert.equal(outcome.status, 'succeeded', JSON.stringify(outcome));
          assert.equal(outcome.paidAmount, input.amount);
        });

        it('treats a duplicate reference as the existing payment or an unknown outcome, never a decline', async () => {
          const { input, ref } = await createPayment();
          let again: PaymentRegistration | undefined;
          try {
            again = await payments().create(input);
          } catch (err) {
            assert.ok(err instanceof OutcomeUnknownError, String(err));
          }
          if (again) assert.equal(again.result, 'registered', JSON.stringify(again));
          assert.equal((await payments().inquire(ref)).status, 'pending');
        });

        it('reports a reference it never saw as not_found', async () => {
          const input = paymentInput();
          const outcome = await payments().inquire(refOf(input));
          assert.equal(outcome.status, 'not_found', JSON.stringify(outcome));
        });

        it('reports a 5xx on create as OutcomeUnknownError, never a decline', async () => {
          await payments().inquire(refOf(paymentInput()));
          failNextRequest();
          await assert.rejects(payments().create(paymentInput()), OutcomeUnknownError);
        });

        it('reports a 5xx on inquiry as ProviderUnavailableError', async () => {
          failNextRequest();
          await assert.rejects(payments().inquire(refOf(paymentInput())), ProviderUnavailableError);
        });
      });
    }

    if (declared.payouts) {
      describe('payouts', () => {
        it('submits a payout and reports it processing', async () => {
          const input = payoutInput();
          const submission = await payouts().submit(input);
          assert.equal(submission.result, 'accepted', JSON.stringify(submission));
          const outcome = await payouts().inquire({ reference: input.reference });
          assert.equal(outcome.status, 'processing', JSON.stringify(outcome));
        });

        it('treats a duplicate reference as unknown, never failed', async () => {
          const input = payoutInput();
          assert.equal((await payouts().submit(input)).result, 'accepted');
          const again = await payouts().submit(input);
          assert.equal(again.result, 'unknown', JSON.stringify(again));
          assert.equal((await payouts().inquire({ reference: input.reference })).status, 'processing');
        });

        it('reports a reference it never saw as not_found', async () => {
          const outcome = await payouts().inquire({ reference: newReference('payout') });
          assert.equal(outcome.status, 'not_found', JSON.stringify(outcome));
        });

        it('reports a 5xx on submit as unknown, never failed', async () => {
          await payouts().inquire({ reference: newReference('payout') });
          failNextRequest();
          const submission = await payouts().submit(payoutInput());
          assert.equal(submission.result, 'unknown', JSON.stringify(submission));
        });

        it('reports a 5xx on inquiry as ProviderUnavailableError', async () => {
          failNextRequest();
          await assert.rejects(payouts().inquire({ reference: newReference('payout') }), ProviderUnavailableError);
        });

        it('reads the balance', async () => {
          const balance = await payouts().balance();
          assert.equal(typeof balance.available, 'number');
        });
      });
    }

    if (declared.bills) {
      describe('bills', () => {
        it('inquires a bill and pays it, reporting processing', async () => {
          const { input, outcome } = await payBill();
          assert.equal(outcome.status, 'processing', JSON.stringify(outcome));
          assert.equal((await bills().status(input.reference)).status, 'processing');
        });

        it('reports a paid bill as succeeded', async () => {
          const { input } = await payBill();
          await control(`/orders/${input.reference}/pay`);
          const outcome = await bills().status(input.reference);
          assert.equal(outcome.status, 'succeeded', JSON.stringify(outcome));
        });

        it('treats a duplicate reference as processing, never failed', async () => {
          const { input } = await payBill();
          const again = await bills().pay(input);
          assert.equal(again.status, 'processing', JSON.stringify(again));
          assert.equal((await bills().status(input.reference)).status, 'processing');
        });

        it('reports a reference it never saw as processing, never failed', async () => {
          const outcome = await bills().status(newReference('bill'));
          assert.equal(outcome.status, 'processing', JSON.stringify(outcome));
        });

        it('reports a 5xx on payment as processing, never failed', async () => {
          const inquiry = await inquireBill();
          failNextRequest();
          const outcome = await bills().pay({
            reference: newReference('bill'),
            inquiryId: inquiry.inquiryId,
            productCode: inquiry.productCode,
            accountNumber: expectations.bill!.accountNumber,
            amount: inquiry.amount,
            callbackUrl,
          });
          assert.equal(outcome.status, 'processing', JSON.stringify(outcome));
        });

        it('reports a 5xx on status as ProviderUnavailableError', async () => {
          failNextRequest();
          await assert.rejects(bills().status(newReference('bill')), ProviderUnavailableError);
        });
      });
    }
  });
}

describe('connector contract', () => {
  it('covers every provider in the registry', () => {
    assert.deepEqual(Object.keys(CONNECTOR_MODULES).sort(), [...PROVIDER_IDS].sort());
    assert.deepEqual(Object.keys(SIMULATOR_SETUPS).sort(), [...PROVIDER_IDS].sort());
  });

  for (const id of PROVIDER_IDS) contractFor(id);
});
