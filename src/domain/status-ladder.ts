/** Status ladders: the order a movement's status only climbs, written as data. Pure, safe to import from workflows. */

/** A ladder's reading: a status's rank, and whether it stands on a final rung. */
export interface StatusLadder<S extends string> {
  rank(status: S): number;
  isFinal(status: S): boolean;
}

/**
 * The ladder of `rungs`, lowest first: every status on one rung shares its rank (the rung's index), so
 * equal ranks never replace each other. Rungs from `finalFrom` up are final. Every one of `statuses`
 * must stand on exactly one rung; a ladder that misses or repeats one fails when its module loads.
 */
export function statusLadder<S extends string>(
  statuses: readonly S[],
  rungs: readonly (readonly S[])[],
  finalFrom: number
): StatusLadder<S> {
  const ranks = new Map<S, number>();
  rungs.forEach((rung, rank) => {
    for (const status of rung) {
      if (ranks.has(status)) throw new Error(`status ${status} stands on two rungs`);
      ranks.set(status, rank);
    }
  });
  const missing = statuses.filter((status) => !ranks.has(status));
  if (missing.length > 0) throw new Error(`statuses without a rung: ${missing.join(', ')}`);
  const rank = (status: S): number => ranks.get(status) ?? 0;
  return { rank, isFinal: (status) => rank(status) >= finalFrom };
}
