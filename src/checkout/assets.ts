/**
 * The checkout page's only assets, a stylesheet and a small script, kept as strings so the production
 * bundle carries them and Kasir serves them itself (no CDN). Each is served under a name carrying its
 * hash, cached for a year, and referenced with Subresource Integrity.
 *
 * The script reads everything it needs from `data-` attributes the server rendered, in the page's
 * language: copy buttons, the countdown to expiry, polling Kasir's own state of the payment (never the
 * provider), the redirect to the merchant after a payment, and the sandbox buttons.
 */
import { createHash } from 'node:crypto';

const STYLE = `*,*::before,*::after{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",sans-serif;color:#1a1f2b;background:#eef1f5}
.wrap{max-width:480px;margin:0 auto;padding:16px}
header{padding:8px 0 12px}
.merchant{font-size:1.05rem;font-weight:600;margin:0}
.card{background:#fff;border-radius:12px;padding:20px;margin-bottom:16px;box-shadow:0 1px 2px rgba(16,24,40,.08)}
.summary dl{margin:0;display:grid;grid-template-columns:1fr;gap:2px}
.summary dt{font-size:.875rem;color:#4a5263}
.summary dd{margin:0 0 8px}
.amount{font-size:1.875rem;font-weight:700;letter-spacing:-.01em}
.timer{display:flex;flex-wrap:wrap;align-items:baseline;gap:4px 8px;background:#fff6e0;color:#5c3b00;border-radius:8px;padding:10px 12px;font-size:.9375rem}
.timer strong{font-variant-numeric:tabular-nums;font-size:1.125rem}
h1,h2{line-height:1.25}
h1{font-size:1.375rem;margin:0 0 8px}
h2{font-size:1.125rem;margin:0 0 12px}
.field{margin:0 0 12px}
.field label,.label{display:block;font-size:.875rem;color:#4a5263;margin-bottom:4px}
.copyrow{display:flex;gap:8px;align-items:stretch}
.copyrow output,.copyrow input{flex:1;min-width:0;font:600 1.25rem/1.3 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;letter-spacing:.04em;padding:10px 12px;border:1px solid #8a93a6;border-radius:8px;background:#f8f9fb;color:#1a1f2b;overflow-wrap:anywhere}
button,.button{display:inline-flex;align-items:center;justify-content:center;min-height:44px;padding:10px 16px;border-radius:8px;border:2px solid #0b57a4;background:#0b57a4;color:#fff;font-family:inherit;font-size:1rem;font-weight:600;line-height:1.2;text-decoration:none;cursor:pointer}
button.secondary,.button.secondary{background:#fff;color:#0b57a4}
.button.block{display:flex;width:100%}
button:focus-visible,.button:focus-visible,a:focus-visible,input:focus-visible{outline:3px solid #ffb703;outline-offset:2px}
h1[tabindex="-1"]:focus{outline:none}
ol{padding-left:1.25rem;margin:12px 0 0}
li{margin-bottom:4px}
.qr{display:flex;justify-content:center;margin:4px 0 8px}
.qr img{width:min(280px,100%);height:auto;image-rendering:pixelated;background:#fff}
.status{font-size:.875rem;color:#4a5263;margin:0}
.notice{font-size:.875rem;min-height:1.3em;margin:6px 0 0;color:#0f5132}
.result{text-align:center}
.result .icon{display:inline-flex;align-items:center;justify-content:center;width:64px;height:64px;border-radius:50%;font-size:2rem;font-weight:700;margin-bottom:8px}
.result.paid .icon{background:#d1f2dd;color:#0f5132}
.result.bad .icon{background:#fde2e1;color:#8a1c16}
.result.info .icon{background:#e4ecf7;color:#0b57a4}
.sandbox{border:2px dashed #8a5a00;background:#fffaf0}
.sandbox .actions{display:flex;flex-wrap:wrap;gap:8px;margin-top:8px}
footer{display:flex;justify-content:space-between;flex-wrap:wrap;gap:8px;font-size:.875rem;color:#4a5263;padding:4px 0 24px}
footer a{color:#0b57a4}
.visually-hidden{position:absolute;width:1px;height:1px;margin:-1px;padding:0;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap;border:0}
[hidden]{display:none!important}
@media (min-width:600px){.wrap{padding:32px 16px}}
`;

const SCRIPT = `(function () {
  'use strict';
  var root = document.getElementById('checkout');
  if (!root) return;
  var data = root.dataset;
  var live = document.getElementById('live');
  function say(text) { if (live) { live.textContent = ''; window.setTimeout(function () { live.textContent = text; }, 50); } }

  // Copy buttons: the value is in the element the button's data-copy names.
  Array.prototype.forEach.call(document.querySelectorAll('button[data-copy]'), function (button) {
    button.hidden = false;
    button.addEventListener('click', function () {
      var source = document.getElementById(button.getAttribute('data-copy'));
      var text = source ? (source.value || source.textContent || '').replace(/\\s+/g, '') : '';
      var done = function () { say(data.copied); button.textContent = data.copied; window.setTimeout(function () { button.textContent = data.copy; }, 2000); };
      var fallback = function () {
        if (source && source.select) { source.select(); try { if (document.execCommand('copy')) return done(); } catch (e) {} }
        say(data.copyFailed);
      };
      if (navigator.clipboard && navigator.clipboard.writeText) navigator.clipboard.writeText(text).then(done, fallback);
      else fallback();
    });
  });

  // Live state: Kasir's own view of the payment, polled; a change of screen reloads the page.
  var screen = data.screen;
  var polling = false;
  function poll() {
    if (polling || !data.stateUrl) return;
    polling = true;
    fetch(data.stateUrl, { cache: 'no-store', credentials: 'omit', headers: { Accept: 'application/json' } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (state) { if (state && state.screen !== screen) window.location.reload(); })
      .catch(function () {})
      .then(function () { polling = false; });
  }
  if (screen === 'pending' || screen === 'preparing') window.setInterval(poll, Number(data.pollMs) || 3000);

  // Countdown to expiry.
  var timer = document.getElementById('countdown');
  if (timer && data.expiresAt) {
    var end = Date.parse(data.expiresAt);
    var two = function (n) { return (n < 10 ? '0' : '') + n; };
    var tick = function () {
      var left = Math.max(0, Math.floor((end - Date.now()) / 1000));
      var h = Math.floor(left / 3600), m = Math.floor((left % 3600) / 60), s = left % 60;
      timer.textContent = (h > 0 ? h + ':' + two(m) : two(m)) + ':' + two(s);
      if (left === 0) { window.clearInterval(handle); poll(); }
    };
    var handle = window.setInterval(tick, 1000);
    tick();
  }

  // Paid: back to the merchant after a moment (the link is there for those who do not wait).
  if (data.returnUrl) {
    window.setTimeout(function () { window.location.assign(data.returnUrl); }, Number(data.returnAfterMs) || 3000);
  }
  var heading = document.querySelector('[data-focus]');
  if (heading) heading.focus();

  // Sandbox only: the server drives the provider's simulator; then the state is read again.
  Array.prototype.forEach.call(document.querySelectorAll('button[data-simulate]'), function (button) {
    button.addEventListener('click', function () {
      button.disabled = true;
      fetch(data.simulateUrl + '/' + button.getAttribute('data-simulate'), { method: 'POST', credentials: 'omit', headers: { 'Content-Type': 'application/json' }, body: '{}' })
        .then(function (response) { if (!response.ok) throw new Error(String(response.status)); window.setTimeout(poll, 300); })
        .catch(function () { say(data.simulateFailed); })
        .then(function () { button.disabled = false; });
    });
  });
})();
`;

export interface Asset {
  /** File name under `/checkout/assets/`, with the content's hash in it. */
  name: string;
  contentType: string;
  body: string;
  /** Subresource Integrity value. */
  integrity: string;
}

function asset(stem: string, extension: string, contentType: string, body: string): Asset {
  const hash = createHash('sha256').update(body).digest('hex').slice(0, 12);
  return {
    name: `${stem}.${hash}.${extension}`,
    contentType,
    body,
    integrity: `sha384-${createHash('sha384').update(body).digest('base64')}`,
  };
}

export const CHECKOUT_STYLE = asset('checkout', 'css', 'text/css; charset=utf-8', STYLE);
export const CHECKOUT_SCRIPT = asset('checkout', 'js', 'text/javascript; charset=utf-8', SCRIPT);

export const CHECKOUT_ASSETS: ReadonlyMap<string, Asset> = new Map(
  [CHECKOUT_STYLE, CHECKOUT_SCRIPT].map((a) => [a.name, a])
);
