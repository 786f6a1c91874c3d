// A blank project with safeckpt installed from its packed tarball, as a user
// would have it (Node only): `npm pack`, the tarball unpacked into
// node_modules/safeckpt, its dependencies linked from this repository's
// node_modules (offline, and the same versions the lock file pins). Shared by
// the packaging tests (package.test.js) and the bundler tests (bundlers.test.js).
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repo = fileURLToPath(new URL('..', import.meta.url));
export const repoModules = join(repo, 'node_modules');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

/** Runs a command; throws with its output unless it exits 0. */
export function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20, ...opts, env: { ...process.env, ...opts.env } });
  if (r.status !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} exited with ${r.status ?? r.signal}\n${r.stdout}\n${r.stderr}`);
  }
  return r;
}

/** `npm pack --dry-run --json`: the files the package ships, sorted. */
export function packedFiles() {
  const r = run(npm, ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: repo });
  return JSON.parse(r.stdout)[0].files.map((f) => f.path).sort();
}

/**
 * A fresh folder with package.json and node_modules/safeckpt unpacked from
 * `npm pack`; `links` are extra packages of this repository's node_modules to
 * link in (bundlers, plugins). Returns { dir, cleanup }.
 */
export function scratchProject(links = []) {
  const dir = mkdtempSync(join(tmpdir(), 'safeckpt-scratch-'));
  const packed = run(npm, ['pack', '--json', '--ignore-scripts', '--pack-destination', dir], { cwd: repo });
  const tarball = join(dir, JSON.parse(packed.stdout)[0].filename);
  const pkgDir = join(dir, 'node_modules', 'safeckpt');
  mkdirSync(pkgDir, { recursive: true });
  run('tar', ['-xzf', tarball, '-C', pkgDir, '--strip-components=1']);
  rmSync(tarball);
  const pkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'));
  for (const name of [...Object.keys(pkg.dependencies ?? {}), ...links]) {
    const target = join(dir, 'node_modules', name);
    mkdirSync(join(target, '..'), { recursive: true });
    if (!existsSync(target)) symlinkSync(join(repoModules, name), target, 'dir');
  }
  run('node', ['-e', `require('fs').writeFileSync('package.json', JSON.stringify({ name: 'scratch', private: true, type: 'module' }))`], { cwd: dir });
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
