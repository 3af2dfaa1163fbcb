/**
 * Finpay's `/_sim` controls: list and read orders, and move an open one as a customer or Finpay would
 * (pay, expire, fail), or send its callback again; change one silently (paid, status, amount) or forget
 * it, for reconciliation.
 */
import express from 'express';
import type { Request, Response } from 'express';
import { z } from 'zod';
import { FinpayPaymentStatus } from '../../connectors/finpay/schemas';
import { applySilentChange } from '../simulator-kit';
import type { CallbackDispatcher } from '../simulator-kit';
import { OPEN_STATUSES } from './state';
import type { FinpayState, SimOrder } from './state';

/** A silent change of an order's side: its status, its amount, or both. */
const OrderChangeSchema = z.object({
  status: FinpayPaymentStatus.optional(),
  amount: z.number().int().positive().optional(),
});

export function finpayControls(state: FinpayState, callbacks: CallbackDispatcher): express.Router {
  const controls = express.Router();
  controls.use(express.json());
  const withOrder = (req: Request, res: Response): SimOrder | undefined => {
    const order = state.orders.get(String(req.params.reference));
    if (!order) res.status(404).json({ error: 'no such order' });
    return order;
  };
  const withOpenOrder = (req: Request, res: Response): SimOrder | undefined => {
    const order = withOrder(req, res);
    if (!order || OPEN_STATUSES.includes(order.status)) return order;
    res.status(409).json({ error: `order is ${order.status}` });
    return undefined;
  };

  controls.get('/orders', (_req, res) => void res.json([...state.orders.values()]));
  controls.get('/orders/:reference', (req, res) => {
    const order = withOrder(req, res);
    if (order) res.json({ ...order, callbacks: callbacks.attemptsFor(order.id) });
  });
  controls.post('/orders/:reference/pay', (req, res) => {
    const order = withOpenOrder(req, res);
    if (!order) return;
    state.transition(order, order.type === 'cc' ? 'CAPTURED' : 'PAID');
    res.json(order);
  });
  controls.post('/orders/:reference/expire', (req, res) => {
    const order = withOpenOrder(req, res);
    if (!order) return;
    state.transition(order, 'EXPIRED', 'Transaction Expired');
    res.json(order);
  });
  controls.post('/orders/:reference/fail', (req, res) => {
    const order = withOpenOrder(req, res);
    if (!order) return;
    const desc = z.object({ statusDesc: z.string().min(1) }).safeParse(req.body);
    state.transition(order, 'FAILURE', desc.success ? desc.data.statusDesc : 'Transaction Failed');
    res.json(order);
  });
  // Reconciliation controls: change Finpay's side without a callback, so only a status check finds it.
  controls.post('/orders/:reference/mark-paid-silently', (req, res) => {
    const order = withOrder(req, res);
    if (!order) return;
    state.changeSilently(order, { status: order.type === 'cc' ? 'CAPTURED' : 'PAID' });
    res.json(order);
  });
  controls.post('/orders/:reference/silent-change', (req, res) => {
    const order = withOrder(req, res);
    if (!order) return;
    applySilentChange(req, res, order, OrderChangeSchema, (changed, change) => state.changeSilently(changed, change));
  });
  controls.post('/orders/:reference/forget', (req, res) => {
    const order = withOrder(req, res);
    if (!order) return;
    state.forget(order);
    res.status(204).end();
  });
  controls.post('/orders/:reference/callback', (req, res) => {
    const order = withOrder(req, res);
    if (!order) return;
    state.dispatchCallback(order);
    res.status(202).json({ queued: order.callbackUrl !== undefined });
  });
  return controls;
}
