/**
 * Jakarta time (WIB). Indonesian providers write instants as Jakarta wall-clock time, some with a literal
 * offset (SNAP's `2024-08-22T14:15:00+07:00`), some without (Finpay's `2024-08-22 14:15:00`, BDPay's
 * `20240822141500`). WIB is UTC+7 all year, with no daylight saving, so the conversion is a fixed
 * offset; it is written here once, and every connector and simulator goes through these functions.
 */

/** WIB's offset from UTC as providers write it. */
export const JAKARTA_UTC_OFFSET = '+07:00';

const JAKARTA_OFFSET_MS = 7 * 60 * 60 * 1000;
const WALL_CLOCK_PATTERN = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/;

/** `yyyy-MM-ddTHH:mm:ss`: Jakarta's wall-clock time at `instant`, without a zone, whatever the host's zone. */
export function toJakartaWallClock(instant: Date): string {
  return new Date(instant.getTime() + JAKARTA_OFFSET_MS).toISOString().slice(0, 19);
}

/**
 * The instant at which Jakarta's clock reads `wallClock` (`yyyy-MM-ddTHH:mm:ss`); `undefined` when it is
 * not in that form or names an impossible time (`2022-02-30T10:00:00`).
 */
export function fromJakartaWallClock(wallClock: string): Date | undefined {
  if (!WALL_CLOCK_PATTERN.test(wallClock)) return undefined;
  const instant = new Date(`${wallClock}Z`);
  if (Number.isNaN(instant.getTime())) return undefined;
  const shifted = new Date(instant.getTime() - JAKARTA_OFFSET_MS);
  // Date parsing rolls impossible days over (Feb 30 becomes Mar 2); reading the result back catches that.
  return toJakartaWallClock(shifted) === wallClock ? shifted : undefined;
}

/** The Jakarta calendar day of an instant, `yyyy-MM-dd`. */
export function jakartaDay(instant: Date): string {
  return toJakartaWallClock(instant).slice(0, 10);
}
