/**
 * Payload encryption: the codec itself, then on the real stack that nothing personal reaches Temporal
 * in plaintext, and the codec server operators read payloads through.
 */
import assert from 'node:assert/strict';
import { Client, Connection } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import {
  ENCRYPTED_ENCODING,
  EncryptionCodec,
  encryptionFromEnv,
  generateEncryptionKey,
  KEY_ID_METADATA,
} from '../../src/temporal/payload-encryption';
import { startPayment } from '../helpers/movements';
import { startStack } from '../helpers/stack';
import type { TestStack } from '../helpers/stack';

const text = (bytes: Uint8Array | null | undefined) => Buffer.from(bytes ?? new Uint8Array()).toString('utf8');

describe('payload encryption', () => {
  describe('the codec', () => {
    const oldKey = { id: 'k1', key: generateEncryptionKey() };
    const newKey = { id: 'k2', key: generateEncryptionKey() };
    const customer = defaultPayloadConverter.toPayload({ name: 'Budi Santoso', phone: '081286288844' });

    it('seals a payload with AES-256-GCM under the current key id and opens it again', async () => {
      const codec = new EncryptionCodec({ keys: [oldKey] });
      const [sealed] = await codec.encode([customer]);
      assert.equal(text(sealed!.metadata!.encoding), ENCRYPTED_ENCODING);
      assert.equal(text(sealed!.metadata![KEY_ID_METADATA]), 'k1');
      assert.ok(!Buffer.from(sealed!.data!).includes('Budi'), 'no plaintext in the sealed payload');
      const [opened] = await codec.decode([sealed!]);
      assert.deepEqual(defaultPayloadConverter.fromPayload(opened!), { name: 'Budi Santoso', phone: '081286288844' });
    });

    it('rotates: new payloads use the current key, old ones stay readable while their key is listed', async () => {
      const [underOld] = await new EncryptionCodec({ keys: [oldKey] }).encode([customer]);
      const rotated = new EncryptionCodec({ keys: [newKey, oldKey] });
      const [underNew] = await rotated.encode([customer]);
      assert.equal(text(underNew!.metadata![KEY_ID_METADATA]), 'k2');
      assert.deepEqual(defaultPayloadConverter.fromPayload((await rotated.decode([underOld!]))[0]!), {
        name: 'Budi Santoso',
        phone: '081286288844',
      });
      await assert.rejects(
        new EncryptionCodec({ keys: [newKey] }).decode([underOld!]),
        /key 'k1', which is not configured/
      );
    });

    it('refuses a payload that was tampered with', async () => {
      const codec = new EncryptionCodec({ keys: [oldKey] });
      const [sealed] = await codec.encode([customer]);
      const data = Buffer.from(sealed!.data!);
      data[20] = data[20]! ^ 1;
      await assert.rejects(codec.decode([{ ...sealed!, data }]));
    });

    it('passes payloads written before encryption through unchanged', async () => {
      assert.deepEqual(await new EncryptionCodec({ keys: [oldKey] }).decode([customer]), [customer]);
    });

    it('reads keys from KASIR_ENCRYPTION_KEYS and names what is wrong', () => {
      const parsed = encryptionFromEnv(`k2:${newKey.key},k1:${oldKey.key}`);
      assert.deepEqual(
        parsed?.keys.map((k) => k.id),
        ['k2', 'k1']
      );
      assert.equal(encryptionFromEnv(undefined), undefined);
      assert.throws(() => encryptionFromEnv('k1:c2hvcnQ='), /32 bytes/);
      assert.throws(() => encryptionFromEnv('no-colon'), /<key id>:<base64 key>/);
    });
  });

  describe('on the real stack', function () {
    this.timeout(120_000);
    let stack: TestStack;
    let raw: Client;

    before(async () => {
      stack = await startStack({ api: true });
      // A client without the codec sees what Temporal stores, as anyone reading the server would.
      raw = new Client({
        connection: await Connection.connect({ address: stack.server.address }),
        namespace: stack.server.namespace,
      });
    });
    after(async () => {
      await raw?.connection.close();
      await stack?.stop();
    });

    it('stores no customer data in plaintext: inputs, results, updates and queries are all sealed', async () => {
      const { state, handle } = await startPayment(stack, { provider: 'finpay', method: 'FINPAY_CODE' });
      assert.equal(state.status, 'PENDING'); // the encrypting client reads its own answers
      const history = await raw.workflow.getHandle(handle.workflowId).fetchHistory();
      const json = JSON.stringify(history);
      for (const secret of ['Budi Santoso', 'budi@example.com', '081286288844']) {
        assert.ok(!json.includes(secret), `${secret} must not appear in the stored history`);
        assert.ok(
          !json.includes(Buffer.from(secret).toString('base64').slice(0, 12)),
          `${secret} must not appear base64-encoded`
        );
      }
      const input = history.events![0]!.workflowExecutionStartedEventAttributes!.input!.payloads![0]!;
      assert.equal(text(input.metadata!.encoding), ENCRYPTED_ENCODING);
    });

    it('serves the codec protocol to operators only, with CORS for allowed origins', async () => {
      const { handle } = await startPayment(stack, { provider: 'finpay', method: 'FINPAY_CODE' });
      const history = await raw.workflow.getHandle(handle.workflowId).fetchHistory();
      const sealed = history.events![0]!.workflowExecutionStartedEventAttributes!.input!.payloads![0]!;
      const wire = {
        payloads: [
          {
            metadata: Object.fromEntries(
              Object.entries(sealed.metadata!).map(([k, v]) => [k, Buffer.from(v).toString('base64')])
            ),
            data: Buffer.from(sealed.data!).toString('base64'),
          },
        ],
      };
      const decode = (headers: Record<string, string>) =>
        fetch(`${stack.apiUrl}/codec/decode`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...headers },
          body: JSON.stringify(wire),
        });

      assert.equal((await decode({})).status, 401);
      assert.equal(
        (await decode({ authorization: `Bearer ${stack.merchants[0]!.apiKey}` })).status,
        401,
        'a merchant key is not an operator key'
      );
      const answer = await decode({ authorization: `Bearer ${stack.operatorKey}` });
      assert.equal(answer.status, 200);
      const decoded = ((await answer.json()) as { payloads: { metadata: Record<string, string>; data: string }[] })
        .payloads[0]!;
      assert.equal(Buffer.from(decoded.metadata.encoding!, 'base64').toString(), 'json/plain');
      assert.match(Buffer.from(decoded.data, 'base64').toString(), /Budi Santoso/);

      // The Temporal CLI (Go protojson) sends `{}` for an empty list.
      const empty = await fetch(`${stack.apiUrl}/codec/decode`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${stack.operatorKey}` },
        body: '{}',
      });
      assert.equal(empty.status, 200);
      assert.deepEqual(await empty.json(), { payloads: [] });

      const preflight = await fetch(`${stack.apiUrl}/codec/decode`, {
        method: 'OPTIONS',
        headers: { origin: 'http://evil.example', 'access-control-request-method': 'POST' },
      });
      assert.equal(preflight.status, 403);
      assert.equal(preflight.headers.get('access-control-allow-origin'), null);
    });
  });
});
