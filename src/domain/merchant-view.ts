/**
 * What a merchant sees of a money movement, written once for every place it is shown: the API's
 * answers (create, GET, cancel, confirm, resolve) and the merchant webhooks the workflows emit. Pure
 * and free of Temporal, so workflows may import it. The state types live with the workflows; this
 * module only relies on the fields it touches.
 */
import { billTotalOf } from './bill';
import type { BillInquiryAmounts } from './bill';
import type { Rupiah } from './money';

/** The fields of a movement's state this module reads. */
interface MovementStateFields {
  kind: 'payment' | 'payout' | 'bill' | 'refund';
  /** Kasir's own fingerprint of the merchant's request (idempotency): never shown. */
  requestFingerprint: string;
  /** The API request that started the movement (tells its create from a replay): never shown. */
  createdByRequest?: string;
  /** The API request whose confirmation paid a bill (tells it from repeats): never shown. */
  confirmedByRequest?: string;
}

/** The state's fields that are Kasir's own bookkeeping, never in a merchant view. */
type Internal = 'requestFingerprint' | 'createdByRequest' | 'confirmedByRequest';

/**
 * A movement's state as its merchant sees it: without Kasir's bookkeeping (`Internal`) and, for a bill, with
 * the `total` its inquiry adds up to (absent until the inquiry answers).
 */
export type MerchantView<S extends MovementStateFields> = S extends { kind: 'bill' }
  ? Omit<S, Internal> & { total?: Rupiah }
  : Omit<S, Internal>;

/**
 * The merchant view of `state`: a new object (top-level fields copied, nested ones shared with the
 * state, so a caller that keeps it while the state changes copies it deeply itself).
 */
export function merchantViewOf<S extends MovementStateFields>(state: S): MerchantView<S>;
export function merchantViewOf(state: MovementStateFields & { inquiry?: BillInquiryAmounts }): object {
  const {
    requestFingerprint: _fingerprint,
    createdByRequest: _startedBy,
    confirmedByRequest: _paidBy,
    ...view
  } = state;
  const total = state.kind === 'bill' ? billTotalOf(state) : undefined;
  return total === undefined ? view : { ...view, total };
}
