/**
 * QRIS payloads: EMVCo merchant-presented QR (EMV QRCPS-MPM), the format every Indonesian banking app
 * scans. A payload is a run of TLV fields (two-digit id, two-digit length, value) ending with the CRC
 * field `63`, whose four hex digits are CRC-16/CCITT-FALSE over the whole payload up to and including
 * `6304`. Used by the simulators to make payloads a real app could read, and by tests to check them.
 */

/** One TLV field; `children` for the templates that nest TLV (26–51 merchant accounts, 62 additional data). */
export interface EmvField {
  id: string;
  value: string;
  children?: EmvField[];
}

/** CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, no reflection, no final XOR) over the UTF-8 bytes. */
export function crc16CcittFalse(text: string): number {
  let crc = 0xffff;
  for (const byte of Buffer.from(text, 'utf8')) {
    crc ^= byte << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

/** One field as text; values are ASCII, so characters and bytes count the same. */
export function emvField(id: string, value: string): string {
  if (!/^\d{2}$/.test(id)) throw new RangeError(`EMV field id must be two digits: ${id}`);
  if (value.length < 1 || value.length > 99) throw new RangeError(`EMV field ${id} must be 1 to 99 characters`);
  return `${id}${String(value.length).padStart(2, '0')}${value}`;
}

const TEMPLATE_IDS = (id: string): boolean => (Number(id) >= 26 && Number(id) <= 51) || id === '62' || id === '64';

/** Parses a run of TLV fields; throws on a length that runs past the end or a non-numeric header. */
export function parseEmvFields(payload: string, nested = true): EmvField[] {
  const fields: EmvField[] = [];
  let at = 0;
  while (at < payload.length) {
    const header = payload.slice(at, at + 4);
    if (!/^\d{4}$/.test(header)) throw new SyntaxError(`bad EMV field header at ${at}: ${JSON.stringify(header)}`);
    const id = header.slice(0, 2);
    const length = Number(header.slice(2));
    const value = payload.slice(at + 4, at + 4 + length);
    if (value.length !== length) throw new SyntaxError(`EMV field ${id} at ${at} runs past the end`);
    fields.push(nested && TEMPLATE_IDS(id) ? { id, value, children: parseEmvFields(value, false) } : { id, value });
    at += 4 + length;
  }
  return fields;
}

/** The merchant-presented payload with its CRC appended. */
export function withCrc(payloadWithoutCrc: string): string {
  const head = `${payloadWithoutCrc}6304`;
  return `${head}${crc16CcittFalse(head).toString(16).toUpperCase().padStart(4, '0')}`;
}

export interface QrisInput {
  /** Reverse-domain id of the acquirer, field 26.00 (e.g. `ID.CO.BDPAY.WWW`). */
  acquirer: string;
  /** Merchant PAN at the acquirer, field 26.01 (digits). */
  merchantPan: string;
  /** Merchant id at the acquirer, field 26.02. */
  merchantId: string;
  /** National merchant id, field 51.02. */
  nmid: string;
  merchantName: string;
  merchantCity: string;
  postalCode?: string;
  /** Whole rupiah: a dynamic QR (point of initiation 12) for exactly this amount. */
  amount: number;
  /** Field 62.05, the reference label the acquirer reports back (at most 25 characters). */
  reference: string;
  /** Merchant category code (default 5999, miscellaneous retail). */
  mcc?: string;
}

/** A dynamic QRIS payload for one payment. */
export function buildQris(input: QrisInput): string {
  const merchantAccount = [
    emvField('00', input.acquirer),
    emvField('01', input.merchantPan),
    emvField('02', input.merchantId),
    emvField('03', 'UMI'),
  ].join('');
  const qrisDomestic = [emvField('00', 'ID.CO.QRIS.WWW'), emvField('02', input.nmid), emvField('03', 'UMI')].join('');
  return withCrc(
    [
      emvField('00', '01'),
      emvField('01', '12'),
      emvField('26', merchantAccount),
      emvField('51', qrisDomestic),
      emvField('52', input.mcc ?? '5999'),
      emvField('53', '360'),
      emvField('54', String(input.amount)),
      emvField('58', 'ID'),
      emvField('59', input.merchantName.slice(0, 25)),
      emvField('60', input.merchantCity.slice(0, 15)),
      ...(input.postalCode ? [emvField('61', input.postalCode)] : []),
      emvField('62', emvField('05', input.reference.slice(0, 25))),
    ].join('')
  );
}

/** What a checked payload says. */
export interface QrisPayload {
  fields: EmvField[];
  amount?: number;
  merchantName: string;
  merchantCity: string;
}

/**
 * Checks a payload as a scanning app would: TLV structure, payload format `01` first, CRC last and
 * correct, the mandatory fields (a merchant account in 26–51, 52, 53 = 360 for rupiah, 58, 59, 60).
 */
export function parseQris(payload: string): QrisPayload {
  const fields = parseEmvFields(payload);
  const first = fields[0];
  const last = fields.at(-1);
  if (first?.id !== '00' || first.value !== '01') throw new SyntaxError('QRIS must start with payload format 01');
  if (last?.id !== '63' || last.value.length !== 4) throw new SyntaxError('QRIS must end with a 4-digit CRC (63)');
  const expected = crc16CcittFalse(payload.slice(0, -4)).toString(16).toUpperCase().padStart(4, '0');
  if (last.value.toUpperCase() !== expected) throw new SyntaxError(`QRIS CRC is ${last.value}, expected ${expected}`);
  const value = (id: string) => fields.find((f) => f.id === id)?.value;
  if (!fields.some((f) => Number(f.id) >= 26 && Number(f.id) <= 51))
    throw new SyntaxError('QRIS has no merchant account');
  for (const id of ['52', '53', '58', '59', '60']) {
    if (value(id) === undefined) throw new SyntaxError(`QRIS lacks field ${id}`);
  }
  if (value('53') !== '360') throw new SyntaxError('QRIS currency must be 360 (IDR)');
  const amount = value('54');
  return {
    fields,
    ...(amount !== undefined ? { amount: Number(amount) } : {}),
    merchantName: value('59') ?? '',
    merchantCity: value('60') ?? '',
  };
}
