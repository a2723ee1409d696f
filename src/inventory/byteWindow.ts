/**
 * A sliding window over an input's bytes, for a reader that goes forward once (jsonSlices.ts):
 * `buf[0, len)` holds the input's bytes at absolute positions `[off, off + len)`. more() reads on,
 * dropping the bytes before the earliest position the reader still needs; the buffer is reused,
 * and grows only when the bytes kept fill more than half of it (one value kept whole that spans
 * the window). A 105 MB file is read through 1 MiB instead of being held whole: a fresh buffer of
 * the file's size costs its page faults (~0.5 s of system time) and its memory.
 */

/** Reads up to `length` bytes of the input at `position` into `target[at...]`: how many (0: the
 * end), as fs.readSync(fd, target, at, length, position). */
export type ReadAt = (target: Buffer, at: number, length: number, position: number) => number;

export const WINDOW_BYTES = 1 << 20;

export class ByteWindow {
  buf: Buffer;
  off = 0;
  len = 0;
  private source: ReadAt | null;

  /** A window over `source`, of `size` bytes to begin with; or one over bytes held whole. */
  constructor(source: ReadAt | Buffer, size = WINDOW_BYTES) {
    if (Buffer.isBuffer(source)) {
      this.buf = source;
      this.len = source.length;
      this.source = null;
    } else {
      this.buf = Buffer.allocUnsafe(Math.max(1, size));
      this.source = source;
    }
  }

  /** Reads more of the input, keeping the bytes from absolute position `keep` (at most
   * off + len) on; false at the end of the input (nothing more was read). */
  more(keep: number): boolean {
    const source = this.source;
    if (source === null) return false;
    const drop = keep - this.off;
    if (drop > 0) {
      this.buf.copyWithin(0, drop, this.len);
      this.off = keep;
      this.len -= drop;
    }
    if (this.len * 2 > this.buf.length) {
      const bigger = Buffer.allocUnsafe(this.buf.length * 2);
      this.buf.copy(bigger, 0, 0, this.len);
      this.buf = bigger;
    }
    const got = source(this.buf, this.len, this.buf.length - this.len, this.off + this.len);
    if (got <= 0) {
      this.source = null;
      return false;
    }
    this.len += got;
    return true;
  }
}
