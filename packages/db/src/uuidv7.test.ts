import { describe, expect, it } from 'vitest';
import { uuidv7, uuidv7Time } from './uuidv7.ts';

const SHAPE = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

// The generator is monotonic per process, so the test that moves the clock runs last.
describe('uuidv7', () => {
  it('has the RFC 9562 version and variant bits and carries its millisecond', () => {
    const before = Date.now();
    const id = uuidv7();
    const after = Date.now();
    expect(id).toMatch(SHAPE);
    expect(uuidv7Time(id)).toBeGreaterThanOrEqual(before);
    expect(uuidv7Time(id)).toBeLessThanOrEqual(after);
  });

  it('sorts in creation order, within one millisecond too, and never repeats', () => {
    const ids = Array.from({ length: 20_000 }, () => uuidv7());
    for (const id of ids) expect(id).toMatch(SHAPE);
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('rejects what is not a UUIDv7', () => {
    expect(() => uuidv7Time('8c1e2f4a-0000-4000-8000-000000000000')).toThrow(TypeError);
  });

  it('stays monotonic when the clock goes backwards', () => {
    const future = Date.now() + 60_000;
    const later = uuidv7(future);
    expect(uuidv7Time(later)).toBe(future);
    const earlier = uuidv7(Date.now());
    expect(earlier > later).toBe(true);
  });
});
