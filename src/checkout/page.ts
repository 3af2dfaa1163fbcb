/**
 * The hosted checkout page, rendered on the server from Kasir's own state of the payment: the merchant's
 * name, the amount, what to do for the method, a countdown, and the final screens. Only what the
 * payment needs is shown (no customer data). Every URL in the page is relative to `/checkout/`, so it
 * works behind a path prefix; the only script and stylesheet are Kasir's own (`assets.ts`).
 */
import type { PaymentInstructions, PaymentMethod, PaymentStatus } from '../domain/payment';
import { CHECKOUT_SCRIPT, CHECKOUT_STYLE } from './assets';
import { bankOf, formatJakartaTime, formatRupiah, messagesFor, outletOf, walletOf } from './messages';
import type { Language, Messages } from './messages';

/** Which screen a status shows. `preparing`: registration has not answered yet. */
export type CheckoutScreen =
  'preparing' | 'pending' | 'paid' | 'expired' | 'cancelled' | 'failed' | 'mismatch' | 'refunded';

export function screenOf(status: PaymentStatus, hasInstructions: boolean): CheckoutScreen {
  switch (status) {
    case 'REGISTERING':
      return 'preparing';
    case 'PENDING':
      return hasInstructions ? 'pending' : 'preparing';
    case 'SUCCEEDED':
      return 'paid';
    case 'EXPIRED':
      return 'expired';
    case 'CANCELLED':
      return 'cancelled';
    case 'FAILED':
      return 'failed';
    case 'AMOUNT_MISMATCH':
      return 'mismatch';
    case 'REFUNDED':
      return 'refunded';
  }
}

/** What the page shows: nothing more than this leaves Kasir. */
export interface CheckoutView {
  /** The signed token of the page's own URL (the page links to its state, QR image and sandbox controls). */
  token: string;
  merchantName: string;
  amount: number;
  method: PaymentMethod;
  screen: CheckoutScreen;
  instructions?: PaymentInstructions;
  /** Where a paid page sends the customer (http or https only), when the merchant gave one. */
  returnUrl?: string;
  sandbox: boolean;
  pollMs: number;
  returnAfterMs: number;
}

export function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch] ?? ch
  );
}

type Kind = 'va' | 'code' | 'qris' | 'ewallet';

function kindOf(method: PaymentMethod): Kind {
  if (bankOf(method)) return 'va';
  if (walletOf(method)) return 'ewallet';
  if (method === 'QRIS') return 'qris';
  return 'code';
}

function copyField(id: string, label: string, value: string, m: Messages): string {
  return `<div class="field"><label for="${id}">${escapeHtml(label)}</label>
<div class="copyrow"><input id="${id}" type="text" readonly value="${escapeHtml(value)}" inputmode="numeric" autocomplete="off" spellcheck="false">
<button type="button" data-copy="${id}" aria-label="${escapeHtml(m.copyLabel(label))}" hidden>${escapeHtml(m.copy)}</button></div></div>`;
}

function steps(items: string[]): string {
  return `<ol>${items.map((item) => `<li>${escapeHtml(item)}</li>`).join('')}</ol>`;
}

/** Only http(s) links reach an `href`: a provider's answer is not trusted to be one. */
function safeHref(url: string | undefined): string | undefined {
  if (url === undefined) return undefined;
  try {
    const parsed = new URL(url);
    return ['https:', 'http:'].includes(parsed.protocol) ? parsed.href : undefined;
  } catch {
    return undefined;
  }
}

/** An app deeplink may use the wallet's own scheme; never `javascript:` or `data:`. */
function safeDeeplink(url: string | undefined): string | undefined {
  if (url === undefined) return undefined;
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
  if (!scheme || ['javascript', 'data', 'vbscript', 'file', 'blob'].includes(scheme)) return undefined;
  return url;
}

function instructionsHtml(view: CheckoutView, m: Messages, amountText: string): string {
  const i = view.instructions ?? { expiresAt: '' };
  const method = view.method;
  switch (kindOf(method)) {
    case 'va': {
      const bank = bankOf(method) ?? '';
      const number = i.vaNumber ?? i.paymentCode;
      return `<section class="card" aria-labelledby="how"><h2 id="how">${escapeHtml(m.vaHeading(bank))}</h2>
${number ? copyField('pay-number', m.vaLabel, number, m) : ''}${steps(m.vaSteps(bank))}</section>`;
    }
    case 'code': {
      const code = i.paymentCode ?? i.vaNumber;
      return `<section class="card" aria-labelledby="how"><h2 id="how">${escapeHtml(m.codeHeading)}</h2>
${code ? copyField('pay-number', m.codeLabel, code, m) : ''}<p>${escapeHtml(m.codeWhere(outletOf(method)))}</p></section>`;
    }
    case 'qris': {
      const image = i.qrContent
        ? `<div class="qr"><img id="qr" src="${escapeHtml(view.token)}/qr.png" width="296" height="296" alt="${escapeHtml(m.qrAlt(view.merchantName, amountText))}"></div>`
        : '';
      // A provider that gives only an image of its own (Finpay) is linked to, never embedded: the page loads nothing from elsewhere.
      const link = !i.qrContent ? safeHref(i.qrImageUrl ?? i.redirectUrl) : undefined;
      return `<section class="card" aria-labelledby="how"><h2 id="how">${escapeHtml(m.qrHeading)}</h2>${image}
${link ? `<a class="button block" id="qr-link" href="${escapeHtml(link)}" rel="noopener noreferrer">${escapeHtml(m.qrOpen)}</a>` : ''}${steps(m.qrSteps)}</section>`;
    }
    case 'ewallet': {
      const wallet = walletOf(method) ?? '';
      const href = safeDeeplink(i.deeplink) ?? safeHref(i.redirectUrl);
      const body = href
        ? `<a class="button block" id="wallet-link" href="${escapeHtml(href)}" rel="noopener noreferrer">${escapeHtml(m.walletButton(wallet))}</a>`
        : `<p>${escapeHtml(method === 'EWALLET_OVO' ? m.walletPush(wallet) : m.walletNoLink(wallet))}</p>`;
      return `<section class="card" aria-labelledby="how"><h2 id="how">${escapeHtml(m.walletHeading(wallet))}</h2>${body}</section>`;
    }
  }
}

type OutcomeScreen = Exclude<CheckoutScreen, 'preparing' | 'pending'>;

/** Tone, icon, title and text of each outcome screen. */
function outcomeOf(screen: OutcomeScreen, m: Messages, merchant: string): [string, string, string, string] {
  switch (screen) {
    case 'paid':
      return ['paid', '✓', m.paidTitle, m.paidBody(merchant)];
    case 'refunded':
      return ['info', 'i', m.refundedTitle, m.refundedBody];
    case 'expired':
      return ['bad', '!', m.expiredTitle, m.expiredBody];
    case 'cancelled':
      return ['bad', '×', m.cancelledTitle, m.cancelledBody];
    case 'mismatch':
      return ['info', '!', m.mismatchTitle, m.mismatchBody(merchant)];
    case 'failed':
      return ['bad', '!', m.failedTitle, m.failedBody];
  }
}

function resultHtml(view: CheckoutView & { screen: OutcomeScreen }, m: Messages): string {
  const merchant = view.merchantName;
  const [tone, icon, title, body] = outcomeOf(view.screen, m, merchant);
  const back =
    view.screen === 'paid' && view.returnUrl
      ? `<p>${escapeHtml(m.returning(merchant))}</p><a class="button" id="return-link" href="${escapeHtml(view.returnUrl)}">${escapeHtml(m.returnNow)}</a>`
      : '';
  return `<section class="card result ${tone}" data-result="${view.screen}"><div class="icon" aria-hidden="true">${icon}</div>
<h1 id="result-title" tabindex="-1" data-focus>${escapeHtml(title)}</h1><p>${escapeHtml(body)}</p>${back}</section>`;
}

function sandboxHtml(m: Messages): string {
  return `<section class="card sandbox" aria-labelledby="sandbox-title"><h2 id="sandbox-title">${escapeHtml(m.sandboxHeading)}</h2>
<p class="status">${escapeHtml(m.sandboxNote)}</p><div class="actions">
<button type="button" data-simulate="pay">${escapeHtml(m.simulatePay)}</button>
<button type="button" class="secondary" data-simulate="expire">${escapeHtml(m.simulateExpire)}</button></div></section>`;
}

function documentHtml(
  lang: Language,
  title: string,
  rootAttributes: string,
  main: string,
  m: Messages,
  other: string
): string {
  return `<!doctype html>
<html lang="${lang}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer"><meta name="robots" content="noindex, nofollow">
<title>${escapeHtml(title)}</title>
<link rel="stylesheet" href="assets/${CHECKOUT_STYLE.name}" integrity="${CHECKOUT_STYLE.integrity}">
<script defer src="assets/${CHECKOUT_SCRIPT.name}" integrity="${CHECKOUT_SCRIPT.integrity}"></script></head>
<body><div class="wrap" id="checkout"${rootAttributes}>
${main}
<p id="live" class="visually-hidden" role="status" aria-live="polite"></p>
<footer><span>${escapeHtml(m.poweredBy)}</span>${other}</footer>
</div></body></html>`;
}

/** The page for a payment, in `lang`. */
export function renderCheckoutPage(view: CheckoutView, lang: Language): string {
  const m = messagesFor(lang);
  const amountText = formatRupiah(view.amount);
  const expiresAt = view.instructions?.expiresAt;
  const open = view.screen === 'pending' || view.screen === 'preparing';
  const data: Record<string, string | undefined> = {
    screen: view.screen,
    'state-url': `${view.token}/state`,
    'poll-ms': String(view.pollMs),
    'expires-at': open && view.screen === 'pending' ? expiresAt : undefined,
    'return-url': view.screen === 'paid' ? view.returnUrl : undefined,
    'return-after-ms': String(view.returnAfterMs),
    'simulate-url': view.sandbox ? `${view.token}/simulate` : undefined,
    copy: m.copy,
    copied: m.copied,
    'copy-failed': m.copyFailed,
    'simulate-failed': m.simulateFailed,
  };
  const attributes = Object.entries(data)
    .filter((entry): entry is [string, string] => entry[1] !== undefined)
    .map(([key, value]) => ` data-${key}="${escapeHtml(value)}"`)
    .join('');
  // On an outcome screen the outcome is the page's heading; the summary is a section under it.
  const level = open ? 'h1' : 'h2';
  const summary = `<section class="card summary" aria-labelledby="pay-to"><${level} id="pay-to">${escapeHtml(m.payTo(view.merchantName))}</${level}><dl>
<dt>${escapeHtml(m.amountLabel)}</dt><dd class="amount" id="amount">${escapeHtml(amountText)}</dd>
<dt>${escapeHtml(m.methodLabel)}</dt><dd id="method">${escapeHtml(m.methodName(view.method))}</dd></dl>
${
  view.screen === 'pending' && expiresAt
    ? `<p class="timer"><span id="countdown-label">${escapeHtml(m.payWithin)}</span> <strong id="countdown" role="timer" aria-labelledby="countdown-label">--:--</strong>
<span><time datetime="${escapeHtml(expiresAt)}">${escapeHtml(m.payBefore(formatJakartaTime(expiresAt, lang)))}</time></span></p>`
    : ''
}</section>`;
  let main: string;
  if (view.screen === 'preparing') {
    main = `${summary}<section class="card"><p class="status" id="state-note">${escapeHtml(m.preparing)}</p></section>`;
  } else if (view.screen === 'pending') {
    main = `${summary}${instructionsHtml(view, m, amountText)}<p class="status" id="state-note">${escapeHtml(m.statusChecking)}</p>${view.sandbox ? sandboxHtml(m) : ''}`;
  } else {
    main = `${resultHtml({ ...view, screen: view.screen }, m)}${summary}`;
  }
  const otherLang: Language = lang === 'id' ? 'en' : 'id';
  const switcher = `<a href="${escapeHtml(view.token)}?lang=${otherLang}" hreflang="${otherLang}" lang="${otherLang}">${escapeHtml(m.otherLanguage)}</a>`;
  return documentHtml(lang, `${m.title} · ${view.merchantName}`, attributes, main, m, switcher);
}

/** A page for a link that leads nowhere: invalid, expired, or a payment that cannot be read now. */
export function renderCheckoutMessage(kind: 'not-found' | 'expired' | 'unavailable', lang: Language): string {
  const m = messagesFor(lang);
  const [title, body] =
    kind === 'not-found'
      ? [m.notFoundTitle, m.notFoundBody]
      : kind === 'expired'
        ? [m.linkExpiredTitle, m.linkExpiredBody]
        : [m.unavailableTitle, m.unavailableBody];
  return documentHtml(
    lang,
    title,
    ' data-screen="message"',
    `<section class="card result bad"><div class="icon" aria-hidden="true">!</div><h1>${escapeHtml(title)}</h1><p>${escapeHtml(body)}</p></section>`,
    m,
    ''
  );
}
