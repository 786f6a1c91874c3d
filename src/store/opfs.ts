// The Origin Private File System store (browsers): OPFS folders and files
// under a root folder. Its code (opfs-backend.ts) loads on first use, so a
// page that never touches OPFS never downloads it (bench/size.bench.js).
import { LazyStore } from './lazy.js';
import { describeOpfs } from './keys.js';

/** A store in the origin's private file system (`opfs:` sources), under `root`. */
export class OpfsStore extends LazyStore {
  /** Folder inside the origin's OPFS root that keys are relative to ('' = the root). */
  readonly root: string;

  constructor(root = '') {
    const r = root.replace(/^\/+|\/+$/g, '');
    super('opfs', (key) => describeOpfs(r, key), async () => new (await import('./opfs-backend.js')).OpfsBackend(r));
    this.root = r;
  }
}
