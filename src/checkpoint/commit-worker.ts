// The worker off-thread.ts starts for one asynchronous save: it commits the
// captured state it is sent through save.ts's own commit (the same files,
// fsyncs, renames and LATEST), logs into a list sent back with the reply, and
// hands the transferred buffers back. One request per worker; the main thread
// terminates it after the reply.
import { errorToJSON } from '../error-json.js';
import type { Fields, Logger } from '../log/logger.js';
import { workerPort } from '../platform/workers.js';
import { resolveSource } from '../store/resolve.js';
import { adapterOrIdentity } from './adapters/index.js';
import type { CommitRequest, LogCall } from './off-thread.js';
import { commit } from './save.js';

const port = await workerPort();
port.listen((m) => void run(m as CommitRequest));

async function run({ root, c, opts, pooled }: CommitRequest): Promise<void> {
  const records: LogCall[] = [];
  const record = (level: keyof Logger) => (msg: string, fields?: Fields) => void records.push([level, msg, fields]);
  const logger: Logger = { debug: record('debug'), info: record('info'), warn: record('warn'), error: record('error'), critical: record('critical') };
  // Log fields are plain data in this library; a record that is not is sent as JSON.
  const plain = () => JSON.parse(JSON.stringify(records)) as LogCall[];
  try {
    const { store, key } = resolveSource(root);
    const info = await commit({ ...c, store, rootKey: key, adapter: adapterOrIdentity(c.meta.architecture_type) }, { ...opts, logger });
    port.post({ op: 'done', info, records: plain(), pooled }, pooled);
  } catch (e) {
    const error = errorToJSON(e);
    port.post({ op: 'error', error, records: plain(), pooled }, pooled);
  }
}
