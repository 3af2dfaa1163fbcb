/**
 * The checkout page's words, in Bahasa Indonesia (the default) and English. Chosen by `?lang=` or the
 * browser's Accept-Language; every string the page or its script shows comes from here.
 */
import type { PaymentMethod } from '../domain/payment';

export const LANGUAGES = ['id', 'en'] as const;
export type Language = (typeof LANGUAGES)[number];

/**
 * `?lang=id|en` wins; else the Accept-Language entry with the highest weight among Indonesian (`id`,
 * or the old code `in`) and English; else Indonesian.
 */
export function languageOf(queryLang: unknown, acceptLanguage: string | undefined): Language {
  if (queryLang === 'en' || queryLang === 'id') return queryLang;
  let best: { lang: Language; q: number } | undefined;
  for (const part of (acceptLanguage ?? '').split(',')) {
    const [tag = '', ...params] = part.trim().toLowerCase().split(';');
    const primary = tag.split('-')[0];
    const lang: Language | undefined =
      primary === 'en' ? 'en' : primary === 'id' || primary === 'in' ? 'id' : undefined;
    if (!lang) continue;
    const qParam = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    const q = qParam ? Number(qParam.slice(2)) : 1;
    if (Number.isFinite(q) && q > 0 && (!best || q > best.q)) best = { lang, q };
  }
  return best?.lang ?? 'id';
}

const BANKS: Partial<Record<PaymentMethod, string>> = {
  VA_BCA: 'BCA',
  VA_MANDIRI: 'Mandiri',
  VA_BNI: 'BNI',
  VA_BRI: 'BRI',
  VA_PERMATA: 'Permata',
  VA_CIMB: 'CIMB Niaga',
  VA_BNC: 'Bank Neo Commerce',
  VA_SAMPOERNA: 'Bank Sahabat Sampoerna',
  VA_MAYBANK: 'Maybank',
  VA_DANAMON: 'Danamon',
};

const WALLETS: Partial<Record<PaymentMethod, string>> = {
  EWALLET_OVO: 'OVO',
  EWALLET_DANA: 'DANA',
  EWALLET_LINKAJA: 'LinkAja',
  EWALLET_SHOPEEPAY: 'ShopeePay',
};

const OUTLETS: Partial<Record<PaymentMethod, string>> = {
  RETAIL_ALFAMART: 'Alfamart',
  RETAIL_INDOMARET: 'Indomaret',
};

export function bankOf(method: PaymentMethod): string | undefined {
  return BANKS[method];
}
export function walletOf(method: PaymentMethod): string | undefined {
  return WALLETS[method];
}
export function outletOf(method: PaymentMethod): string | undefined {
  return OUTLETS[method];
}

export interface Messages {
  title: string;
  payTo: (merchant: string) => string;
  amountLabel: string;
  methodLabel: string;
  methodName: (method: PaymentMethod) => string;
  payWithin: string;
  payBefore: (when: string) => string;
  preparing: string;
  vaHeading: (bank: string) => string;
  vaLabel: string;
  vaSteps: (bank: string) => string[];
  codeHeading: string;
  codeLabel: string;
  codeWhere: (outlet: string | undefined) => string;
  copy: string;
  copyLabel: (what: string) => string;
  copied: string;
  copyFailed: string;
  qrHeading: string;
  qrAlt: (merchant: string, amount: string) => string;
  qrSteps: string[];
  qrOpen: string;
  walletHeading: (wallet: string) => string;
  walletButton: (wallet: string) => string;
  walletPush: (wallet: string) => string;
  walletNoLink: (wallet: string) => string;
  paidTitle: string;
  paidBody: (merchant: string) => string;
  returning: (merchant: string) => string;
  returnNow: string;
  expiredTitle: string;
  expiredBody: string;
  cancelledTitle: string;
  cancelledBody: string;
  failedTitle: string;
  failedBody: string;
  mismatchTitle: string;
  mismatchBody: (merchant: string) => string;
  refundedTitle: string;
  refundedBody: string;
  statusChecking: string;
  sandboxHeading: string;
  sandboxNote: string;
  simulatePay: string;
  simulateExpire: string;
  simulateFailed: string;
  language: string;
  otherLanguage: string;
  poweredBy: string;
  notFoundTitle: string;
  notFoundBody: string;
  linkExpiredTitle: string;
  linkExpiredBody: string;
  unavailableTitle: string;
  unavailableBody: string;
}

function methodNameIn(lang: Language, method: PaymentMethod): string {
  const bank = BANKS[method];
  if (bank) return lang === 'id' ? `Virtual account ${bank}` : `${bank} virtual account`;
  const wallet = WALLETS[method];
  if (wallet) return wallet;
  const outlet = OUTLETS[method];
  if (outlet) return outlet;
  if (method === 'QRIS') return 'QRIS';
  return lang === 'id' ? 'Kode bayar Finpay' : 'Finpay payment code';
}

/** Every message in both languages: one entry per key, so a key cannot be missing in one of them. */
const MESSAGES: { [K in keyof Messages]: Record<Language, Messages[K]> } = {
  title: { id: 'Pembayaran', en: 'Payment' },
  payTo: { id: (merchant) => `Bayar ke ${merchant}`, en: (merchant) => `Pay ${merchant}` },
  amountLabel: { id: 'Total pembayaran', en: 'Amount due' },
  methodLabel: { id: 'Metode', en: 'Method' },
  methodName: { id: (method) => methodNameIn('id', method), en: (method) => methodNameIn('en', method) },
  payWithin: { id: 'Selesaikan pembayaran dalam', en: 'Complete your payment within' },
  payBefore: { id: (when) => `Bayar sebelum ${when} WIB`, en: (when) => `Pay before ${when} WIB` },
  preparing: { id: 'Menyiapkan pembayaran Anda…', en: 'Preparing your payment…' },
  vaHeading: {
    id: (bank) => `Transfer ke virtual account ${bank}`,
    en: (bank) => `Transfer to a ${bank} virtual account`,
  },
  vaLabel: { id: 'Nomor virtual account', en: 'Virtual account number' },
  vaSteps: {
    id: (bank) => [
      `Buka m-banking, internet banking atau ATM ${bank}.`,
      'Pilih transfer ke virtual account, lalu masukkan nomor di atas.',
      'Pastikan nama penerima dan jumlahnya sesuai, lalu konfirmasi.',
    ],
    en: (bank) => [
      `Open ${bank} mobile banking, internet banking or an ATM.`,
      'Choose transfer to virtual account and enter the number above.',
      'Check that the payee and amount match, then confirm.',
    ],
  },
  codeHeading: { id: 'Bayar dengan kode pembayaran', en: 'Pay with a payment code' },
  codeLabel: { id: 'Kode pembayaran', en: 'Payment code' },
  codeWhere: {
    id: (outlet) =>
      outlet
        ? `Datangi kasir ${outlet} mana pun, sebutkan bahwa Anda ingin membayar tagihan, dan tunjukkan kode ini.`
        : 'Masukkan kode ini di kanal pembayaran yang menerima kode bayar Finpay, misalnya menu pembayaran Finpay di m-banking atau ATM, atau di gerai mitra Finpay.',
    en: (outlet) =>
      outlet
        ? `Go to any ${outlet} cashier, say you want to pay a bill, and show this code.`
        : 'Enter this code at a channel that accepts Finpay payment codes, such as the Finpay payment menu in mobile banking or at an ATM, or at a Finpay partner outlet.',
  },
  copy: { id: 'Salin', en: 'Copy' },
  copyLabel: { id: (what) => `Salin ${what.toLowerCase()}`, en: (what) => `Copy ${what.toLowerCase()}` },
  copied: { id: 'Disalin', en: 'Copied' },
  copyFailed: { id: 'Tidak dapat menyalin; salin secara manual.', en: 'Could not copy; please copy it by hand.' },
  qrHeading: { id: 'Pindai QRIS', en: 'Scan the QRIS code' },
  qrAlt: {
    id: (merchant, amount) => `Kode QR QRIS untuk membayar ${amount} ke ${merchant}`,
    en: (merchant, amount) => `QRIS QR code to pay ${amount} to ${merchant}`,
  },
  qrSteps: {
    id: [
      'Buka aplikasi bank atau e-wallet yang mendukung QRIS.',
      'Pindai kode QR ini, lalu periksa nama merchant dan jumlahnya.',
      'Konfirmasi pembayaran di aplikasi Anda.',
    ],
    en: [
      'Open any banking or e-wallet app that supports QRIS.',
      'Scan this QR code, then check the merchant name and amount.',
      'Confirm the payment in your app.',
    ],
  },
  qrOpen: { id: 'Buka kode QR', en: 'Open the QR code' },
  walletHeading: { id: (wallet) => `Bayar dengan ${wallet}`, en: (wallet) => `Pay with ${wallet}` },
  walletButton: { id: (wallet) => `Buka ${wallet} untuk membayar`, en: (wallet) => `Open ${wallet} to pay` },
  walletPush: {
    id: (wallet) => `Buka aplikasi ${wallet} dan setujui notifikasi pembayaran yang dikirim kepada Anda.`,
    en: (wallet) => `Open the ${wallet} app and approve the payment notification sent to you.`,
  },
  walletNoLink: {
    id: (wallet) => `Selesaikan pembayaran di aplikasi ${wallet} Anda.`,
    en: (wallet) => `Complete the payment in your ${wallet} app.`,
  },
  paidTitle: { id: 'Pembayaran berhasil', en: 'Payment successful' },
  paidBody: {
    id: (merchant) => `Terima kasih. ${merchant} telah menerima pembayaran Anda.`,
    en: (merchant) => `Thank you. ${merchant} has received your payment.`,
  },
  returning: {
    id: (merchant) => `Mengarahkan Anda kembali ke ${merchant}…`,
    en: (merchant) => `Taking you back to ${merchant}…`,
  },
  returnNow: { id: 'Kembali sekarang', en: 'Go back now' },
  expiredTitle: { id: 'Waktu pembayaran habis', en: 'Payment time is up' },
  expiredBody: {
    id: 'Pembayaran ini sudah kedaluwarsa. Jangan membayar lagi; buat pesanan baru bila masih diperlukan.',
    en: 'This payment has expired. Do not pay it any more; place a new order if you still need to.',
  },
  cancelledTitle: { id: 'Pembayaran dibatalkan', en: 'Payment cancelled' },
  cancelledBody: {
    id: 'Pembayaran ini telah dibatalkan. Jangan membayar lagi.',
    en: 'This payment was cancelled. Do not pay it any more.',
  },
  failedTitle: { id: 'Pembayaran gagal', en: 'Payment failed' },
  failedBody: {
    id: 'Pembayaran ini tidak dapat diproses. Silakan coba lagi dari toko.',
    en: 'This payment could not be processed. Please try again from the shop.',
  },
  mismatchTitle: { id: 'Jumlah pembayaran tidak sesuai', en: 'Amount paid does not match' },
  mismatchBody: {
    id: (merchant) =>
      `Kami menerima pembayaran dengan jumlah yang berbeda dari tagihan. ${merchant} akan menghubungi Anda.`,
    en: (merchant) => `We received a payment of a different amount than was due. ${merchant} will contact you.`,
  },
  refundedTitle: { id: 'Pembayaran dikembalikan', en: 'Payment refunded' },
  refundedBody: { id: 'Pembayaran ini telah dikembalikan kepada Anda.', en: 'This payment has been refunded to you.' },
  statusChecking: {
    id: 'Menunggu pembayaran. Halaman ini diperbarui otomatis.',
    en: 'Waiting for your payment. This page updates by itself.',
  },
  sandboxHeading: { id: 'Mode sandbox', en: 'Sandbox mode' },
  sandboxNote: {
    id: 'Hanya untuk pengujian: tombol ini menjalankan simulator penyedia, bukan uang sungguhan.',
    en: "For testing only: these buttons drive the provider's simulator, not real money.",
  },
  simulatePay: { id: 'Simulasikan pembayaran', en: 'Simulate payment' },
  simulateExpire: { id: 'Simulasikan kedaluwarsa', en: 'Simulate expiry' },
  simulateFailed: { id: 'Simulator tidak dapat dijalankan.', en: 'The simulator could not be reached.' },
  language: { id: 'Bahasa', en: 'Language' },
  otherLanguage: { id: 'English', en: 'Bahasa Indonesia' },
  poweredBy: { id: 'Diproses oleh Kasir', en: 'Processed by Kasir' },
  notFoundTitle: { id: 'Tautan tidak ditemukan', en: 'Link not found' },
  notFoundBody: {
    id: 'Tautan pembayaran ini tidak valid. Periksa kembali tautan dari toko.',
    en: 'This payment link is not valid. Check the link the shop gave you.',
  },
  linkExpiredTitle: { id: 'Tautan kedaluwarsa', en: 'Link expired' },
  linkExpiredBody: {
    id: 'Tautan pembayaran ini sudah tidak berlaku. Hubungi toko bila Anda masih ingin membayar.',
    en: 'This payment link no longer works. Contact the shop if you still want to pay.',
  },
  unavailableTitle: { id: 'Sedang tidak tersedia', en: 'Temporarily unavailable' },
  unavailableBody: {
    id: 'Kami tidak dapat memuat pembayaran ini saat ini. Coba lagi sebentar lagi.',
    en: 'We cannot load this payment right now. Please try again in a moment.',
  },
};

/** The messages of one language, taken from the table. */
function messagesIn(lang: Language): Messages {
  const entries = Object.entries(MESSAGES).map(([key, byLanguage]) => [key, byLanguage[lang]]);
  return Object.fromEntries(entries) as Messages;
}

const BY_LANGUAGE: Record<Language, Messages> = { id: messagesIn('id'), en: messagesIn('en') };

export function messagesFor(lang: Language): Messages {
  return BY_LANGUAGE[lang];
}

/** `Rp 150.000`: whole rupiah, Indonesian grouping in both languages (how prices are written in Indonesia). */
export function formatRupiah(amount: number): string {
  return `Rp\u00a0${new Intl.NumberFormat('id-ID', { maximumFractionDigits: 0 }).format(amount)}`;
}

/** A moment in Jakarta time (WIB), in the page's language. */
export function formatJakartaTime(iso: string, lang: Language): string {
  return new Intl.DateTimeFormat(lang === 'en' ? 'en-GB' : 'id-ID', {
    dateStyle: 'medium',
    timeStyle: 'short',
    timeZone: 'Asia/Jakarta',
  }).format(new Date(iso));
}
