/**
 * Synthetic `kubectl get nodes -o json` output as a real cluster writes it, and the equivalent
 * machines.txt. A node carries what real ones carry (kubeadm + containerd on a cloud VM): labels,
 * annotations (some holding JSON), managedFields of three managers with kubelet's status field
 * set (keys such as `k:{"type":"Ready"}`), five conditions, allocatable and capacity, nodeInfo,
 * and 25 images with a digest and a tag each. About 21 kB a node with kubectl's 4-space
 * indentation (5,000 nodes: 105 MB), heavier than the file (70 MB for 5,000 nodes).
 *
 * Node i (0-based) is `node-i`: InternalIP 10.0.0.0/16 from 10.0.0.10 on, pod subnet the i-th
 * /24 of 10.128.0.0/9 (so up to 32,768 nodes; no subnet overlaps another or holds a node
 * address), InternalDNS `node-i.kubernetes.local` (routegen's FQDN), Hostname `node-i`, and an
 * ExternalIP that routegen ignores. Everything is deterministic: the same n gives the same bytes.
 */
import { closeSync, openSync, writeSync } from 'node:fs';

export const MAX_NODES = 32768;

export function nodeAddress(i: number): string {
  const a = i + 10;
  return `10.0.${a >> 8}.${a & 255}`;
}

export function nodeSubnet(i: number): string {
  return `10.${128 + (i >> 8)}.${i & 255}.0/24`;
}

/** Deterministic hex of a given length from a seed (not random-looking enough to matter). */
function hex(seed: number, length: number): string {
  let x = (seed * 2654435761) >>> 0 || 1;
  let out = '';
  while (out.length < length) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out += x.toString(16).padStart(8, '0');
  }
  return out.slice(0, length);
}

const uuid = (seed: number) => {
  const h = hex(seed, 32);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
};

const IMAGES = [
  'registry.k8s.io/kube-proxy:v1.32.3',
  'registry.k8s.io/pause:3.10',
  'registry.k8s.io/coredns/coredns:v1.11.3',
  'registry.k8s.io/metrics-server/metrics-server:v0.7.2',
  'docker.io/calico/node:v3.29.1',
  'docker.io/calico/cni:v3.29.1',
  'docker.io/calico/kube-controllers:v3.29.1',
  'quay.io/prometheus/node-exporter:v1.8.2',
  'quay.io/prometheus-operator/prometheus-config-reloader:v0.78.2',
  'docker.io/grafana/promtail:3.3.0',
  'docker.io/fluent/fluent-bit:3.2.2',
  'registry.k8s.io/ingress-nginx/controller:v1.12.0',
  'registry.k8s.io/sig-storage/csi-node-driver-registrar:v2.12.0',
  'registry.k8s.io/sig-storage/livenessprobe:v2.14.0',
  'public.ecr.aws/ebs-csi-driver/aws-ebs-csi-driver:v1.38.1',
  'docker.io/library/nginx:1.27.3',
  'docker.io/library/redis:7.4.1',
  'docker.io/library/postgres:17.2',
  'docker.io/bitnami/kubectl:1.32.0',
  'ghcr.io/external-secrets/external-secrets:v0.12.1',
  'quay.io/jetstack/cert-manager-controller:v1.16.2',
  'quay.io/jetstack/cert-manager-cainjector:v1.16.2',
  'quay.io/jetstack/cert-manager-webhook:v1.16.2',
  'docker.io/istio/proxyv2:1.24.2',
  'docker.io/library/busybox:1.37.0',
];

const CONDITIONS: Array<[string, string, string, string]> = [
  ['MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'],
  ['DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'],
  ['PIDPressure', 'False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'],
  ['Ready', 'True', 'KubeletReady', 'kubelet is posting ready status'],
  ['NetworkUnavailable', 'False', 'CalicoIsUp', 'Calico is running on this node'],
];

const keys = (...names: string[]) => Object.fromEntries(names.map((n) => [n, {}]));

/** One Node object as the API server returns it. */
export function nodeObject(i: number): Record<string, unknown> {
  const name = `node-${i}`;
  const ip = nodeAddress(i);
  const subnet = nodeSubnet(i);
  const zone = `us-east-1${'abc'[i % 3]}`;
  const t0 = `2025-05-12T09:${String(10 + (i % 40)).padStart(2, '0')}:${String(i % 60).padStart(2, '0')}Z`;
  const beat = '2025-05-13T14:02:51Z';
  const instance = `i-0${hex(i + 1, 16)}`;
  const labels = {
    'beta.kubernetes.io/arch': 'amd64',
    'beta.kubernetes.io/instance-type': 'm6i.xlarge',
    'beta.kubernetes.io/os': 'linux',
    'kubernetes.io/arch': 'amd64',
    'kubernetes.io/hostname': name,
    'kubernetes.io/os': 'linux',
    'node.kubernetes.io/instance-type': 'm6i.xlarge',
    'topology.ebs.csi.aws.com/zone': zone,
    'topology.kubernetes.io/region': 'us-east-1',
    'topology.kubernetes.io/zone': zone,
    'workload.example.com/pool': `pool-${i % 8}`,
  };
  const annotations = {
    'csi.volume.kubernetes.io/nodeid': JSON.stringify({ 'ebs.csi.aws.com': instance }),
    'kubeadm.alpha.kubernetes.io/cri-socket': 'unix:///var/run/containerd/containerd.sock',
    'node.alpha.kubernetes.io/ttl': '0',
    'projectcalico.org/IPv4Address': `${ip}/16`,
    'projectcalico.org/IPv4IPIPTunnelAddr': `10.${128 + (i >> 8)}.${i & 255}.1`,
    'volumes.kubernetes.io/controller-managed-attach-detach': 'true',
  };
  const conditionKeys = Object.fromEntries(
    CONDITIONS.slice(0, 4).map(([type]) => [`k:{"type":"${type}"}`, { '.': {}, ...keys('f:lastHeartbeatTime', 'f:lastTransitionTime', 'f:message', 'f:reason', 'f:status', 'f:type') }]),
  );
  const managedFields = [
    {
      apiVersion: 'v1',
      fieldsType: 'FieldsV1',
      fieldsV1: {
        'f:metadata': { 'f:annotations': { '.': {}, ...keys('f:kubeadm.alpha.kubernetes.io/cri-socket', 'f:volumes.kubernetes.io/controller-managed-attach-detach') }, 'f:labels': { '.': {}, ...keys(...Object.keys(labels).slice(0, 8).map((k) => `f:${k}`)) } },
      },
      manager: 'kubelet',
      operation: 'Update',
      time: t0,
    },
    {
      apiVersion: 'v1',
      fieldsType: 'FieldsV1',
      fieldsV1: { 'f:metadata': { 'f:annotations': keys('f:node.alpha.kubernetes.io/ttl') }, 'f:spec': { 'f:podCIDR': {}, 'f:podCIDRs': { '.': {}, [`v:"${subnet}"`]: {} } } },
      manager: 'kube-controller-manager',
      operation: 'Update',
      time: t0,
    },
    {
      apiVersion: 'v1',
      fieldsType: 'FieldsV1',
      fieldsV1: {
        'f:status': {
          'f:allocatable': keys('f:cpu', 'f:ephemeral-storage', 'f:memory', 'f:pods'),
          'f:capacity': keys('f:cpu', 'f:ephemeral-storage', 'f:memory', 'f:pods'),
          'f:conditions': conditionKeys,
          'f:images': {},
          'f:nodeInfo': keys('f:bootID', 'f:containerRuntimeVersion', 'f:kernelVersion', 'f:kubeProxyVersion', 'f:kubeletVersion', 'f:osImage'),
        },
      },
      manager: 'kubelet',
      operation: 'Update',
      subresource: 'status',
      time: beat,
    },
  ];
  const resources = (memory: string, storage: string) => ({ cpu: '4', 'ephemeral-storage': storage, 'hugepages-1Gi': '0', 'hugepages-2Mi': '0', memory, pods: '110' });
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      annotations,
      creationTimestamp: t0,
      labels,
      managedFields,
      name,
      resourceVersion: String(1_000_000 + i * 37),
      uid: uuid(i),
    },
    spec: { podCIDR: subnet, podCIDRs: [subnet], providerID: `aws:///${zone}/${instance}` },
    status: {
      addresses: [
        { address: ip, type: 'InternalIP' },
        { address: `100.${64 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`, type: 'ExternalIP' },
        { address: `${name}.kubernetes.local`, type: 'InternalDNS' },
        { address: name, type: 'Hostname' },
      ],
      allocatable: resources('15574392Ki', '95491281146'),
      capacity: resources('15676792Ki', '103609608Ki'),
      conditions: CONDITIONS.map(([type, status, reason, message]) => ({ lastHeartbeatTime: beat, lastTransitionTime: t0, message, reason, status, type })),
      daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
      images: IMAGES.map((ref, k) => {
        const repo = ref.slice(0, ref.lastIndexOf(':'));
        return { names: [`${repo}@sha256:${hex(k * 7919 + 1, 64)}`, ref], sizeBytes: 1_000_000 + ((k * 104729) % 90_000_000) };
      }),
      nodeInfo: {
        architecture: 'amd64',
        bootID: uuid(i + 1_000_000),
        containerRuntimeVersion: 'containerd://1.7.24',
        kernelVersion: '6.1.0-28-cloud-amd64',
        kubeProxyVersion: 'v1.32.3',
        kubeletVersion: 'v1.32.3',
        machineID: hex(i + 2_000_000, 32),
        operatingSystem: 'linux',
        osImage: 'Debian GNU/Linux 12 (bookworm)',
        systemUUID: uuid(i + 3_000_000),
      },
    },
  };
}

/**
 * Writes `kubectl get nodes -o json` of `n` nodes to `path`, byte for byte as kubectl prints a
 * List (4-space indentation, keys in the API's order), one node at a time. Returns the size.
 */
export function writeNodesJson(path: string, n: number): number {
  if (!Number.isInteger(n) || n < 1 || n > MAX_NODES) throw new Error(`nodes must be 1 to ${MAX_NODES}, not ${n}`);
  const fd = openSync(path, 'w');
  let bytes = 0;
  const put = (s: string) => {
    bytes += writeSync(fd, s);
  };
  try {
    put('{\n    "apiVersion": "v1",\n    "items": [\n');
    for (let i = 0; i < n; i++) {
      const body = JSON.stringify(nodeObject(i), null, 4).replace(/\n/g, '\n        ');
      put(`        ${body}${i < n - 1 ? ',' : ''}\n`);
    }
    put('    ],\n    "kind": "List",\n    "metadata": {\n        "resourceVersion": ""\n    }\n}\n');
  } finally {
    closeSync(fd);
  }
  return bytes;
}

/** The same cluster as machines.txt: `IP FQDN HOSTNAME POD_SUBNET`, node by node. */
export function nodesMachinesTxt(n: number): string {
  const lines: string[] = [];
  for (let i = 0; i < n; i++) lines.push(`${nodeAddress(i)} node-${i}.kubernetes.local node-${i} ${nodeSubnet(i)}`);
  return `${lines.join('\n')}\n`;
}
