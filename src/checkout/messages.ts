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

const ID: Messages = {
  title: 'Pembayaran',
  payTo: (merchant) => `Bayar ke ${merchant}`,
  amountLabel: 'Total pembayaran',
  methodLabel: 'Metode',
  methodName: (method) => methodNameIn('id', method),
  payWithin: 'Selesaikan pembayaran dalam',
  payBefore: (when) => `Bayar sebelum ${when} WIB`,
  preparing: 'Menyiapkan pembayaran Anda…',
  vaHeading: (bank) => `Transfer ke virtual account ${bank}`,
  vaLabel: 'Nomor virtual account',
  vaSteps: (bank) => [
    `Buka m-banking, internet banking atau ATM ${bank}.`,
    'Pilih transfer ke virtual account, lalu masukkan nomor di atas.',
    'Pastikan nama penerima dan jumlahnya sesuai, lalu konfirmasi.',
  ],
  codeHeading: 'Bayar dengan kode pembayaran',
  codeLabel: 'Kode pembayaran',
  codeWhere: (outlet) =>
    outlet
      ? `Datangi kasir ${outlet} mana pun, sebutkan bahwa Anda ingin membayar tagihan, dan tunjukkan kode ini.`
      : 'Masukkan kode ini di kanal pembayaran yang menerima kode bayar Finpay, misalnya menu pembayaran Finpay di m-banking atau ATM, atau di gerai mitra Finpay.',
  copy: 'Salin',
  copyLabel: (what) => `Salin ${what.toLowerCase()}`,
  copied: 'Disalin',
  copyFailed: 'Tidak dapat menyalin; salin secara manual.',
  qrHeading: 'Pindai QRIS',
  qrAlt: (merchant, amount) => `Kode QR QRIS untuk membayar ${amount} ke ${merchant}`,
  qrSteps: [
    'Buka aplikasi bank atau e-wallet yang mendukung QRIS.',
    'Pindai kode QR ini, lalu periksa nama merchant dan jumlahnya.',
    'Konfirmasi pembayaran di aplikasi Anda.',
  ],
  qrOpen: 'Buka kode QR',
  walletHeading: (wallet) => `Bayar dengan ${wallet}`,
  walletButton: (wallet) => `Buka ${wallet} untuk membayar`,
  walletPush: (wallet) => `Buka aplikasi ${wallet} dan setujui notifikasi pembayaran yang dikirim kepada Anda.`,
  walletNoLink: (wallet) => `Selesaikan pembayaran di aplikasi ${wallet} Anda.`,
  paidTitle: 'Pembayaran berhasil',
  paidBody: (merchant) => `Terima kasih. ${merchant} telah menerima pembayaran Anda.`,
  returning: (merchant) => `Mengarahkan Anda kembali ke ${merchant}…`,
  returnNow: 'Kembali sekarang',
  expiredTitle: 'Waktu pembayaran habis',
  expiredBody: 'Pembayaran ini sudah kedaluwarsa. Jangan membayar lagi; buat pesanan baru bila masih diperlukan.',
  cancelledTitle: 'Pembayaran dibatalkan',
  cancelledBody: 'Pembayaran ini telah dibatalkan. Jangan membayar lagi.',
  failedTitle: 'Pembayaran gagal',
  failedBody: 'Pembayaran ini tidak dapat diproses. Silakan coba lagi dari toko.',
  mismatchTitle: 'Jumlah pembayaran tidak sesuai',
  mismatchBody: (merchant) =>
    `Kami menerima pembayaran dengan jumlah yang berbeda dari tagihan. ${merchant} akan menghubungi Anda.`,
  refundedTitle: 'Pembayaran dikembalikan',
  refundedBody: 'Pembayaran ini telah dikembalikan kepada Anda.',
  statusChecking: 'Menunggu pembayaran. Halaman ini diperbarui otomatis.',
  sandboxHeading: 'Mode sandbox',
  sandboxNote: 'Hanya untuk pengujian: tombol ini menjalankan simulator penyedia, bukan uang sungguhan.',
  simulatePay: 'Simulasikan pembayaran',
  simulateExpire: 'Simulasikan kedaluwarsa',
  simulateFailed: 'Simulator tidak dapat dijalankan.',
  language: 'Bahasa',
  otherLanguage: 'English',
  poweredBy: 'Diproses oleh Kasir',
  notFoundTitle: 'Tautan tidak ditemukan',
  notFoundBody: 'Tautan pembayaran ini tidak valid. Periksa kembali tautan dari toko.',
  linkExpiredTitle: 'Tautan kedaluwarsa',
  linkExpiredBody: 'Tautan pembayaran ini sudah tidak berlaku. Hubungi toko bila Anda masih ingin membayar.',
  unavailableTitle: 'Sedang tidak tersedia',
  unavailableBody: 'Kami tidak dapat memuat pembayaran ini saat ini. Coba lagi sebentar lagi.',
};

const EN: Messages = {
  title: 'Payment',
  payTo: (merchant) => `Pay ${merchant}`,
  amountLabel: 'Amount due',
  methodLabel: 'Method',
  methodName: (method) => methodNameIn('en', method),
  payWithin: 'Complete your payment within',
  payBefore: (when) => `Pay before ${when} WIB`,
  preparing: 'Preparing your payment…',
  vaHeading: (bank) => `Transfer to a ${bank} virtual account`,
  vaLabel: 'Virtual account number',
  vaSteps: (bank) => [
    `Open ${bank} mobile banking, internet banking or an ATM.`,
    'Choose transfer to virtual account and enter the number above.',
    'Check that the payee and amount match, then confirm.',
  ],
  codeHeading: 'Pay with a payment code',
  codeLabel: 'Payment code',
  codeWhere: (outlet) =>
    outlet
      ? `Go to any ${outlet} cashier, say you want to pay a bill, and show this code.`
      : 'Enter this code at a channel that accepts Finpay payment codes, such as the Finpay payment menu in mobile banking or at an ATM, or at a Finpay partner outlet.',
  copy: 'Copy',
  copyLabel: (what) => `Copy ${what.toLowerCase()}`,
  copied: 'Copied',
  copyFailed: 'Could not copy; please copy it by hand.',
  qrHeading: 'Scan the QRIS code',
  qrAlt: (merchant, amount) => `QRIS QR code to pay ${amount} to ${merchant}`,
  qrSteps: [
    'Open any banking or e-wallet app that supports QRIS.',
    'Scan this QR code, then check the merchant name and amount.',
    'Confirm the payment in your app.',
  ],
  qrOpen: 'Open the QR code',
  walletHeading: (wallet) => `Pay with ${wallet}`,
  walletButton: (wallet) => `Open ${wallet} to pay`,
  walletPush: (wallet) => `Open the ${wallet} app and approve the payment notification sent to you.`,
  walletNoLink: (wallet) => `Complete the payment in your ${wallet} app.`,
  paidTitle: 'Payment successful',
  paidBody: (merchant) => `Thank you. ${merchant} has received your payment.`,
  returning: (merchant) => `Taking you back to ${merchant}…`,
  returnNow: 'Go back now',
  expiredTitle: 'Payment time is up',
  expiredBody: 'This payment has expired. Do not pay it any more; place a new order if you still need to.',
  cancelledTitle: 'Payment cancelled',
  cancelledBody: 'This payment was cancelled. Do not pay it any more.',
  failedTitle: 'Payment failed',
  failedBody: 'This payment could not be processed. Please try again from the shop.',
  mismatchTitle: 'Amount paid does not match',
  mismatchBody: (merchant) => `We received a payment of a different amount than was due. ${merchant} will contact you.`,
  refundedTitle: 'Payment refunded',
  refundedBody: 'This payment has been refunded to you.',
  statusChecking: 'Waiting for your payment. This page updates by itself.',
  sandboxHeading: 'Sandbox mode',
  sandboxNote: "For testing only: these buttons drive the provider's simulator, not real money.",
  simulatePay: 'Simulate payment',
  simulateExpire: 'Simulate expiry',
  simulateFailed: 'The simulator could not be reached.',
  language: 'Language',
  otherLanguage: 'Bahasa Indonesia',
  poweredBy: 'Processed by Kasir',
  notFoundTitle: 'Link not found',
  notFoundBody: 'This payment link is not valid. Check the link the shop gave you.',
  linkExpiredTitle: 'Link expired',
  linkExpiredBody: 'This payment link no longer works. Contact the shop if you still want to pay.',
  unavailableTitle: 'Temporarily unavailable',
  unavailableBody: 'We cannot load this payment right now. Please try again in a moment.',
};

export function messagesFor(lang: Language): Messages {
  return lang === 'en' ? EN : ID;
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
