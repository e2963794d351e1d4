/**
 * Sets `key` in a map that may hold at most `maxSize` entries, dropping the oldest (maps iterate in
 * insertion order) to make room, so that caches and counters keyed by what requests send stay bounded.
 */
export function setBounded<K, V>(map: Map<K, V>, key: K, value: V, maxSize: number): void {
  if (map.size >= maxSize && !map.has(key)) {
    const oldest = map.keys().next();
    if (oldest.done !== true) map.delete(oldest.value);
  }
  map.set(key, value);
}
