/**
 * NICEPAY's `/_sim` controls: move an open debit as the customer or NICEPAY would (pay, fail, expire),
 * read debits, script the next SNAP answers, expire access tokens, and the checkout page behind
 * `webRedirectUrl`.
 */
import express from 'express';
import type { Request, Response } from 'express';
import type { LatestTransactionStatus } from '../../connectors/nicepay/schemas';
import { escapeHtml, scriptRoutes } from '../simulator-kit';
import { ForcedResponseSchema, STATUS_DESCRIPTION, isOpen } from './state';
import type { NicepayState } from './state';

export function nicepayControls(state: NicepayState): express.Router {
  const controls = express.Router();
  controls.use(express.json());
  controls.use(express.urlencoded({ extended: false }));

  function control(target: LatestTransactionStatus) {
    return (req: Request<{ reference: string }>, res: Response): void => {
      const order = state.order(req.params.reference);
      if (!order) return void res.status(404).json({ error: 'unknown partnerReferenceNo' });
      if (!isOpen(order))
        return void res.status(409).json({ error: `debit is ${STATUS_DESCRIPTION[order.status]}`, order });
      state.settle(order, target);
      res.json(order);
    };
  }
  controls.post('/orders/:reference/pay', control('00'));
  controls.post('/orders/:reference/fail', control('06'));
  controls.post('/orders/:reference/expire', control('05'));
  controls.get('/orders/:reference', (req, res) => {
    const order = state.order(req.params.reference);
    if (!order) return void res.status(404).json({ error: 'unknown partnerReferenceNo' });
    res.json(order);
  });
  controls.get('/orders', (_req, res) => void res.json([...state.orders.values()]));
  scriptRoutes(controls, '/responses', ForcedResponseSchema, {
    add: (answer) => void state.forced.push(answer),
    pending: () => state.forced,
    clear: () => void (state.forced = []),
  });
  controls.get('/tokens', (_req, res) => void res.json(state.tokenStats()));
  controls.post('/tokens/expire', (_req, res) => {
    state.expireTokens();
    res.status(204).end();
  });
  // The page behind webRedirectUrl: opening it moves the debit to Pending, its buttons pay or fail it.
  controls.get('/checkout/:reference', (req, res) => {
    const order = state.order(req.params.reference);
    if (!order) return void res.status(404).type('text/plain').send('Unknown payment');
    if (order.status === '01') order.status = '03';
    const ref = encodeURIComponent(order.partnerReferenceNo);
    res
      .type('html')
      .send(
        `<!doctype html><title>NICEPAY simulator</title><h1>${escapeHtml(order.mitraCd)} · Rp ${order.amount}</h1>` +
          `<p>${escapeHtml(order.goodsNm)} — ${STATUS_DESCRIPTION[order.status]}</p>` +
          (isOpen(order)
            ? `<form method="post" action="/_sim/orders/${ref}/pay"><button>Pay</button></form>` +
              `<form method="post" action="/_sim/orders/${ref}/fail"><button>Fail</button></form>`
            : '')
      );
  });
  return controls;
}
