import type { StackModule } from './stack.js';

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
};
