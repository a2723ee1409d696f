/** `routegen completion`: the scripts, loaded in a real bash (and zsh where installed). */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, removeDir, ROOT, routegen, tempDir } from './helpers/cli.js';

const GUIDE = join(ROOT, 'fixtures/guide/machines.txt');

/** Loads `routegen completion bash` into a fresh bash, sets COMP_WORDS/COMP_CWORD as bash does
 * for the command line `line` (cursor at its end) and runs the function `complete -p` names. */
function completeInBash(line: string): { words: string[]; registered: string } {
  const dir = tempDir('completion');
  try {
    symlinkSync(BIN, join(dir, 'routegen')); // `routegen` on PATH, as after npm install -g
    const script = [
      'set -u',
      'source <(routegen completion bash)',
      'registered=$(complete -p routegen)',
      'fn=${registered#*-F }; fn=${fn%% *}',
      // bash's own word splitting of the line, with '=' a word of its own (COMP_WORDBREAKS)
      'line=$1; words=(); rest=${line//=/ = }',
      'read -r -a words <<<"$rest"',
      '[[ $line == *" " ]] && words+=("")',
      'COMP_WORDS=("${words[@]}"); COMP_CWORD=$(( ${#words[@]} - 1 )); COMP_LINE=$line; COMP_POINT=${#line}',
      '"$fn" routegen "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"',
      'echo "$registered"',
      'printf "%s\\n" "${COMPREPLY[@]}"',
    ].join('\n');
    const r = spawnSync('bash', ['--norc', '--noprofile', '-c', script, 'bash', line], {
      cwd: ROOT,
      env: { ...process.env, PATH: `${dir}:${process.env.PATH}` },
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.is(r.status, 0, r.error ? String(r.error) : r.stderr);
    assert.is(r.stderr, '');
    const [registered, ...words] = r.stdout.split('\n').filter(Boolean);
    return { registered: registered!, words: words.sort() };
  } finally {
    removeDir(dir);
  }
}

test('bash: the script registers a completion function for routegen', () => {
  assert.match(completeInBash('routegen ').registered, /^complete -F _routegen routegen$/);
});

test('bash: completes a command', () => {
  assert.equal(completeInBash('routegen pu').words, ['push']);
  assert.equal(completeInBash('routegen ').words, ['--help', '--version', 'completion', 'diff', 'discover', 'plan', 'push', 'remove', 'render', 'rollback', 'schema', 'status']);
});

test("bash: completes a command's flags, and only that command's", () => {
  assert.equal(completeInBash('routegen push --dry').words, ['--dry-run']);
  assert.equal(completeInBash('routegen plan --dry').words, []);
  assert.equal(completeInBash('routegen render --o').words, ['--out']);
});

test('bash: completes the choices of a flag, also after =', () => {
  assert.equal(completeInBash('routegen push --stack net').words, ['netplan', 'networkd', 'networkmanager']);
  assert.equal(completeInBash('routegen push --stack=if').words, ['ifupdown']);
});

test("bash: --hosts completes the inventory's host names, after a comma too", () => {
  assert.equal(completeInBash(`routegen push -i ${GUIDE} --hosts `).words, ['node-0', 'node-1', 'server']);
  assert.equal(completeInBash(`routegen status -i ${GUIDE} --hosts server,node-`).words, ['server,node-0', 'server,node-1']);
  // no readable inventory: nothing offered, and nothing printed into the command line
  assert.equal(completeInBash('routegen push -i /nonexistent/machines.txt --hosts ').words, []);
});

test('zsh script: one _arguments arm per command, declared with #compdef', () => {
  const r = routegen(['completion', 'zsh']);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /^#compdef routegen\n/);
  for (const cmd of ['plan', 'render', 'push', 'diff', 'status', 'rollback', 'discover']) assert.match(r.stdout, new RegExp(`\\n    ${cmd}\\) _arguments `));
  assert.match(r.stdout, "'--hosts=[only these hosts (comma-separated hostnames)]:hosts:_routegen_hosts'");
  // loaded after compinit, as the script's header says, it registers _routegen for routegen
  const dir = tempDir('zsh');
  try {
    writeFileSync(join(dir, '_routegen'), r.stdout);
    const zsh = spawnSync('zsh', ['-f', '-c', 'autoload -U compinit && compinit -u -D && source "$1" && print -r -- $_comps[routegen]', 'zsh', join(dir, '_routegen')], { encoding: 'utf8' });
    if (zsh.error && process.env.CI !== 'true') console.log('SKIPPED: zsh not installed, the zsh script was not loaded');
    else {
      assert.is(zsh.status, 0, zsh.error ? String(zsh.error) : zsh.stderr);
      assert.is(zsh.stdout, '_routegen\n');
    }
  } finally {
    removeDir(dir);
  }
});

test('an unknown shell is a usage error', () => {
  const r = routegen(['completion', 'fish']);
  assert.is(r.code, 2);
  assert.match(r.stderr, 'Choices: "bash", "zsh"');
});

test.run();
