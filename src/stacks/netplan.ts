import type { StackModule } from './stack.js';

/** netplan: a late-sorting routes-only YAML; netplan concatenates `routes:` across files. */
export const netplan: StackModule = {
  name: 'netplan',
  mode: 0o600,
  template: 'netplan.hbs',
  required: ['interface'],
  path: () => '/etc/netplan/60-routegen-pod-routes.yaml',
  hiddenName: (base, tag) => `.${base}.${tag}`,
};
