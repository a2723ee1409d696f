/**
 * How much routegen reads from a host. No network configuration file comes near 1 MiB (routegen's
 * own are a few KiB even for hundreds of nodes), and no command routegen runs prints 8 MiB
 * (`ip -j route` with 60,000 routes does): past these, the host is misbehaving, and reading on
 * would only fill memory.
 */
import type { SFTPWrapper } from 'ssh2';

/** The largest file read from a host over SFTP (or `sudo cat`). */
export const MAX_REMOTE_FILE_BYTES = 1024 * 1024;
/** The most stdout, and the most stderr, kept from one remote command. */
export const MAX_COMMAND_OUTPUT_BYTES = 8 * 1024 * 1024;

/** `1 MiB`, `8 MiB`. */
export function mib(bytes: number): string {
  return `${bytes / (1024 * 1024)} MiB`;
}

/** A file larger than the limit: its first `max` bytes were read, no more. */
export class TooLargeError extends Error {
  override name = 'TooLargeError';
}

/** Reads at most `max` bytes of a remote file (one more to tell that it is larger). */
export function readCapped(sftp: SFTPWrapper, path: string, max: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const stream = sftp.createReadStream(path, { start: 0, end: max }); // `end` is inclusive
    stream.on('data', (d: Buffer) => {
      chunks.push(d);
      size += d.length;
    });
    stream.on('error', reject);
    stream.on('end', () => (size > max ? reject(new TooLargeError(`larger than ${mib(max)}`)) : resolve(Buffer.concat(chunks))));
  });
}
