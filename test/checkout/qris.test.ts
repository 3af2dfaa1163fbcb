import assert from 'node:assert/strict';
import jsQR from 'jsqr';
import { PNG } from 'pngjs';
import { bdpayModule } from '../../src/connectors/bdpay';
import { finpayModule } from '../../src/connectors/finpay';
import { buildQris, crc16CcittFalse, parseEmvFields, parseQris, withCrc } from '../../src/checkout/qris';
import { bdpaySimulatorSetup } from '../../src/sandbox/bdpay';
import { finpaySimulatorSetup } from '../../src/sandbox/finpay';
import { listen } from '../../src/sandbox/simulator-kit';

/** The CRC field of a payload, recomputed by hand over everything before its four digits. */
function crcOf(payload: string): string {
  return crc16CcittFalse(payload.slice(0, -4)).toString(16).toUpperCase().padStart(4, '0');
}

describe('QRIS payloads', () => {
  it('computes CRC-16/CCITT-FALSE (check value of "123456789" is 29B1)', () => {
    assert.equal(crc16CcittFalse('123456789'), 0x29b1);
    assert.equal(crc16CcittFalse(''), 0xffff);
  });

  it('builds a merchant-presented payload whose TLV parses and whose CRC covers 6304', () => {
    const payload = buildQris({
      acquirer: 'ID.CO.EXAMPLE.WWW',
      merchantPan: '936000000000000001',
      merchantId: 'M001',
      nmid: 'ID1020000000001',
      merchantName: 'TOKO CONTOH',
      merchantCity: 'JAKARTA',
      amount: 150000,
      reference: 'INV-42',
    });
    const fields = parseEmvFields(payload);
    assert.deepEqual(
      fields.map((f) => f.id),
      ['00', '01', '26', '51', '52', '53', '54', '58', '59', '60', '62', '63']
    );
    assert.ok(payload.slice(-8, -4) === '6304');
    assert.equal(fields.at(-1)?.value, crcOf(payload));
    const merchantAccount = fields.find((f) => f.id === '26');
    assert.deepEqual(merchantAccount?.children?.[0], { id: '00', value: 'ID.CO.EXAMPLE.WWW' });
    assert.deepEqual(fields.find((f) => f.id === '62')?.children, [{ id: '05', value: 'INV-42' }]);
    const parsed = parseQris(payload);
    assert.equal(parsed.amount, 150000);
    assert.equal(parsed.merchantName, 'TOKO CONTOH');
  });

  it('refuses a payload with a wrong CRC, a broken length or a missing field', () => {
    const good = withCrc(
      '000201010212264000160ID.CO.EXAMPLE.WWW01041234020412345204599953033605802ID5904TOKO6007JAKARTA'
    );
    assert.throws(() => parseEmvFields(good), /runs past|header/);
    const valid = buildQris({
      acquirer: 'ID.CO.EXAMPLE.WWW',
      merchantPan: '9360',
      merchantId: 'M1',
      nmid: 'ID1',
      merchantName: 'TOKO',
      merchantCity: 'BANDUNG',
      amount: 1000,
      reference: 'R1',
    });
    const wrongCrc = `${valid.slice(0, -4)}${valid.slice(-4) === '0000' ? '0001' : '0000'}`;
    assert.throws(() => parseQris(wrongCrc), /CRC/);
    const withoutCity = withCrc(valid.slice(0, -8).replace('6007BANDUNG', ''));
    assert.throws(() => parseQris(withoutCity), /lacks field 60/);
  });

  it('the BDPay simulator answers QRIS orders with a valid payload for the amount', async function () {
    this.timeout(20_000);
    const setup = bdpaySimulatorSetup();
    const sim = setup.createSimulator({ timeScale: 0.001 });
    const server = await listen(sim.app);
    try {
      const connector = bdpayModule.createConnector({ ...setup.connectorConfig(server.url), timeoutMs: 3_000 });
      const registration = await connector.payments!.create({
        reference: 'P0000000000000000QR1',
        amount: 25_000,
        method: 'QRIS',
        customer: { name: 'Budi', email: 'budi@example.com', phone: '081286288844' },
        description: 'QRIS test',
        expiresInMinutes: 15,
        callbackUrl: 'http://127.0.0.1:9/callbacks/bdpay',
      });
      assert.equal(registration.result, 'registered');
      const qr = registration.result === 'registered' ? registration.instructions.qrContent : undefined;
      assert.ok(qr, 'a QR string');
      const parsed = parseQris(qr);
      assert.equal(parsed.amount, 25_000);
      assert.equal(qr.slice(-8, -4), '6304');
      assert.equal(qr.slice(-4), crcOf(qr));
    } finally {
      sim.stop();
      await server.close();
    }
  });
  it("the Finpay simulator serves a scannable QRIS image at the order's imageurl, for the amount", async function () {
    this.timeout(20_000);
    const setup = finpaySimulatorSetup();
    const sim = setup.createSimulator({ timeScale: 0.001 });
    const server = await listen(sim.app);
    try {
      const connector = finpayModule.createConnector({ ...setup.connectorConfig(server.url), timeoutMs: 3_000 });
      const registration = await connector.payments!.create({
        reference: 'P0000000000000000QR2',
        amount: 40_000,
        method: 'QRIS',
        customer: { name: 'Budi', email: 'budi@example.com', phone: '081286288844' },
        description: 'QRIS test',
        expiresInMinutes: 15,
        callbackUrl: 'http://127.0.0.1:9/callbacks/finpay',
      });
      const url = registration.result === 'registered' ? registration.instructions.qrImageUrl : undefined;
      assert.ok(url, 'an image URL');
      const response = await fetch(url.replace(/^https?:\/\/[^/]+/, server.url));
      assert.equal(response.status, 200);
      assert.equal(response.headers.get('content-type'), 'image/png');
      const png = PNG.sync.read(Buffer.from(await response.arrayBuffer()));
      const decoded = jsQR(new Uint8ClampedArray(png.data), png.width, png.height);
      assert.ok(decoded, 'the image decodes as a QR code');
      assert.equal(parseQris(decoded.data).amount, 40_000);
    } finally {
      sim.stop();
      await server.close();
    }
  });
});
