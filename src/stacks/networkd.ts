import type { StackModule } from './stack.js';

/** systemd-networkd: a drop-in beside the `.network` file that already manages the link.
 * Never a second `.network`: only the first matching one applies. */
export const networkd: StackModule = {
  name: 'networkd',
  mode: 0o644,
  template: 'networkd.hbs',
  required: ['interface', 'networkdFile'],
  path: (s) => `/etc/systemd/network/${s.networkdFile}.d/60-routegen-pod-routes.conf`,
  hiddenName: (base, tag) => `.${base}.${tag}`,
};
