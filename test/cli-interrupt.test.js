// Ctrl-C during a long CLI command aborts the operation through its AbortSignal: `safeckpt sign` of a 1 GiB
// file, interrupted once it has the file open, ends with exit code 130 and IO/INTERRUPTED, and leaves no
// sidecar and no temporary file. Node only (it sends SIGINT to a child and watches its open files in /proc).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { runtime, tempDir } from './_env.js';

const C = suite('CLI: Ctrl-C stops a long command cleanly');
if (runtime === 'node' && process.platform === 'linux') {
  C('safeckpt sign interrupted mid-way: exit 130, IO INTERRUPTED, no sidecar, no temporary file', async () => {
    const fs = await import('node:fs/promises');
    const path = await import('node:path');
    const { spawn } = await import('node:child_process');
    const { fileURLToPath } = await import('node:url');
    const dir = await tempDir('safeckpt-interrupt-');
    try {
      // A 1 GiB safetensors file, sparse (made at once; hashing it takes seconds).
      const n = 1 << 30;
      const header = new TextEncoder().encode(JSON.stringify({ w: { dtype: 'U8', shape: [n], data_offsets: [0, n] } }));
      const prefix = new Uint8Array(8);
      new DataView(prefix.buffer).setUint32(0, header.length, true);
      const file = path.join(dir, 'big.safetensors');
      const fh = await fs.open(file, 'w');
      await fh.write(prefix);
      await fh.write(header);
      await fh.truncate(8 + header.length + n);
      await fh.close();
      const cli = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
      const child = spawn(process.execPath, [cli, 'sign', file, '--key-env', 'K', '--json'], { env: { ...process.env, K: 'secret' } });
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      const exited = new Promise((ok) => child.on('exit', (code, signal) => ok({ code, signal })));
      // Interrupt once the child has the file open (it is hashing it), not before the handler exists.
      const opened = async () => {
        for (const fd of await fs.readdir(`/proc/${child.pid}/fd`).catch(() => [])) {
          if ((await fs.readlink(`/proc/${child.pid}/fd/${fd}`).catch(() => '')) === file) return true;
        }
        return false;
      };
      const deadline = Date.now() + 30_000;
      while (!(await opened())) {
        assert.ok(Date.now() < deadline, 'the child never opened the file');
        await new Promise((r) => setTimeout(r, 20));
      }
      child.kill('SIGINT');
      const { code } = await exited;
      assert.is(code, 130, out);
      const err = JSON.parse(out.trim().split('\n').pop());
      assert.equal([err.code, err.detail], ['IO', 'INTERRUPTED']);
      assert.equal((await fs.readdir(dir)).sort(), ['big.safetensors']);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
}
C.run();
