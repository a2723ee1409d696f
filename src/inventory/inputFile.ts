/**
 * An inventory file as routegen reads it: a large regular file (a cluster's `kubectl get nodes
 * -o json`, 100+ MB) is not read whole up front. Its head tells its format; a valid nodes.json is
 * read through a window of ~1 MiB (byteWindow.ts, jsonSlices.ts); the whole file is read (once)
 * only when something needs its text: machines.txt, a message that shows a position, or a
 * document the fast reader leaves to the full one. A small file, or one that is not a regular
 * file (a pipe: `-i <(kubectl get nodes -o json)`), is read whole at once, as bytes.
 */
import { closeSync, fstatSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { UserError } from '../errors.js';
import { ByteWindow, WINDOW_BYTES } from './byteWindow.js';

/** An inventory: its text, its bytes, or a large file not read yet. */
export type InventoryInput = string | Buffer | InputFile;

export class InputFile {
  private whole: Buffer | undefined;

  constructor(
    readonly path: string,
    /** Size and modification time when opened: the file must not change while it is read. */
    readonly size: number,
    private readonly mtimeMs: number,
  ) {}

  /** The first `n` bytes (fewer if the file is shorter). */
  head(n: number): Buffer {
    if (this.whole) return this.whole.subarray(0, n);
    return this.withFd((fd) => {
      const buf = Buffer.allocUnsafe(Math.min(n, this.size));
      let got = 0;
      for (let k; got < buf.length && (k = readSync(fd, buf, got, buf.length - got, got)) > 0; ) got += k;
      return buf.subarray(0, got);
    });
  }

  /** `read` given a window over the file from its start (the whole file, once it was read). */
  scan<T>(read: (w: ByteWindow) => T): T {
    if (this.whole) return read(new ByteWindow(this.whole));
    return this.withFd((fd) => read(new ByteWindow((t, at, length, position) => readSync(fd, t, at, length, position), WINDOW_BYTES)));
  }

  /** All of the file's bytes, read the first time they are asked for. */
  bytes(): Buffer {
    if (this.whole) return this.whole;
    let bytes: Buffer | undefined;
    try {
      const st = statSync(this.path);
      if (st.size === this.size && st.mtimeMs === this.mtimeMs) bytes = readFileSync(this.path);
    } catch {
      // gone or unreadable since it was opened: said below
    }
    if (bytes?.length !== this.size) throw new UserError(`${this.path} changed while routegen was reading it`, { hint: 'save the output to a file that nothing writes to, then run routegen again' });
    return (this.whole = bytes);
  }

  private withFd<T>(f: (fd: number) => T): T {
    const fd = openSync(this.path, 'r');
    try {
      return f(fd);
    } finally {
      closeSync(fd);
    }
  }
}

/** An inventory file: an InputFile when it is a regular file larger than the window, else its
 * bytes. Throws what fs throws when it cannot be opened or read. */
export function openInventoryFile(path: string): Buffer | InputFile {
  const fd = openSync(path, 'r');
  try {
    const st = fstatSync(fd);
    if (st.isFile() && st.size > WINDOW_BYTES) return new InputFile(path, st.size, st.mtimeMs);
    return readFileSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** The input's bytes (a text's, in UTF-8). */
export function inputBytes(input: InventoryInput): Buffer {
  return typeof input === 'string' ? Buffer.from(input, 'utf8') : input instanceof InputFile ? input.bytes() : input;
}

/** The input's text. */
export function inputText(input: InventoryInput): string {
  return typeof input === 'string' ? input : inputBytes(input).toString('utf8');
}
