// listCheckpoints: the committed checkpoints of a root (src/checkpoint/list.ts). Its own file, so that the
// public entry re-exports it from here: a page that reads and verifies model files, whose checkpoint code
// loads only on use, then ships none of the listing code at start (bench/size.bench.js).
import { resolveSource, type Source } from '../store/resolve.js';
import { listAt } from '../checkpoint/list.js';
import type { CheckpointInfo } from '../checkpoint/save.js';

/** The committed checkpoints of `root` (oldest first), each marked `latest` when LATEST names it. */
export async function listCheckpoints(root: Source): Promise<CheckpointInfo[]> {
  const { store, key } = resolveSource(root);
  return listAt(store, key);
}
