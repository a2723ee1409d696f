/** The NetworkManager stack module (routes merged into the connection's keyfile, see nmKeyfile.ts). */
import { keyfileRoutes, KEYFILE_MODE } from './nmKeyfile.js';
import { BIN_DIRS, plainName, type StackModule } from './stack.js';

/** Where routegen edits NetworkManager connections: keyfiles only (not ifcfg-rh, not /run). */
export const NM_KEYFILE_DIR = '/etc/NetworkManager/system-connections/';

/**
 * NetworkManager: one active connection per device, so routegen owns no file of its own. It
 * edits the keyfile of the connection that owns the interface, and owns exactly the routes in
 * it whose destination lies inside the cluster's pod subnets (src/stacks/nmKeyfile.ts); every
 * other line of the connection is kept. Applied with `nmcli connection load` + `device reapply`.
 * The connection is known by its UUID (src/push/nmConnection.ts): the keyfile's name may hold
 * spaces, quotes or any other character, so it only travels over SFTP, never as an argument.
 */
export const networkmanager: StackModule = {
  name: 'networkmanager',
  mode: KEYFILE_MODE,
  template: '',
  merges: true,
  required: ['interface'],
  path: (s) => s.connectionFile ?? '',
  hostTarget: (s) => s.nmConnection ?? '',
  // NM ignores hidden files; the name is sent to the host script, so it must be a plain one.
  hiddenName: (base, tag) => `.${plainName(base)}.${tag}`,
  preflight: (s) => [
    { what: 'nmcli', paths: BIN_DIRS.map((d) => `${d}/nmcli`), hint: 'is NetworkManager installed? If the host uses another stack, set it accordingly' },
    { what: `the connection keyfile ${s.connectionFile}`, paths: [s.connectionFile ?? ''], hint: `\`nmcli -f DEVICE,UUID,FILENAME connection show --active\` names the keyfile of ${s.interface}'s connection` },
  ],
  routes: (content) =>
    keyfileRoutes(content)
      .filter((r) => r.via !== '')
      .map((r) => ({ to: r.to, via: r.via, ...(r.metric === undefined ? {} : { metric: r.metric }) })),
};
