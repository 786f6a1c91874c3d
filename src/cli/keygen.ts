// `safeckpt keygen <name> [--json]`: a fresh Ed25519 key pair for `sign --private-key` / `verify --public-key`.
import type { Command } from './commands.js';
import { parseArgs } from './args.js';
import { UsageError } from './usage.js';
import { IoError } from '../errors.js';
import { generateSigningKey } from '../format/signature.js';

export const keygen: Command = {
  usage: 'keygen <name> [--json]',
  summary: 'make an Ed25519 key pair (NAME.key, NAME.pub) for signing and verifying',
  help: `
Writes NAME.key (the private key, PKCS#8 PEM, readable by you alone) and NAME.pub (the public key, SPKI PEM),
the same forms \`openssl genpkey -algorithm ed25519\` and \`openssl pkey -pubout\` write (keys made by openssl
work as they are). Prints the key's fingerprint (SHA-256 of the public key's DER), which names its signatures.
Existing files are never overwritten.

  <name>   path prefix of the two files
  --json   print { ok, privateKey, publicKey, keyid } as one JSON object on the last line

Give NAME.pub to whoever verifies (safeckpt verify --public-key NAME.pub); keep NAME.key secret.
Exit codes: 0 written, 1 failed, 2 usage.`,
  async run(args) {
    const p = parseArgs(args, { flags: ['--json'] });
    if (p.positionals.length !== 1) throw new UsageError('expected exactly one name (the files are NAME.key and NAME.pub)');
    const name = p.positionals[0];
    const { writeFile, rm } = await import('node:fs/promises');
    const k = await generateSigningKey();
    const files = { privateKey: `${name}.key`, publicKey: `${name}.pub` };
    try {
      // 'wx': never replace a key; mode 0600: the private key is the owner's alone.
      await writeFile(files.privateKey, k.privateKeyPem, { flag: 'wx', mode: 0o600 });
      try {
        await writeFile(files.publicKey, k.publicKeyPem, { flag: 'wx', mode: 0o644 });
      } catch (e) {
        await rm(files.privateKey, { force: true });
        throw e;
      }
    } catch (e) {
      const exists = (e as NodeJS.ErrnoException)?.code === 'EEXIST';
      throw new IoError(`cannot write ${files.privateKey} / ${files.publicKey}: ${exists ? 'a file of that name exists (keys are never overwritten; choose another name)' : (e as Error)?.message ?? e}`, {
        path: files.privateKey, detail: exists ? 'EXISTS' : 'WRITE', cause: e,
      });
    }
    if (p.flags.has('--json')) console.log(JSON.stringify({ ok: true, ...files, keyid: k.keyid }));
    else console.log(`wrote ${files.privateKey} (private: keep it secret)\nwrote ${files.publicKey} (public: give it to verifiers)\nkeyid ${k.keyid}`);
    return 0;
  },
};
