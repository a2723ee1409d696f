/** The ifupdown stack module. */
import { BIN_DIRS, type StackModule } from './stack.js';

/** ifupdown: an `inet manual` stanza in interfaces.d whose `up` lines add the routes at every
 * ifup. The name has no dot, or `source-directory` would skip it. */
export const ifupdown: StackModule = {
  name: 'ifupdown',
  mode: 0o644,
  template: 'ifupdown.hbs',
  required: ['interface'],
  path: () => '/etc/network/interfaces.d/routegen-pod-routes',
  // A dot in the name hides it from source-directory (^[a-zA-Z0-9_-]+$).
  hiddenName: (base, tag) => `.${base}.${tag}`,
  preflight: () => [
    { what: 'ifup', paths: BIN_DIRS.map((d) => `${d}/ifup`), hint: 'is ifupdown installed? If the host uses netplan or systemd-networkd, set its stack accordingly' },
    {
      what: '/etc/network/interfaces',
      paths: ['/etc/network/interfaces'],
      hint: 'ifupdown reads /etc/network/interfaces',
      contains: {
        pattern: /^[ \t]*(source-directory[ \t]+(\/etc\/network\/)?interfaces\.d\/?|source[ \t]+(\/etc\/network\/)?interfaces\.d\/\*)[ \t]*$/m,
        missing: '/etc/network/interfaces does not read interfaces.d: add the line "source-directory /etc/network/interfaces.d" (Debian has "source /etc/network/interfaces.d/*")',
      },
    },
  ],
  routes: (content) =>
    [...content.matchAll(/^\s*up ip route replace (\S+) via (\S+) dev \S+(?: onlink)?(?: metric (\d+))?\s*$/gm)].map((m) => ({
      to: m[1]!,
      via: m[2]!,
      ...(m[3] ? { metric: Number(m[3]) } : {}),
    })),
};
