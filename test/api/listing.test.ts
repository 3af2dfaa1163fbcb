import assert from 'node:assert/strict';
import { movementListQuery, sameReferenceQuery, visibilityLiteral } from '../../src/api/listing';

describe('listing: visibility queries', () => {
  it('writes the query every page token of a list is bound to, clause by clause in a fixed order', () => {
    assert.equal(
      movementListQuery('payment', 'acme', { status: 'PENDING', limit: 20 }),
      "KasirKind = 'payment' AND KasirMerchant = 'acme' AND KasirStatus = 'PENDING' AND ExecutionStatus != 'ContinuedAsNew'"
    );
    assert.equal(
      movementListQuery('payment', 'acme', {
        needs_attention: false,
        reference: 'ORDER-1',
        method: 'QRIS',
        provider: 'finpay',
        status: 'PENDING',
        limit: 1,
        page_token: 'ignored here',
      }),
      "KasirKind = 'payment' AND KasirMerchant = 'acme' AND KasirStatus = 'PENDING' AND KasirProvider = 'finpay' " +
        "AND KasirMethod = 'QRIS' AND KasirMerchantReference = 'ORDER-1' AND KasirNeedsAttention = false " +
        "AND ExecutionStatus != 'ContinuedAsNew'"
    );
  });

  it('appends a created range after the filters, then leaves out runs a continue-as-new closed', () => {
    assert.equal(
      movementListQuery('bill', 'acme', {
        status: 'INQUIRED',
        created_from: '2026-11-30T00:00:00.000Z',
        created_before: '2026-12-01T00:00:00.000Z',
        limit: 20,
      }),
      "KasirKind = 'bill' AND KasirMerchant = 'acme' AND KasirStatus = 'INQUIRED' " +
        "AND StartTime >= '2026-11-30T00:00:00.000Z' AND StartTime < '2026-12-01T00:00:00.000Z' " +
        "AND ExecutionStatus != 'ContinuedAsNew'"
    );
    assert.equal(
      movementListQuery('payout', 'acme', {
        needs_attention: true,
        created_before: '2026-12-01T00:00:00.000Z',
        limit: 5,
      }),
      "KasirKind = 'payout' AND KasirMerchant = 'acme' AND KasirNeedsAttention = true " +
        "AND StartTime < '2026-12-01T00:00:00.000Z' AND ExecutionStatus != 'ContinuedAsNew'"
    );
  });

  it('keeps a quote inside its literal, so a filter value never adds a clause', () => {
    assert.equal(
      movementListQuery('payment', 'globex', { reference: "x' OR KasirMerchant = 'acme", limit: 20 }),
      "KasirKind = 'payment' AND KasirMerchant = 'globex' AND KasirMerchantReference = 'x\\' OR KasirMerchant = \\'acme' " +
        "AND ExecutionStatus != 'ContinuedAsNew'"
    );
  });

  it('writes no query for a value the visibility parser cannot match (a backslash or a double quote)', () => {
    assert.equal(visibilityLiteral('a\\b'), undefined);
    assert.equal(visibilityLiteral('say "hi"'), undefined);
    assert.equal(movementListQuery('payout', 'acme', { reference: 'a\\b', limit: 20 }), undefined);
    assert.equal(
      sameReferenceQuery({
        workflowType: 'billWorkflow',
        kind: 'bill',
        merchantId: 'acme',
        reference: 'a"b',
        id: 'B1',
      }),
      undefined
    );
  });

  it('finds another workflow of the same merchant and reference, never the one the id names', () => {
    assert.equal(
      sameReferenceQuery({
        workflowType: 'payoutWorkflow',
        kind: 'payout',
        merchantId: 'acme',
        reference: 'R-1',
        id: 'O1',
      }),
      "WorkflowType = 'payoutWorkflow' AND KasirMerchant = 'acme' AND KasirMerchantReference = 'R-1' AND WorkflowId != 'payout:O1'"
    );
  });
});
