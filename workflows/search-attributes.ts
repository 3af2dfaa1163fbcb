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
