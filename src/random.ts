/**
 * Deterministic pseudo-randomness for the simulators: the same id always
 * yields the same numbers, so demo answers and tests are repeatable.
 */

/** FNV-1a: a 32-bit hash of a string. */
function hash (text: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}

/** mulberry32 seeded from `seed`: numbers in [0, 1). */
export function randomFrom (seed: string): () => number {
  let state = hash(seed)
  return () => {
    state = (state + 0x6d2b79f5) | 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** A whole number in [0, max). */
export function intBelow (random: () => number, max: number): number {
  return Math.floor(random() * max)
}

/** A UUID-shaped id derived from `seed`. */
export function uuidFrom (seed: string): string {
  const random = randomFrom(seed)
  const hex = Array.from({ length: 32 }, () => intBelow(random, 16).toString(16)).join('')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20)}`
}
