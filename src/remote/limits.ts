/**
 * How much routegen reads from a host. No network configuration file comes near 1 MiB (routegen's
 * own are a few KiB even for hundreds of nodes), and no command routegen runs prints 8 MiB
 * (`ip -j route` with 60,000 routes does): past these, the host is misbehaving, and reading on
 * would only fill memory.
 */

/** The largest file read from a host over SFTP (or `sudo cat`). */
export const MAX_REMOTE_FILE_BYTES = 1024 * 1024;
/** The most stdout, and the most stderr, kept from one remote command. */
export const MAX_COMMAND_OUTPUT_BYTES = 8 * 1024 * 1024;

/** `1 MiB`, `8 MiB`. */
export function mib(bytes: number): string {
  return `${bytes / (1024 * 1024)} MiB`;
}
