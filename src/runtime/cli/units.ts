// Sizes as Docker and runc take them: "512m", "1g", "1024", "-1" (unlimited).
import { RuntimeError } from '../errors';

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 };

export function parseBytes(flag: string, raw: string): number {
  if (raw.trim() === '-1') return -1;
  const m = raw.trim().toLowerCase().match(/^(\d+(?:\.\d+)?)\s*([kmgtp]?)(?:i?b)?$/);
  if (!m) throw new RuntimeError(`${flag}: invalid size ${JSON.stringify(raw)} (use bytes or a number with k, m, g, t: e.g. 512m)`);
  return Math.floor(Number(m[1]) * UNITS[m[2]]);
}

export function parseInteger(flag: string, raw: string): number {
  if (!/^-?\d+$/.test(raw.trim())) throw new RuntimeError(`${flag}: ${JSON.stringify(raw)} is not an integer`);
  return Number(raw.trim());
}
