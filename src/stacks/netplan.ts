/** The netplan stack module. */
import { BIN_DIRS, type StackModule } from './stack.js';

/** netplan: a late-sorting routes-only YAML; netplan concatenates `routes:` across files. */
export const netplan: StackModule = {
  name: 'netplan',
  mode: 0o600,
  template: 'netplan.hbs',
  required: ['interface'],
  path: () => '/etc/netplan/60-routegen-pod-routes.yaml',
  hiddenName: (base, tag) => `.${base}.${tag}`,
  preflight: () => [
    { what: 'netplan', paths: BIN_DIRS.map((d) => `${d}/netplan`), hint: 'is netplan.io installed? If the host uses systemd-networkd or ifupdown directly, set its stack accordingly' },
    { what: 'the directory /etc/netplan', paths: ['/etc/netplan'], hint: 'netplan reads its configuration from /etc/netplan' },
  ],
  routes: (content) =>
    content
      .split(/^\s*- (?=to: )/m)
      .slice(1)
      .map((item) => {
        const get = (k: string) => new RegExp(`^\\s*${k}: (\\S+)\\s*$`, 'm').exec(item.replace(/^/, '  '))?.[1];
        const metric = get('metric');
        return { to: get('to') ?? '', via: get('via') ?? '', ...(metric ? { metric: Number(metric) } : {}) };
      }),
};
