/**
 * Hex strings from a seed (mulberry32): the same seed gives the same strings, so a run can be replayed,
 * and drawing thousands costs nothing next to `crypto.randomBytes` per string.
 */
export function seededHex(seed: number): (length: number) => string {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
  return (length) => {
    let text = '';
    while (text.length < length) text += next().toString(16).padStart(8, '0');
    return text.slice(0, length);
  };
}
