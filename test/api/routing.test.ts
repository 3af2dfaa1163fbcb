/**
 * Routing rules (issue #15): the pure choice (src/routing), provider health, and `POST /v1/payments`
 * routed by a merchant's rule on the real stack, with failover and an unhealthy provider skipped.
 */
import assert from 'node:assert/strict';
import { createApp } from '../../src/api/app';
import type { KasirConfig } from '../../src/config';
import { createConnectors } from '../../src/connectors/registry';
import type { ProviderId } from '../../src/domain/provider';
import { ProviderHealth } from '../../src/routing/health';
import { chooseRoute, RoutingConfigSchema } from '../../src/routing/rules';
import type { RouteEntry } from '../../src/routing/rules';
import { listen } from '../../src/sandbox/simulator-kit';
import type { RunningServer } from '../../src/sandbox/simulator-kit';
import type { PaymentState } from '../../workflows/movement-state';
import { simControl } from '../helpers/movements';
import { eventually, startStack } from '../helpers/stack';
import type { TestStack } from '../helpers/stack';
import { apiClient, paymentBody } from './http';

function choose(rule: RouteEntry[], amount = 150_000, paymentId = 'P1', unhealthy: ProviderId[] = []) {
  return chooseRoute({
    rule,
    method: 'VA_BCA',
    amount,
    paymentId,
    refusal: (provider) => (provider === 'ayopop' ? 'takes no payments' : undefined),
    isHealthy: (provider) => !unhealthy.includes(provider),
  });
}

describe('routing rules', () => {
  it('takes providers in rule order, the rest as fallbacks', () => {
    const choice = choose([{ provider: 'bdpay' }, { provider: 'finpay' }]);
    assert.equal(choice?.provider, 'bdpay');
    assert.deepEqual(choice?.fallbacks, ['finpay']);
  });

  it('drops entries whose amount bounds or provider exclude the payment', () => {
    const rule: RouteEntry[] = [
      { provider: 'ayopop' },
      { provider: 'finpay', maxAmount: 100_000 },
      { provider: 'bdpay', minAmount: 10_000 },
    ];
    assert.equal(choose(rule, 50_000)?.provider, 'finpay');
    const big = choose(rule, 150_000)!;
    assert.equal(big.provider, 'bdpay');
    assert.deepEqual(big.fallbacks, []);
    assert.match(big.decision, /finpay skipped: amount above 100000/);
    assert.equal(choose([{ provider: 'finpay', minAmount: 200_000 }], 150_000), undefined);
  });

  it('draws the first provider by weight, stable per payment id', () => {
    const rule: RouteEntry[] = [
      { provider: 'finpay', weight: 3 },
      { provider: 'bdpay', weight: 1 },
    ];
    const counts: Record<string, number> = {};
    for (let i = 0; i < 4_000; i++) {
      const provider = choose(rule, 150_000, `PAY${i}`)!.provider;
      counts[provider] = (counts[provider] ?? 0) + 1;
    }
    assert.ok(counts.finpay! > 2_800 && counts.finpay! < 3_200, JSON.stringify(counts));
    assert.equal(choose(rule, 150_000, 'PAY7')?.provider, choose(rule, 150_000, 'PAY7')?.provider);
    // Weight 0 (or none, beside weighted entries): a fallback only.
    const zero = choose([
      { provider: 'finpay', weight: 0 },
      { provider: 'bdpay', weight: 1 },
    ])!;
    assert.equal(zero.provider, 'bdpay');
    assert.deepEqual(zero.fallbacks, ['finpay']);
  });

  it('puts unhealthy providers last, and uses one when nothing else is left', () => {
    const rule: RouteEntry[] = [{ provider: 'finpay' }, { provider: 'bdpay' }];
    const skipped = choose(rule, 150_000, 'P1', ['finpay'])!;
    assert.equal(skipped.provider, 'bdpay');
    assert.deepEqual(skipped.fallbacks, ['finpay']);
    assert.match(skipped.decision, /finpay unhealthy/);
    assert.equal(choose(rule, 150_000, 'P1', ['finpay', 'bdpay'])?.provider, 'finpay');
  });

  it('parses the config section, and refuses bounds the wrong way round', () => {
    const parsed = RoutingConfigSchema.parse({ merchants: { acme: { VA_BCA: [{ provider: 'finpay' }] } } });
    assert.equal(parsed.health.failureThreshold, 5);
    assert.throws(() =>
      RoutingConfigSchema.parse({
        merchants: { acme: { VA_BCA: [{ provider: 'finpay', minAmount: 9, maxAmount: 1 }] } },
      })
    );
    assert.throws(() => RoutingConfigSchema.parse({ merchants: { acme: { VA_BCA: [] } } }));
  });

  it('marks a provider unhealthy past the threshold, and healthy again after the cool-down', () => {
    let now = 0;
    const health = new ProviderHealth({ failureThreshold: 2, windowMs: 1_000, coolDownMs: 5_000 }, () => now);
    health.recordFailure('finpay');
    now = 2_000; // the first failure left the window
    health.recordFailure('finpay');
    assert.equal(health.isHealthy('finpay'), true);
    health.recordFailure('finpay');
    assert.equal(health.isHealthy('finpay'), false);
    now = 6_999;
    assert.equal(health.isHealthy('finpay'), false);
    now = 7_000;
    assert.equal(health.isHealthy('finpay'), true);
    // A decline returned as data is not a failure; a provider left after an unknown outcome is.
    health.observe({ id: 'P1', provider: 'bdpay', status: 'FAILED', failure: { code: 'DECLINED' } });
    health.observe({ id: 'P2', provider: 'bdpay', status: 'FAILED', failure: { code: 'DECLINED' } });
    assert.equal(health.isHealthy('bdpay'), true);
    const leftFinpay = (id: string, reason: string, detail = 'OutcomeUnknownError: timeout') => ({
      id,
      provider: 'bdpay' as const,
      status: 'PENDING',
      routing: { tried: [{ provider: 'finpay' as const, reason, detail }] },
    });
    // The same payment observed again (a merchant re-posting it) counts once; a refusal of the request
    // itself (the merchant's data) does not count.
    health.observe(leftFinpay('P3', 'unknown_then_not_found'));
    health.observe(leftFinpay('P3', 'unknown_then_not_found'));
    health.observe(leftFinpay('P4', 'refused', 'ProviderRequestRejectedError: invalid phone'));
    assert.equal(health.isHealthy('finpay'), true);
    health.observe(leftFinpay('P5', 'unknown_then_not_found'));
    assert.equal(health.isHealthy('finpay'), false);
  });
});

describe('POST /v1/payments with routing rules', function () {
  this.timeout(120_000);
  let stack: TestStack;
  let routedApi: RunningServer;
  let api: ReturnType<typeof apiClient>;
  let finpay: string;
  let bdpay: string;
  const COOL_DOWN_MS = 4_000;

  before(async () => {
    stack = await startStack({ api: true });
    finpay = stack.simulators.finpay.url;
    bdpay = stack.simulators.bdpay.url;
    const acme = stack.merchants[0]!.id;
    const config: KasirConfig = {
      ...stack.config,
      routing: RoutingConfigSchema.parse({
        merchants: {
          [acme]: {
            VA_BCA: [{ provider: 'finpay' }, { provider: 'bdpay' }],
            VA_MANDIRI: [{ provider: 'bdpay' }, { provider: 'finpay' }],
            VA_BNI: [{ provider: 'finpay', maxAmount: 100_000 }, { provider: 'bdpay' }],
            VA_BRI: [
              { provider: 'finpay', weight: 0 },
              { provider: 'bdpay', weight: 1 },
            ],
            // NICEPAY does not offer QRIS: the rule's usable entry is Finpay alone.
            QRIS: [{ provider: 'nicepay' }, { provider: 'finpay' }],
          },
        },
        health: { failureThreshold: 1, windowMs: 60_000, coolDownMs: COOL_DOWN_MS },
      }),
    };
    // A second API process on the same stack, with the routing config (callbacks still reach the stack's API).
    routedApi = await listen(
      createApp({ client: stack.client, config, connectors: createConnectors(config.providers) })
    );
    api = apiClient({ ...stack, apiUrl: routedApi.url });
  });
  after(async () => {
    await routedApi?.close();
    await stack?.stop();
  });
  afterEach(async () => {
    for (const url of [finpay, bdpay]) await fetch(`${url}/_sim/faults`, { method: 'DELETE' });
  });

  const [acme, globex] = [0, 1];

  async function create(overrides: Record<string, unknown>, merchant = acme) {
    const body = paymentBody({ provider: undefined, ...overrides });
    const response = await api.post<PaymentState>('/v1/payments', body, { as: stack.merchants[merchant]! });
    assert.ok([201, 202].includes(response.status), `${response.status} ${response.text}`);
    return response.body;
  }

  function moneyNotes(state: PaymentState): string[] {
    return state.timeline.filter((e) => e.money).map((e) => e.note ?? '');
  }

  it('routes by the rule order, amount bounds and weights, and records the decision', async () => {
    const first = await create({ method: 'VA_BCA' });
    assert.equal(first.provider, 'finpay');
    assert.ok(moneyNotes(first).some((n) => n.startsWith('routing: routed to finpay by the VA_BCA rule')));
    assert.equal((await create({ method: 'VA_MANDIRI' })).provider, 'bdpay');
    assert.equal((await create({ method: 'VA_BNI', amount: 50_000 })).provider, 'finpay');
    assert.equal((await create({ method: 'VA_BNI', amount: 150_000 })).provider, 'bdpay');
    assert.equal((await create({ method: 'VA_BRI' })).provider, 'bdpay');
    const qris = await create({ method: 'QRIS' });
    assert.equal(qris.provider, 'finpay');
    assert.match(moneyNotes(qris)[0] ?? '', /nicepay skipped: does not offer QRIS/);
  });

  it('routes a merchant without a rule as before', async () => {
    const payment = await create({ method: 'VA_BCA' }, globex);
    assert.equal(payment.provider, 'finpay');
    assert.equal(payment.routing, undefined);
    assert.ok(!moneyNotes(payment).some((n) => n.startsWith('routing:')));
  });

  it('fails over on a 5xx and "not found", then skips the unhealthy provider until its cool-down ends', async () => {
    await simControl(finpay, '/_sim/faults', { kind: 'http-5xx', path: '/pg/payment/card/initiate', count: 4 });
    const moved = await create({ method: 'VA_BCA' });
    assert.equal(moved.status, 'PENDING');
    assert.equal(moved.provider, 'bdpay');
    assert.deepEqual(
      moved.routing?.tried.map((t) => t.provider),
      ['finpay']
    );
    assert.equal((await fetch(`${finpay}/_sim/orders/${moved.id}`)).status, 404, 'Finpay holds no order');
    assert.equal((await fetch(`${bdpay}/_sim/orders/${moved.id}`)).status, 200, 'BDPay holds it, same id');

    // One failure is the threshold here: Finpay is skipped (tried last) until the cool-down ends.
    const skipped = await create({ method: 'VA_BCA' });
    assert.equal(skipped.provider, 'bdpay');
    assert.match(moneyNotes(skipped)[0] ?? '', /finpay unhealthy: tried last/);
    assert.deepEqual(skipped.routing?.tried, []);

    await new Promise((resolve) => setTimeout(resolve, COOL_DOWN_MS + 200));
    const recovered = await create({ method: 'VA_BCA' });
    assert.equal(recovered.provider, 'finpay');
    assert.equal(recovered.status, 'PENDING');
  });

  it('never fails over a provider the merchant pinned, healthy or not', async () => {
    await simControl(finpay, '/_sim/faults', { kind: 'http-5xx', path: '/pg/payment/card/initiate', count: 4 });
    const pinned = await create({ method: 'VA_BCA', provider: 'finpay' });
    const state = await eventually(async () => {
      const got = await api.get<PaymentState>(`/v1/payments/${pinned.id}`, { as: stack.merchants[acme]! });
      assert.equal(got.body.status, 'FAILED');
      return got.body;
    });
    assert.equal(state.provider, 'finpay');
    assert.equal(state.routing?.pinned, true);
    assert.equal((await fetch(`${bdpay}/_sim/orders/${state.id}`)).status, 404);
  });
});
