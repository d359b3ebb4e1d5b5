// How long to wait before the n-th attempt to reconnect: doubling from
// `first` up to `max`, with up to a fifth of random spread so that many
// browsers cut off by one restart do not come back all at the same instant.
export function backoffDelay(
  attempt: number,
  first = 1000,
  max = 30_000,
  random: () => number = Math.random,
) {
  const base = Math.min(max, first * 2 ** Math.max(0, attempt));
  return Math.round(base * (1 - 0.2 * random()));
}
