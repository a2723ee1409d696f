/** The systemd-networkd stack module. */
import { BIN_DIRS, type StackModule } from './stack.js';

/** systemd-networkd: a drop-in beside the `.network` file that already manages the link.
 * Never a second `.network`: only the first matching one applies. */
export const networkd: StackModule = {
  name: 'networkd',
  mode: 0o644,
  template: 'networkd.hbs',
  dropInDir: true,
  required: ['interface', 'networkdFile'],
  path: (s) => `/etc/systemd/network/${s.networkdFile}.d/60-routegen-pod-routes.conf`,
  hiddenName: (base, tag) => `.${base}.${tag}`,
  preflight: (s) => [
    { what: 'networkctl', paths: BIN_DIRS.map((d) => `${d}/networkctl`), hint: 'is systemd-networkd installed? If the host uses netplan or ifupdown, set its stack accordingly' },
    {
      // A drop-in for a .network file that does not exist is silently ignored by networkd.
      what: `the networkd file ${s.networkdFile}`,
      paths: ['/etc/systemd/network', '/run/systemd/network', '/usr/lib/systemd/network', '/lib/systemd/network'].map((d) => `${d}/${s.networkdFile}`),
      hint: `routegen adds a drop-in to the .network file that manages ${s.interface}; \`networkctl status ${s.interface}\` on the host names it ("Network File:"): set networkd-file to that name`,
    },
  ],
  routes: (content) =>
    content
      .split(/^\[Route\]\s*$/m)
      .slice(1)
      .map((sec) => {
        const get = (k: string) => new RegExp(`^${k}=(\\S+)\\s*$`, 'm').exec(sec)?.[1];
        const metric = get('Metric');
        return { to: get('Destination') ?? '', via: get('Gateway') ?? '', ...(metric ? { metric: Number(metric) } : {}) };
      }),
};
