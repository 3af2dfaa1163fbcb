/** The one translation table: what an update the workflow refused or failed becomes in the API. */
import assert from 'node:assert/strict';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure, CancelledFailure, TerminatedFailure } from '@temporalio/common';
import { toApiError, updateFailureMessage } from '../../src/api/http-errors';
import { resolutionRefused } from '../../src/api/routes/payouts';
import { refusalError } from '../../src/api/routes/refunds';

describe('toApiError: updates refused or failed by the workflow', () => {
  it("maps a validator's rejection to 409 state_error with the workflow's own message", () => {
    const err = new WorkflowUpdateFailedError(
      'Workflow Update failed',
      ApplicationFailure.create({
        type: 'Error',
        message: 'payment P1 is SUCCEEDED; only a PENDING payment can be cancelled',
      })
    );
    const answer = toApiError(err);
    assert.equal(answer.status, 409);
    assert.equal(answer.type, 'state_error');
    assert.equal(answer.code, 'invalid_state');
    assert.equal(answer.message, 'payment P1 is SUCCEEDED; only a PENDING payment can be cancelled');
  });

  it('maps an update failed by something other than an application failure to 409 too, never 500', () => {
    for (const cause of [
      new CancelledFailure('the update was cancelled'),
      new TerminatedFailure('the workflow was terminated'),
    ]) {
      const answer = toApiError(new WorkflowUpdateFailedError('Workflow Update failed', cause));
      assert.equal(answer.status, 409, cause.message);
      assert.equal(answer.code, 'invalid_state');
      assert.equal(answer.message, cause.message);
    }
    const bare = toApiError(new WorkflowUpdateFailedError('Workflow Update failed', undefined));
    assert.equal(bare.status, 409);
    assert.equal(bare.message, 'Workflow Update failed');
    assert.equal(updateFailureMessage(new WorkflowUpdateFailedError('outer', new Error(''))), 'outer');
  });
});

describe('resolutionRefused: an operator resolution the payout workflow refused', () => {
  const refused = (message: string) =>
    resolutionRefused(new WorkflowUpdateFailedError('Workflow Update failed', ApplicationFailure.create({ message })));

  it("answers 409 resolution_contradicted naming `outcome` when the provider's status contradicts it", () => {
    const message = 'provider contradicts FAILED: bdpay reports the payout SUCCEEDED; resend with force and evidence';
    const answer = refused(message);
    assert.equal(answer.status, 409);
    assert.equal(answer.type, 'state_error');
    assert.equal(answer.code, 'resolution_contradicted');
    assert.equal(answer.message, message);
    assert.equal(answer.extra.param, 'outcome');
  });

  it('answers 409 invalid_state with the workflow message for any other refusal', () => {
    const answer = refused('payout O1 has not been submitted yet');
    assert.equal(answer.status, 409);
    assert.equal(answer.type, 'state_error');
    assert.equal(answer.code, 'invalid_state');
    assert.equal(answer.message, 'payout O1 has not been submitted yet');
  });
});

describe("refusalError: a refund the ledger refused, by the ledger's reason", () => {
  it('answers each reason with its code and field, whatever the message says', () => {
    const answers = (
      [
        ['reference_reused', 'reference remains-1 was already used for another refund of this payment'],
        ['window_over', 'the refund window of this payment is over'],
        ['exceeds_refundable', 'amount 5 is more than what remains refundable (0 of 10; refunds in flight count)'],
        ['invalid_amount', 'amount must be a positive whole rupiah amount'],
        ['other_merchant', 'the payment belongs to another merchant'],
      ] as const
    ).map(([reason, message]) => {
      const answer = refusalError(reason, message);
      return [reason, answer.status, answer.code, answer.extra.param];
    });
    assert.deepEqual(answers, [
      ['reference_reused', 409, 'idempotency_conflict', 'reference'],
      ['window_over', 409, 'refund_window_over', undefined],
      ['exceeds_refundable', 409, 'refund_exceeds_refundable', 'amount'],
      ['invalid_amount', 400, 'validation_failed', 'amount'],
      ['other_merchant', 409, 'refund_refused', undefined],
    ]);
  });

  it("reads a ledger that gives no reason (an earlier release's) by the start of Kasir's own message only", () => {
    assert.equal(refusalError(undefined, 'the refund window of this payment is over').code, 'refund_window_over');
    assert.equal(
      refusalError(undefined, 'amount 5 is more than what remains refundable (0 of 10; refunds in flight count)').code,
      'refund_exceeds_refundable'
    );
    // A merchant's reference saying "remains" does not make a reused reference an amount problem.
    assert.equal(
      refusalError(undefined, 'reference remains-1 was already used for another refund of this payment').code,
      'refund_refused'
    );
  });

  it('answers a reason it does not know (a later release’s) as refused, not with a 500', () => {
    const answer = refusalError('some_later_reason', 'refused for a reason this API does not know');
    assert.deepEqual([answer.status, answer.code], [409, 'refund_refused']);
  });
});
