/**
 * The part of ssh2-sftp-client 10 that routegen uses (10.x ships no types; @types/ssh2-sftp-client
 * stops at 9.x). Its errors carry the SFTP status (2, 3, 4) or its own string in `code`.
 */
declare module 'ssh2-sftp-client' {
  import type { Client, ReadStreamOptions, SFTPWrapper } from 'ssh2';

  interface FileInfo {
    type: string;
    name: string;
  }

  class SftpClient {
    constructor(clientName?: string);
    client: Client;
    sftp: SFTPWrapper | undefined;
    getSftpChannel(): Promise<SFTPWrapper>;
    /** With no destination: the bytes (an empty array, not a Buffer, for an empty file). */
    get(path: string, dst: undefined, options: { readStreamOptions: ReadStreamOptions }): Promise<Buffer | []>;
    realPath(path: string): Promise<string>;
    list(path: string): Promise<FileInfo[]>;
    delete(path: string, notFoundOK: boolean): Promise<string>;
    posixRename(from: string, to: string): Promise<string>;
    chmod(path: string, mode: number): Promise<string>;
  }

  export = SftpClient;
}
