/**
 * BDPay's `/_sim` controls: pay, expire or fail an open order; settle or fail a processing payout; read
 * and set the merchant account; script answer faults; switch payouts to settle by themselves; change a
 * payout silently or forget it, for reconciliation.
 */
import express from 'express';
import type { Request, Response } from 'express';
import { z } from 'zod';
import { BdpayMethodSchema, CashStatusSchema } from '../../connectors/bdpay/schemas';
import type { OrderStatus } from '../../connectors/bdpay/schemas';
import { applySilentChange, scriptRoutes } from '../simulator-kit';
import { AccountSchema, OPEN_CASH_STATUSES, OPEN_ORDER_STATUSES, ResponseFaultSchema } from './state';
import type { BdpayState, SimOrder, SimPayout } from './state';

/** A silent change of a payout's side: its status, its amount, or both. */
const PayoutChangeSchema = z.object({
  status: CashStatusSchema.optional(),
  money: z.number().int().positive().optional(),
});

export function bdpayControls(state: BdpayState): express.Router {
  const controls = express.Router();
  controls.use(express.json());
  const withOrder =
    (handler: (order: SimOrder, req: Request, res: Response) => void) => (req: Request, res: Response) => {
      const order = state.orders.get(String(req.params.reference));
      if (order === undefined) return void res.status(404).json({ error: 'no such order' });
      handler(order, req, res);
    };
  const withPayout =
    (handler: (payout: SimPayout, req: Request, res: Response) => void) => (req: Request, res: Response) => {
      const payout = state.payouts.get(String(req.params.reference));
      if (payout === undefined) return void res.status(404).json({ error: 'no such payout' });
      handler(payout, req, res);
    };
  const openOrder = (act: (order: SimOrder, req: Request) => void) =>
    withOrder((order, req, res) => {
      if (!OPEN_ORDER_STATUSES.includes(order.status)) {
        return void res.status(409).json({ error: `order is ${order.status}`, order });
      }
      act(order, req);
      res.json(order);
    });
  const closing = (status: OrderStatus) => openOrder((order) => state.closeOrder(order, status));

  controls.get(
    '/orders/:reference',
    withOrder((order, _req, res) => void res.json(order))
  );
  controls.post(
    '/orders/:reference/pay',
    openOrder((order, req) => {
      // On the hosted cashier the customer picks the method; the control may say which (default QRIS).
      const chosen = z.object({ method: BdpayMethodSchema.optional() }).safeParse(req.body ?? {});
      if (order.method === undefined) order.method = (chosen.success ? chosen.data.method : undefined) ?? 'QRIS';
      state.payOrder(order);
    })
  );
  controls.post('/orders/:reference/expire', closing('PAY_CANCEL'));
  controls.post('/orders/:reference/fail', closing('PAY_ERROR'));
  controls.get(
    '/payouts/:reference',
    withPayout((payout, _req, res) => void res.json(payout))
  );
  const finishing = (status: '2' | '4', defaultMessage: string) =>
    withPayout((payout, req, res) => {
      if (!OPEN_CASH_STATUSES.includes(payout.status)) {
        return void res.status(409).json({ error: `payout status is ${payout.status}`, payout });
      }
      const parsed = z.object({ message: z.string().min(1).optional() }).safeParse(req.body ?? {});
      state.finishPayout(payout, status, (parsed.success ? parsed.data.message : undefined) ?? defaultMessage);
      res.json(payout);
    });
  controls.post('/payouts/:reference/settle', finishing('2', 'Payment success'));
  controls.post('/payouts/:reference/fail', finishing('4', 'Payment failed'));
  // Reconciliation controls: change BDPay's side of a payout without a callback, or forget it.
  controls.post(
    '/payouts/:reference/silent-change',
    withPayout((payout, req, res) =>
      applySilentChange(req, res, payout, PayoutChangeSchema, (changed, change) =>
        state.changePayoutSilently(changed, change)
      )
    )
  );
  controls.post(
    '/payouts/:reference/forget',
    withPayout((payout, _req, res) => {
      state.forgetPayout(payout);
      res.status(204).end();
    })
  );
  controls.get('/account', (_req, res) => void res.json(state.account));
  controls.post('/account', (req, res) => {
    const parsed = AccountSchema.partial().safeParse(req.body);
    if (!parsed.success) return void res.status(400).json({ error: parsed.error.issues });
    state.account = { ...state.account, ...parsed.data };
    res.json(state.account);
  });
  controls.get('/beneficiaries', (_req, res) => void res.json(state.beneficiaryCredits));
  scriptRoutes(controls, '/response-faults', ResponseFaultSchema, {
    add: (fault) => void state.responseFaults.push(fault),
    pending: () => state.responseFaults,
    clear: () => void (state.responseFaults = []),
  });
  controls.post('/settings', (req, res) => {
    const parsed = z.object({ autoSettlePayoutsAfterMs: z.number().int().min(0).nullable() }).safeParse(req.body);
    if (!parsed.success) return void res.status(400).json({ error: parsed.error.issues });
    state.setAutoSettle(parsed.data.autoSettlePayoutsAfterMs);
    res.json(parsed.data);
  });
  return controls;
}
