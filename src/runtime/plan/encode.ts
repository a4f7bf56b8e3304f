// Wire format of a launch plan, read by native/stage/plan.c:
// u32 total length, then records of u32 field count and, per field, u32 length + bytes.
// Little endian. A record is a keyword followed by string (or binary) fields.

export type Field = string | number | bigint | Buffer;
export type PlanRecord = Field[];

function fieldBytes(f: Field): Buffer {
  if (Buffer.isBuffer(f)) return f;
  return Buffer.from(typeof f === 'string' ? f : f.toString(), 'utf8');
}

export function encodePlan(records: PlanRecord[]): Buffer {
  const parts: Buffer[] = [];
  let total = 0;
  const u32 = (n: number) => {
    const b = Buffer.allocUnsafe(4);
    b.writeUInt32LE(n, 0);
    parts.push(b);
    total += 4;
  };
  for (const rec of records) {
    if (rec.length === 0) throw new Error('launch plan: a record needs at least its keyword');
    u32(rec.length);
    for (const f of rec) {
      const b = fieldBytes(f);
      u32(b.length);
      parts.push(b);
      total += b.length;
    }
  }
  if (total > 64 << 20) throw new Error(`launch plan too large (${total} bytes; the stage reads at most 64 MiB)`);
  const head = Buffer.allocUnsafe(4);
  head.writeUInt32LE(total, 0);
  return Buffer.concat([head, ...parts], total + 4);
}

/** Inverse of encodePlan, for tests and debugging (`BERTH_DEBUG_PLAN`). */
export function decodePlan(buf: Buffer): string[][] {
  const total = buf.readUInt32LE(0);
  const out: string[][] = [];
  let off = 4;
  while (off < total + 4) {
    const n = buf.readUInt32LE(off);
    off += 4;
    const rec: string[] = [];
    for (let i = 0; i < n; i++) {
      const len = buf.readUInt32LE(off);
      off += 4;
      rec.push(buf.subarray(off, off + len).toString('utf8'));
      off += len;
    }
    out.push(rec);
  }
  return out;
}
