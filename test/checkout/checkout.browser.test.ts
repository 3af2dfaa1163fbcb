/**
 * The hosted checkout page end to end, in a real headless Chromium (the OS package, driven by
 * playwright-core): on the real stack (Temporal dev server, worker, simulators, API), one payment per
 * kind of method is created through the merchant API, its `checkoutUrl` opened on a phone-sized
 * viewport, the instructions read (the QR image decoded back to the provider's string), paid with the
 * sandbox button, and followed to the paid screen and the merchant's return URL.
 *
 * Screenshots go to a temporary folder; `KASIR_CHECKOUT_SCREENSHOTS=docs/checkout` writes them to the docs.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import express from 'express';
import jsQR from 'jsqr';
import { chromium } from 'playwright-core';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { PNG } from 'pngjs';
import { createApp } from '../../src/api/app';
import { parseQris } from '../../src/checkout/qris';
import type { KasirConfig } from '../../src/config';
import { createLogger } from '../../src/logger';
import { createConnectors } from '../../src/connectors/registry';
import type { PaymentInstructions, PaymentMethod } from '../../src/domain/payment';
import type { ProviderId } from '../../src/domain/provider';
import { listen } from '../../src/sandbox/simulator-kit';
import type { RunningServer } from '../../src/sandbox/simulator-kit';
import { freePort } from '../../src/sandbox/temporal/dev-server';
import { createKasirWorker } from '../../src/worker';
import { startStack, workflowBundle } from '../helpers/stack';
import type { TestMerchant, TestStack } from '../helpers/stack';

const CHROMIUM_CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];

/** The OS's Chromium; the suite fails (never skips) without one, saying how to install it. */
function chromiumPath(): string {
  const found = [process.env.CHROMIUM_PATH, ...CHROMIUM_CANDIDATES].find(
    (candidate): candidate is string => candidate !== undefined && candidate !== '' && existsSync(candidate)
  );
  if (!found) {
    throw new Error(
      `Chromium not found (looked at ${CHROMIUM_CANDIDATES.join(', ')}; CHROMIUM_PATH is ${process.env.CHROMIUM_PATH ?? 'unset'}). ` +
        'The checkout browser tests need it: `apt-get install -y chromium` on Debian, or set CHROMIUM_PATH.'
    );
  }
  return found;
}

const PHONE = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true };

interface CreatedPayment {
  id: string;
  status: string;
  instructions: PaymentInstructions & { checkoutUrl?: string };
}

/**
 * In-page checks, as source text: the test files are compiled without DOM types, and a function handed
 * to the browser must not carry the helpers the TypeScript loader adds to named functions.
 *
 * WCAG 2.x contrast of every visible text element against the background it is drawn on (AA: 4.5, or
 * 3 for large text); every control's accessible name.
 */
const CONTRAST_PROBLEMS = `(() => {
  const parse = (color) => {
    const parts = (color.match(/[\\d.]+/g) || []).map(Number);
    return [parts[0] || 0, parts[1] || 0, parts[2] || 0, parts[3] === undefined ? 1 : parts[3]];
  };
  const luminance = (rgb) => {
    const c = rgb.slice(0, 3).map((v) => v / 255).map((v) => (v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4)));
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
  };
  const background = (element) => {
    for (let e = element; e; e = e.parentElement) {
      const color = parse(getComputedStyle(e).backgroundColor);
      if (color[3] > 0.99) return color;
    }
    return [255, 255, 255, 1];
  };
  const problems = [];
  for (const element of Array.from(document.body.querySelectorAll('*'))) {
    const own = Array.from(element.childNodes).some((n) => n.nodeType === 3 && n.textContent.trim() !== '');
    const inputValue = element.tagName === 'INPUT' && element.value !== '';
    if (!own && !inputValue) continue;
    const style = getComputedStyle(element);
    const box = element.getBoundingClientRect();
    if (style.visibility === 'hidden' || box.width <= 1 || box.height <= 1) continue;
    const fg = luminance(parse(style.color));
    const bg = luminance(background(element));
    const ratio = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
    const size = parseFloat(style.fontSize);
    const large = size >= 24 || (size >= 18.66 && Number(style.fontWeight) >= 700);
    if (ratio < (large ? 3 : 4.5)) problems.push(element.tagName.toLowerCase() + ' "' + element.textContent.trim().slice(0, 30) + '": ' + ratio.toFixed(2));
  }
  return problems;
})()`;

const UNNAMED_CONTROLS = `Array.from(document.querySelectorAll('button:not([hidden]), a, input'))
  .filter((e) => {
    const labelled = e.id ? document.querySelector('label[for="' + e.id + '"]') : null;
    return ((e.getAttribute('aria-label') || '') + (labelled ? labelled.textContent : '') + e.textContent).trim() === '';
  })
  .map((e) => e.outerHTML.slice(0, 80))`;

const ACTIVE = (attribute: string) =>
  `document.activeElement ? document.activeElement.getAttribute(${JSON.stringify(attribute)}) : null`;

describe('hosted checkout in a real browser', function () {
  this.timeout(180_000);
  let stack: TestStack;
  let config: KasirConfig;
  let acme: TestMerchant;
  let app: RunningServer;
  let shop: RunningServer;
  let stopWorker: () => Promise<void>;
  let browser: Browser;
  let shots: string;

  before(async function () {
    this.timeout(180_000);
    const executablePath = chromiumPath();
    shots = process.env.KASIR_CHECKOUT_SCREENSHOTS
      ? path.resolve(process.env.KASIR_CHECKOUT_SCREENSHOTS)
      : mkdtempSync(path.join(os.tmpdir(), 'kasir-checkout-'));
    mkdirSync(shots, { recursive: true });
    // Simulator time at 1: orders stay payable for their real minutes while the browser works.
    stack = await startStack({ api: true, startWorker: false, timeScale: 1 });
    acme = stack.merchants[0]!;
    const port = await freePort();
    const simulatorUrls: Partial<Record<ProviderId, string>> = {
      finpay: stack.simulators.finpay.url,
      nicepay: stack.simulators.nicepay.url,
      bdpay: stack.simulators.bdpay.url,
    };
    config = {
      ...stack.config,
      checkout: {
        signingKeys: [`test_only_checkout_${randomBytes(24).toString('hex')}`],
        publicUrl: `http://127.0.0.1:${port}`,
        graceMinutes: 60,
        sandbox: { simulatorUrls },
      },
    };
    const worker = await createKasirWorker({
      connection: stack.workerConnection,
      config,
      workflowBundle: await workflowBundle(),
    });
    const running = worker.run();
    stopWorker = async () => {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running;
    };
    app = await listen(
      createApp({
        client: stack.client,
        config,
        connectors: createConnectors(config.providers),
        logger: createLogger({ level: 'warn' }),
      }),
      port
    );
    const shopApp = express();
    shopApp.get(
      '/thanks',
      (req, res) =>
        void res
          .type('html')
          .send(
            `<!doctype html><title>Shop</title><h1>Thanks ${typeof req.query.order === 'string' ? req.query.order : ''}</h1>`
          )
    );
    shop = await listen(shopApp);
    browser = await chromium.launch({ executablePath, headless: true, args: ['--no-sandbox'] });
  });

  after(async () => {
    await browser?.close();
    await app?.close();
    await shop?.close();
    await stopWorker?.();
    await stack?.stop();
  });

  async function createPayment(
    method: PaymentMethod,
    extra: Record<string, unknown> = {}
  ): Promise<CreatedPayment & { reference: string }> {
    const reference = `checkout-${method.toLowerCase()}-${randomBytes(4).toString('hex')}`;
    const response = await fetch(`${app.url}/v1/payments`, {
      method: 'POST',
      headers: { authorization: `Bearer ${acme.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        reference,
        amount: 150_000,
        method,
        customer: { name: 'Budi Santoso', email: 'budi@example.com', phone: '081286288844' },
        description: 'Checkout test',
        expiresInMinutes: 60,
        returnUrl: `${shop.url}/thanks?order=${reference}`,
        ...extra,
      }),
    });
    const body = (await response.json()) as CreatedPayment;
    assert.equal(response.status, 201, JSON.stringify(body));
    assert.ok(body.instructions.checkoutUrl, 'the instructions carry a checkout URL');
    return { ...body, reference };
  }

  /** A phone-sized page that records every request and CSP violation it makes. */
  async function openPhone(
    locale = 'id-ID'
  ): Promise<{ context: BrowserContext; page: Page; requests: string[]; violations: string[] }> {
    const context = await browser.newContext({ ...PHONE, locale });
    const page = await context.newPage();
    const requests: string[] = [];
    const violations: string[] = [];
    page.on('request', (request) => requests.push(request.url()));
    page.on('console', (message) => {
      if (/content security policy|refused to/i.test(message.text())) violations.push(message.text());
    });
    return { context, page, requests, violations };
  }

  /** The page's common checks: merchant, amount, method, countdown, language, CSP, nothing from elsewhere. */
  async function checkCommon(page: Page, method: string, requests: string[], violations: string[]): Promise<void> {
    assert.equal(await page.getAttribute('html', 'lang'), 'id');
    assert.equal(await page.textContent('#pay-to'), 'Bayar ke ACME');
    assert.equal((await page.textContent('#amount'))?.replace(/\s/g, ' '), 'Rp 150.000');
    assert.equal(await page.textContent('#method'), method);
    await page.waitForFunction("/^\\d+:\\d{2}(:\\d{2})?$/.test(document.getElementById('countdown').textContent)");
    const countdown = (await page.textContent('#countdown')) ?? '';
    const seconds = countdown
      .split(':')
      .map(Number)
      .reduce((total, part) => total * 60 + part, 0);
    assert.ok(seconds > 50 * 60 && seconds <= 60 * 60, `counts down from the hour: ${countdown}`);
    const origin = new URL(app.url).origin;
    assert.deepEqual(
      requests.filter((url) => new URL(url).origin !== origin),
      [],
      'every asset comes from Kasir itself'
    );
    assert.deepEqual(violations, []);
    assert.deepEqual(await page.evaluate<string[]>(CONTRAST_PROBLEMS), [], 'text contrast meets WCAG AA');
    // Every control has an accessible name.
    assert.deepEqual(await page.evaluate<string[]>(UNNAMED_CONTROLS), []);
  }

  /** Pays with the sandbox button and follows the page to the paid screen and the merchant's return URL. */
  async function payAndReturn(page: Page, reference: string, shot: string): Promise<void> {
    await page.getByRole('button', { name: 'Simulasikan pembayaran' }).click();
    await page.getByRole('heading', { name: 'Pembayaran berhasil' }).waitFor({ timeout: 30_000 });
    assert.equal(await page.evaluate(ACTIVE('id')), 'result-title', 'focus moves to the outcome');
    assert.equal(await page.getAttribute('#return-link', 'href'), `${shop.url}/thanks?order=${reference}`);
    await page.screenshot({ path: path.join(shots, shot), fullPage: true });
    await page.waitForURL(`${shop.url}/thanks?order=${reference}`, { timeout: 15_000 });
    assert.equal(await page.textContent('h1'), `Thanks ${reference}`);
  }

  it('virtual account: shows the number with its bank and a copy button, then the paid screen and the redirect', async () => {
    const payment = await createPayment('VA_BCA');
    const { context, page, requests, violations } = await openPhone();
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: app.url });
    const response = await page.goto(payment.instructions.checkoutUrl!);
    assert.equal(response?.status(), 200);
    const csp = response?.headers()['content-security-policy'] ?? '';
    assert.match(csp, /default-src 'self'/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    assert.equal(response?.headers()['referrer-policy'], 'no-referrer');
    await checkCommon(page, 'Virtual account BCA', requests, violations);
    assert.equal(await page.textContent('#how'), 'Transfer ke virtual account BCA');
    assert.equal(await page.inputValue('#pay-number'), payment.instructions.vaNumber);
    assert.equal(
      await page.getByRole('textbox', { name: 'Nomor virtual account' }).inputValue(),
      payment.instructions.vaNumber
    );
    await page.screenshot({ path: path.join(shots, 'virtual-account.png'), fullPage: true });
    const copy = page.getByRole('button', { name: 'Salin nomor virtual account' });
    await copy.click();
    await page.getByRole('status').filter({ hasText: 'Disalin' }).waitFor();
    assert.equal(await page.evaluate('navigator.clipboard.readText()'), payment.instructions.vaNumber);
    // Keyboard order: the number, its copy button, then the sandbox buttons.
    await page.focus('#pay-number');
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(ACTIVE('data-copy')), 'pay-number');
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(ACTIVE('data-simulate')), 'pay');
    await payAndReturn(page, payment.reference, 'paid.png');
    await context.close();
  });

  it('payment code: shows the code and where to pay it', async () => {
    const payment = await createPayment('FINPAY_CODE');
    const { context, page, requests, violations } = await openPhone();
    await page.goto(payment.instructions.checkoutUrl!);
    await checkCommon(page, 'Kode bayar Finpay', requests, violations);
    assert.equal(
      await page.getByRole('textbox', { name: 'Kode pembayaran' }).inputValue(),
      payment.instructions.paymentCode
    );
    assert.match((await page.textContent('#how + .field + p')) ?? '', /Finpay/);
    await page.screenshot({ path: path.join(shots, 'payment-code.png'), fullPage: true });
    await payAndReturn(page, payment.reference, 'payment-code-paid.png');
    await context.close();
  });

  it("QRIS: renders a scannable QR image of the provider's string, served by Kasir", async () => {
    const payment = await createPayment('QRIS', { provider: 'bdpay' });
    const qrContent = payment.instructions.qrContent!;
    assert.ok(qrContent, 'BDPay gives a QR string');
    assert.equal(parseQris(qrContent).amount, 150_000);
    const { context, page, requests, violations } = await openPhone();
    await page.goto(payment.instructions.checkoutUrl!);
    const image = page.getByRole('img', { name: /Kode QR QRIS untuk membayar Rp.150\.000 ke ACME/ });
    await image.waitFor();
    await page.waitForFunction(
      `document.getElementById('qr').complete && document.getElementById('qr').naturalWidth > 0`
    );
    await checkCommon(page, 'QRIS', requests, violations);
    const png = PNG.sync.read(await image.screenshot());
    const decoded = jsQR(new Uint8ClampedArray(png.data), png.width, png.height);
    assert.equal(decoded?.data, qrContent, 'the QR image decodes to the provider string');
    await page.screenshot({ path: path.join(shots, 'qris.png'), fullPage: true });
    await payAndReturn(page, payment.reference, 'qris-paid.png');
    await context.close();
  });

  it("e-wallet: offers the provider's deeplink as a button", async () => {
    const payment = await createPayment('EWALLET_SHOPEEPAY');
    const { context, page, requests, violations } = await openPhone();
    await page.goto(payment.instructions.checkoutUrl!);
    await checkCommon(page, 'ShopeePay', requests, violations);
    const link = page.getByRole('link', { name: 'Buka ShopeePay untuk membayar' });
    assert.equal(await link.getAttribute('href'), payment.instructions.deeplink ?? payment.instructions.redirectUrl);
    await page.screenshot({ path: path.join(shots, 'e-wallet.png'), fullPage: true });
    await payAndReturn(page, payment.reference, 'e-wallet-paid.png');
    await context.close();
  });

  it('speaks English on request, by ?lang=en or Accept-Language', async () => {
    const payment = await createPayment('VA_MANDIRI');
    const url = payment.instructions.checkoutUrl!;
    const { context, page } = await openPhone('en-US');
    await page.goto(url);
    assert.equal(await page.getAttribute('html', 'lang'), 'en');
    assert.equal(await page.textContent('#pay-to'), 'Pay ACME');
    assert.equal(await page.textContent('#how'), 'Transfer to a Mandiri virtual account');
    await page.goto(`${url}?lang=id`);
    assert.equal(await page.textContent('#pay-to'), 'Bayar ke ACME');
    await page.getByRole('link', { name: 'English' }).click();
    await page.waitForURL(`${url}?lang=en`);
    assert.equal(await page.textContent('#method'), 'Mandiri virtual account');
    await page.screenshot({ path: path.join(shots, 'virtual-account-en.png'), fullPage: true });
    await context.close();
  });

  it('turns into the expired screen when the payment expires', async () => {
    const payment = await createPayment('VA_BNI');
    const { context, page } = await openPhone();
    await page.goto(payment.instructions.checkoutUrl!);
    await page.getByRole('button', { name: 'Simulasikan kedaluwarsa' }).click();
    await page.getByRole('heading', { name: 'Waktu pembayaran habis' }).waitFor({ timeout: 30_000 });
    assert.equal(await page.$('#return-link'), null, 'only a paid payment goes back to the merchant');
    assert.equal(await page.$('button[data-simulate]'), null);
    await page.screenshot({ path: path.join(shots, 'expired.png'), fullPage: true });
    await context.close();
  });

  it('refuses tampered and unknown links with a page of its own', async () => {
    const payment = await createPayment('VA_BRI');
    const url = payment.instructions.checkoutUrl!;
    const [id, expiry, signature] = url.split('/').at(-1)!.split('.') as [string, string, string];
    const later = (parseInt(expiry, 36) + 86_400).toString(36);
    const { context, page } = await openPhone();
    for (const bad of [`${id}.${later}.${signature}`, `${id}.${expiry}.${'A'.repeat(22)}`, 'nothing-here']) {
      const response = await page.goto(`${app.url}/checkout/${bad}`);
      assert.equal(response?.status(), 404, bad);
      assert.equal(await page.textContent('h1'), 'Tautan tidak ditemukan');
    }
    const state = await fetch(`${app.url}/checkout/${id}.${later}.${signature}/state`);
    assert.equal(state.status, 404);
    const simulate = await fetch(`${app.url}/checkout/${id}.${later}.${signature}/simulate/pay`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    assert.equal(simulate.status, 404);
    await context.close();
  });
});
