// `safeckpt abort-uploads <s3://bucket/prefix> [--older-than-hours H] [--json]`
import type { Command } from './commands.js';
import { parseArgs } from './args.js';
import { UsageError } from './usage.js';
import { S3Store, parseS3Url } from '../store/s3.js';

export const abortUploads: Command = {
  usage: 'abort-uploads <s3://bucket/prefix> [--older-than-hours H] [--json]',
  summary: 'abort the multipart uploads a killed writer left under an S3 prefix',
  help: `
A writer killed in the middle of a multipart upload cannot abort it: its parts stay in the bucket, billed but in
no listing. This lists the uploads under the prefix that were never completed nor aborted and aborts them.
Endpoint, region and credentials come from AWS_ENDPOINT_URL, AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY
(and AWS_SESSION_TOKEN).

  <s3://bucket/prefix>     where to look (the bucket's root: s3://bucket)
  --older-than-hours H     only uploads started more than H hours ago (default 0: all; an upload still running
                           elsewhere would fail — give H when writers may be running)
  --json                   print the result (or the error) as one JSON object on the last line

Exit codes: 0 done, 1 failed (code + message), 2 usage.`,
  async run(args) {
    const p = parseArgs(args, { flags: ['--json'], options: ['--older-than-hours'] });
    if (p.positionals.length !== 1 || !/^s3:\/\//i.test(p.positionals[0])) throw new UsageError('expected one s3://bucket/prefix');
    const hours = Number(p.options.get('--older-than-hours') ?? 0);
    if (!(hours >= 0)) throw new UsageError('--older-than-hours takes a number of hours ≥ 0');
    const { bucket, key } = parseS3Url(p.positionals[0]);
    const store = new S3Store({ bucket, prefix: key });
    const aborted = await store.abortUploads({ olderThanMs: hours * 3_600_000 });
    if (p.flags.has('--json')) console.log(JSON.stringify({ ok: true, aborted }));
    else console.log(aborted.length ? aborted.map((u) => `aborted ${store.describe(u.key)} (upload ${u.uploadId})`).join('\n') : 'no unfinished uploads');
    return 0;
  },
};
