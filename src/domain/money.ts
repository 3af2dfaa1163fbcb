/**
 * Amounts in Kasir are whole rupiah held in a JS number.
 *
 * ISO 4217 gives IDR two decimals, but Indonesian rails settle in whole rupiah; BDPay and Ayopop reject
 * fractions outright and SNAP carries `"12345.00"` strings whose decimals are always zero. So Kasir takes
 * integers only and converts at the connector edge, here and nowhere else.
 */
export type Rupiah = number;

/** Largest amount any supported rail accepts in one movement (Rp 1 billion, far above e-wallet caps). */
export const MAX_RUPIAH = 1_000_000_000;

export function isRupiah(value: unknown): value is Rupiah {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0 && value <= MAX_RUPIAH;
}

/** SNAP BI amount value: integer rupiah with two zero decimals, e.g. 12345 → "12345.00". */
export function toSnapAmountValue(amount: Rupiah): string {
  return `${amount}.00`;
}

/** Parses a SNAP `"12345.00"` back to rupiah; fractions of a rupiah are rejected rather than rounded. */
export function fromSnapAmountValue(value: string): Rupiah {
  const match = /^(\d+)\.(\d{2})$/.exec(value);
  if (!match || match[2] !== '00') throw new RangeError(`not a whole-rupiah SNAP amount: ${value}`);
  return Number(match[1]);
}

/** Amounts sent as decimal strings of whole rupiah (Finpay `order.amount`, BDPay `payMoney`). */
export function toRupiahString(amount: Rupiah): string {
  return String(amount);
}

export function fromRupiahString(value: string): Rupiah {
  if (!/^\d+$/.test(value)) throw new RangeError(`not a whole-rupiah amount: ${value}`);
  return Number(value);
}
