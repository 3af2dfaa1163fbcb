/** Kasir's custom search attributes (registered from temporal-dev.yml). No personal data: they are not encrypted. */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const KasirKind = defineSearchAttributeKey('KasirKind', SearchAttributeType.KEYWORD);
export const KasirStatus = defineSearchAttributeKey('KasirStatus', SearchAttributeType.KEYWORD);
export const KasirProvider = defineSearchAttributeKey('KasirProvider', SearchAttributeType.KEYWORD);
export const KasirMethod = defineSearchAttributeKey('KasirMethod', SearchAttributeType.KEYWORD);
export const KasirMerchant = defineSearchAttributeKey('KasirMerchant', SearchAttributeType.KEYWORD);
export const KasirMerchantReference = defineSearchAttributeKey('KasirMerchantReference', SearchAttributeType.KEYWORD);
export const KasirAmount = defineSearchAttributeKey('KasirAmount', SearchAttributeType.INT);
export const KasirNeedsAttention = defineSearchAttributeKey('KasirNeedsAttention', SearchAttributeType.BOOL);
/** On a reconciliation run: the kinds of difference it found (src/domain/reconciliation.ts), e.g. `AMOUNT_DIFFERS`. */
export const KasirDifferenceKinds = defineSearchAttributeKey('KasirDifferenceKinds', SearchAttributeType.KEYWORD_LIST);
/**
 * On a movement: one of its merchant webhooks has gone undelivered longer than `webhook.failingAfterMs`
 * (the merchant's endpoint is failing); cleared once it is delivered. `KasirWebhookFailing = true` lists
 * them, `AND KasirMerchant = '<id>'` one merchant's.
 */
export const KasirWebhookFailing = defineSearchAttributeKey('KasirWebhookFailing', SearchAttributeType.BOOL);
