// Days as the region counts them (Moscow time, UTC+3, no daylight saving) and the windows the
// analytics API takes: a first day and the day after the last, as YYYY-MM-DD.

/** Milliseconds in a day. */
export const DAY = 86_400_000;
const REGION_OFFSET = 3 * 3_600_000;

/** The start of today in the region, as a UTC timestamp of that date's midnight. */
export function regionToday(): number {
  const now = Date.now() + REGION_OFFSET;
  return now - (now % DAY);
}

/** A day (a timestamp of its midnight) as YYYY-MM-DD. */
export function isoDate(day: number): string {
  return new Date(day).toISOString().slice(0, 10);
}

/** The window of `days` days ending with the day `last` (default today): `from`, and `to`
 * the day after the last. */
export function windowEnding(days: number, last = regionToday()): { from: string; to: string } {
  return { from: isoDate(last - (days - 1) * DAY), to: isoDate(last + DAY) };
}
