/** How long ago each peer was last heard from, for the detail view. */
export function contactAges(lastContact: ReadonlyMap<string, number>, now: number): Record<string, number> {
  return Object.fromEntries([...lastContact].map(([peer, at]) => [peer, Math.max(0, now - at)]));
}
