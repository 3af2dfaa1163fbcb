/** Equality that takes the same time wherever the inputs differ, for secrets and signatures. */
import { timingSafeEqual } from 'node:crypto';

/** Strings compare as UTF-8 bytes. Unequal lengths are unequal (timingSafeEqual would throw). */
export function constantTimeEqual(a: string | Buffer, b: string | Buffer): boolean {
  const left = typeof a === 'string' ? Buffer.from(a, 'utf8') : a;
  const right = typeof b === 'string' ? Buffer.from(b, 'utf8') : b;
  return left.length === right.length && timingSafeEqual(left, right);
}
