/**
 * Ayopop's `/_sim` controls: read a payment, settle a processing (299) one as the biller would
 * (`succeed`, alias `pay`, body `{token?, amount?}` (`amount`: the biller charged another amount); `fail`, body `{code?}` in 100–199), send its final callback
 * again, read or expire an inquiry, and read or set the partner deposit.
 */
import express from 'express';
import type { Request, Response } from 'express';
import { z } from 'zod';
import { DUPLICATE_REFERENCE_CODES, PROCESSING_OR_UNKNOWN_REFERENCE_CODE } from '../../connectors/ayopop/mapping';
import type { AyopopState } from './state';

const FailBody = z.object({
  code: z
    .number()
    .int()
    .min(100)
    .max(199)
    .refine(
      (c) => !DUPLICATE_REFERENCE_CODES.includes(c) && c !== PROCESSING_OR_UNKNOWN_REFERENCE_CODE,
      'not a failure code'
    )
    .optional(),
});

export function ayopopControls(state: AyopopState): express.Router {
  const controls = express.Router();
  controls.use(express.json());
  controls.get('/orders/:refNumber', (req, res) => {
    const order = state.orders.get(req.params.refNumber);
    if (!order) return void res.status(404).json({ error: 'unknown refNumber' });
    res.json(order);
  });
  const succeedControl = (req: Request<{ refNumber: string }>, res: Response) => {
    const body = z
      .object({ token: z.string().min(1).optional(), amount: z.number().int().positive().optional() })
      .safeParse(req.body ?? {});
    if (!body.success) return void res.status(400).json({ error: body.error.issues });
    if (!state.succeed(req.params.refNumber, body.data.token, body.data.amount)) {
      return void res.status(409).json({ error: 'no processing (299) payment with this refNumber' });
    }
    res.json(state.orders.get(req.params.refNumber));
  };
  controls.post('/orders/:refNumber/succeed', succeedControl);
  controls.post('/orders/:refNumber/pay', succeedControl);
  controls.post('/orders/:refNumber/fail', (req, res) => {
    const body = FailBody.safeParse(req.body ?? {});
    if (!body.success) return void res.status(400).json({ error: body.error.issues });
    if (!state.fail(req.params.refNumber, body.data.code)) {
      return void res.status(409).json({ error: 'no processing (299) payment with this refNumber' });
    }
    res.json(state.orders.get(req.params.refNumber));
  });
  controls.post('/orders/:refNumber/callback', (req, res) => {
    const order = state.orders.get(req.params.refNumber);
    if (!order) return void res.status(404).json({ error: 'unknown refNumber' });
    state.dispatchCallbacks(order);
    res.status(202).json({ callbackUrls: order.callbackUrls });
  });
  controls.get('/inquiries/:inquiryId', (req, res) => {
    const inquiry = state.inquiries.get(Number(req.params.inquiryId));
    if (!inquiry) return void res.status(404).json({ error: 'unknown inquiryId' });
    res.json(inquiry);
  });
  controls.post('/inquiries/:inquiryId/expire', (req, res) => {
    const inquiry = state.inquiries.get(Number(req.params.inquiryId));
    if (!inquiry) return void res.status(404).json({ error: 'unknown inquiryId' });
    inquiry.expiresAt = Date.now();
    res.json(inquiry);
  });
  controls.get('/deposit', (_req, res) => void res.json({ balance: state.deposit }));
  controls.post('/deposit', (req, res) => {
    const body = z.object({ balance: z.number().int().nonnegative() }).safeParse(req.body);
    if (!body.success) return void res.status(400).json({ error: body.error.issues });
    state.deposit = body.data.balance;
    res.json({ balance: state.deposit });
  });
  return controls;
}
