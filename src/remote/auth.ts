/**
 * Authentication: which credentials to offer a server, in OpenSSH's order (ssh-agent keys,
 * then identity files), and what to tell the user when none works. Passphrases are never asked.
 */
import { readFile, stat } from 'node:fs/promises';
import ssh2 from 'ssh2';
import type { AnyAuthMethod } from 'ssh2';
import type { SshTarget } from './sshConfig.js';

export interface AuthPlan {
  /** ssh2's authHandler list. */
  methods: AnyAuthMethod[];
  /** The agent socket used, if any. */
  agentSocket: string | undefined;
  tried: string[];
  encrypted: string[];
  unusable: string[];
}

async function isSocket(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isSocket();
  } catch {
    return false;
  }
}

/** The agent socket: the caller's choice, else the target's IdentityAgent, else SSH_AUTH_SOCK. */
export function agentSocketFor(target: SshTarget, override: string | undefined): string | undefined {
  return override ?? target.identityAgent ?? process.env.SSH_AUTH_SOCK;
}

/** Agent first (when its socket exists), then each unencrypted identity file that exists. */
export async function planAuth(target: SshTarget, agentSocket: string | undefined): Promise<AuthPlan> {
  const plan: AuthPlan = { methods: [], agentSocket, tried: [], encrypted: [], unusable: [] };
  const username = target.user;
  if (agentSocket !== undefined && agentSocket !== 'none' && agentSocket !== '' && (await isSocket(agentSocket))) {
    plan.methods.push({ type: 'agent', username, agent: agentSocket });
    plan.tried.push(`ssh-agent (${agentSocket})`);
  }
  for (const file of target.identityFiles) {
    let data: Buffer;
    try {
      data = await readFile(file);
    } catch {
      continue; // OpenSSH silently skips identity files that do not exist
    }
    const parsed = ssh2.utils.parseKey(data);
    if (parsed instanceof Error) {
      if (/encrypted|passphrase/i.test(parsed.message)) plan.encrypted.push(file);
      else plan.unusable.push(`${file} (${parsed.message})`);
      continue;
    }
    const key = Array.isArray(parsed) ? parsed[0] : parsed;
    if (!key || !key.isPrivateKey()) {
      plan.unusable.push(`${file} (not a private key)`);
      continue;
    }
    plan.methods.push({ type: 'publickey', username, key });
    plan.tried.push(file);
  }
  return plan;
}

/** What was tried and why it cannot work, and what to do; for "no credentials" and "rejected". */
export function authProblem(target: SshTarget, plan: AuthPlan): { message: string; hint: string } {
  const { agentSocket } = plan;
  const parts: string[] = [];
  if (plan.tried.length > 0) parts.push(`tried ${plan.tried.join(', ')}`);
  if (plan.encrypted.length > 0) parts.push(`skipped encrypted key${plan.encrypted.length > 1 ? 's' : ''} ${plan.encrypted.join(', ')} (routegen never asks for a passphrase)`);
  if (plan.unusable.length > 0) parts.push(`could not use ${plan.unusable.join(', ')}`);
  if (plan.tried.length === 0 && plan.encrypted.length === 0 && plan.unusable.length === 0) {
    parts.push(`no identity file found (looked for ${target.identityFiles.join(', ') || 'none'})`);
  }
  const hasAgent = plan.methods.some((m) => m.type === 'agent');
  if (!hasAgent) {
    if (agentSocket === undefined) parts.push('no ssh-agent (SSH_AUTH_SOCK unset)');
    else if (agentSocket === '' || agentSocket === 'none') parts.push('ssh-agent not used');
    else parts.push(`ssh-agent socket ${agentSocket} is not usable`);
  }
  let hint: string;
  if (plan.encrypted.length > 0 && !hasAgent) {
    hint = `start ssh-agent and run \`ssh-add ${plan.encrypted[0]}\`, or use an unencrypted deploy key (IdentityFile in ~/.ssh/config, or ssh: identity-file in routegen.yaml)`;
  } else if (plan.methods.length === 0) {
    hint = 'give routegen a key: IdentityFile in ~/.ssh/config (or -F FILE), ssh: identity-file in routegen.yaml, or a running ssh-agent';
  } else {
    hint = `add one of these public keys to ~${target.user}/.ssh/authorized_keys on ${target.hostname}; \`ssh ${target.alias} true\` should then log in without a prompt`;
  }
  return { message: parts.join('; '), hint };
}
