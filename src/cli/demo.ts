// `safeckpt demo`: the main job on its embedded default, no arguments needed.
//
// 1. Trains the tiny transformer LM on the bundled text for STEPS steps, in
//    one go: the reference.
// 2. Starts the same training in a child process that checkpoints every
//    EVERY steps into a temporary folder, and kills it (SIGKILL) mid-run.
// 3. Resumes from LATEST in this process (a fresh model and optimizer),
//    trains to STEPS, and draws both loss curves: they coincide bit for bit.
// 4. Verifies the checkpoint, continues as a fine-tuning run under a new
//    name, and prints its lineage.
// TensorFlow.js is a peer dependency, never inside dist/: the demo uses the
// bundle the build makes (build/tf.js) in this repository, and the user's
// @tensorflow/tfjs in an installed package (loadTf).
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from './commands.js';
import { parseArgs } from './args.js';
import { UsageError } from './usage.js';
import { UnsupportedError } from '../errors.js';
import type { Tf } from '../tfjs/tf.js';
import { TinyLM, TINY_LM_DEFAULTS, TrainLoop, CORPUS, charVocab, encode, type TinyLMConfig } from '../demo/index.js';
import { saveCheckpoint, type TrainingState } from '../checkpoint/save.js';
import { resumeTraining } from '../checkpoint/resume.js';
import { loadCheckpoint } from '../checkpoint/load.js';
import { listCheckpoints } from '../sources/list.js';
import { lossChart } from './loss-chart.js';

const STEPS = 30;
const EVERY = 4;
/** The child is killed once it reports this step: past a checkpoint, before the next. */
const KILL_AFTER = 18;
const BATCH = { batchSize: 8, seqLen: 32, seed: 11 };

interface TfBundle extends Tf {
  initTf(): Promise<unknown>;
}

/** What to install when neither TensorFlow.js the demo can use is there. */
export const TFJS_INSTALL = 'npm install @tensorflow/tfjs';

/**
 * TensorFlow.js, a peer dependency: in this repository the bundle the build
 * makes (build/tf.js: tfjs-core + gradients + the WASM backend); in an
 * installed package, the user's `@tensorflow/tfjs` (every gradient, its CPU
 * backend in Node: as deterministic, so the resumed losses match bit for bit).
 */
async function loadTf(): Promise<Tf> {
  const bundle = new URL('../../build/tf.js', import.meta.url);
  if (await exists(bundle)) {
    const tf = (await import(bundle.href)) as TfBundle;
    await tf.initTf();
    return tf;
  }
  let tf: Tf & { ready(): Promise<void> };
  try {
    // A computed name: the package does not depend on TensorFlow.js, the user's project does.
    const name = '@tensorflow/tfjs';
    const m = (await import(name)) as { default?: unknown };
    tf = (m.default ?? m) as typeof tf;
  } catch (e) {
    throw new UnsupportedError(`the demo trains a model with TensorFlow.js, which is not installed here: run \`${TFJS_INSTALL}\` in your project, then \`npx safeckpt demo\` again`, {
      detail: 'NO_TFJS', cause: e,
    });
  }
  await tf.ready();
  return tf;
}

async function exists(url: URL): Promise<boolean> {
  const { access } = await import('node:fs/promises');
  return access(url).then(() => true, () => false);
}

function setup(tf: Tf) {
  const vocab = charVocab(CORPUS);
  const config: TinyLMConfig = { ...TINY_LM_DEFAULTS, vocab_size: vocab.length };
  const model = TinyLM.create(tf, config);
  const optimizer = tf.train.adam(0.01);
  return { vocab, tokens: encode(CORPUS, vocab), model, optimizer };
}

function state(loop: TrainLoop, vocab: string[], loss: number, extra: Partial<TrainingState> = {}): TrainingState {
  return {
    model: loop.model, optimizer: loop.optimizer, step: loop.step, config: { ...BATCH, learningRate: 0.01 }, vocab,
    rng: { dropout_seed: loop.model.config.seed }, dataCursor: loop.sampler.state(), metrics: { loss },
    metadata: { model_name: 'tiny-alice' }, ...extra,
  };
}

/** The child: train from scratch, checkpoint every EVERY steps, report each step; killed by the parent. */
async function child(root: string): Promise<number> {
  const tf = await loadTf();
  const { vocab, tokens, model, optimizer } = setup(tf);
  const loop = new TrainLoop(model, optimizer, { tokens, ...BATCH });
  for (;;) {
    const [loss] = loop.run(1);
    if (loop.step % EVERY === 0) await saveCheckpoint(root, state(loop, vocab, loss), { retention: { keepLast: 3 } });
    process.stdout.write(`STEP ${loop.step} ${loss}\n`);
  }
}

function runChild(root: string): Promise<Map<number, number>> {
  const main = fileURLToPath(new URL('./main.js', import.meta.url));
  return new Promise((ok, fail) => {
    const p = spawn(process.execPath, [main, 'demo', '--child', root], { stdio: ['ignore', 'pipe', 'inherit'] });
    const seen = new Map<number, number>();
    let buf = '';
    p.stdout.on('data', (d) => {
      buf += d;
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const [tag, step, loss] = buf.slice(0, i).split(' ');
        buf = buf.slice(i + 1);
        if (tag !== 'STEP') continue;
        seen.set(Number(step), Number(loss));
        if (Number(step) >= KILL_AFTER) p.kill('SIGKILL');
      }
    });
    p.on('error', fail);
    p.on('close', (_code, signal) => (signal === 'SIGKILL' ? ok(seen) : fail(new Error(`the training child ended without being killed (signal ${signal})`))));
  });
}

export const demo: Command = {
  usage: 'demo',
  summary: 'train the tiny LM, kill it mid-run, resume from LATEST, show it continues exactly',
  help: `
The main job on its embedded default, no arguments: trains a 2-layer transformer LM for 30 steps as a
reference, runs the same training in a child process that checkpoints every 4 steps and is killed with
SIGKILL, resumes from LATEST in a fresh model and optimizer, draws both loss curves (they coincide bit for
bit), verifies the checkpoint and continues as a fine-tuning run, printing its lineage. Needs TensorFlow.js.

Exit codes: 0 every loss bit-identical, 1 not (or a failure), 2 usage.`,
  async run(args) {
    if (args[0] === '--child') return child(args[1]);
    if (parseArgs(args, {}).positionals.length) throw new UsageError('takes no arguments: it runs on its embedded default');
    const t0 = Date.now();
    const tf = await loadTf();
    const root = await mkdtemp(join(tmpdir(), 'safeckpt-demo-'));
    try {
      console.log(`safeckpt demo: a ${TINY_LM_DEFAULTS.n_layers}-layer transformer LM (d_model ${TINY_LM_DEFAULTS.d_model}) on "Alice's Adventures in Wonderland", Adam, TensorFlow.js on WASM (${tf.getBackend()})`);
      console.log(`checkpoints: ${root}\n`);

      // 1. Reference: uninterrupted, in this process.
      const ref = setup(tf);
      const refLoop = new TrainLoop(ref.model, ref.optimizer, { tokens: ref.tokens, ...BATCH });
      const reference = refLoop.run(STEPS);
      ref.model.dispose();
      ref.optimizer.dispose();
      console.log(`1. reference: ${STEPS} steps uninterrupted, loss ${reference[0].toFixed(4)} → ${reference[STEPS - 1].toFixed(4)}`);

      // 2. The same run in a child process, checkpointing every EVERY steps, killed mid-run.
      const before = await runChild(root);
      const reached = Math.max(...before.keys());
      console.log(`2. a training process checkpointing every ${EVERY} steps was killed (SIGKILL) after step ${reached}`);

      // 3. Resume from LATEST into a fresh model and optimizer.
      const res = setup(tf);
      const resumed = await resumeTraining(root, { model: res.model, optimizer: res.optimizer });
      const loop = new TrainLoop(res.model, res.optimizer, { tokens: res.tokens, ...BATCH, cursor: resumed.dataCursor as never, step: resumed.step });
      const after = new Map<number, number>();
      loop.run(STEPS - resumed.step, (step, loss) => after.set(step, loss));
      console.log(`3. resumed from LATEST = ${resumed.name} (steps ${resumed.step + 1}–${reached} are recomputed), trained to step ${STEPS}\n`);
      const beforeShown = new Map([...before].filter(([s]) => s <= resumed.step));
      console.log(lossChart({ reference, before: beforeShown, after, resumedAt: resumed.step }));
      const same = [...before, ...after].filter(([s, l]) => Object.is(Math.fround(l), Math.fround(reference[s - 1]))).length;
      const total = before.size + after.size;
      console.log(`\n   ${same}/${total} losses bit-identical to the reference (float32), killed run and resumed run alike`);
      for (const s of [resumed.step + 1, STEPS]) {
        console.log(`   step ${String(s).padStart(2)}: reference ${reference[s - 1].toFixed(7)}  resumed ${after.get(s)!.toFixed(7)}`);
      }

      // 4. Verify, fine-tune under a new name, lineage.
      const final = await saveCheckpoint(root, state(loop, res.vocab, after.get(STEPS)!));
      const check = await loadCheckpoint(root);
      console.log(`\n4. verified ${check.name}: ${Object.keys(final.files).length} files, every byte against the manifest's SHA-256:`);
      for (const [f, e] of Object.entries(final.files)) console.log(`   ${e.sha256.slice(0, 16)}…  ${String(e.size).padStart(7)}  ${f}`);
      res.model.dispose();
      res.optimizer.dispose();
      const ft = setup(tf);
      const r2 = await resumeTraining(root, { model: ft.model, optimizer: ft.optimizer, newModelName: 'tiny-alice-poetry' });
      const ftLoop = new TrainLoop(ft.model, ft.optimizer, { tokens: ft.tokens, ...BATCH, cursor: r2.dataCursor as never, step: r2.step });
      const [ftLoss] = ftLoop.run(1);
      await saveCheckpoint(root, state(ftLoop, ft.vocab, ftLoss, { metadata: r2.metadata, lineage: r2.lineage }));
      ft.model.dispose();
      ft.optimizer.dispose();
      const latest = (await listCheckpoints(root)).find((c) => c.latest)!;
      console.log(`\n   lineage of ${latest.name} (${latest.model.model_name}, fine-tuned from ${latest.lineage.fine_tuned_from}):`);
      latest.lineage.chain.forEach((l, i) => {
        const from = l.from_checkpoint ? ` from step ${l.from_checkpoint.step}` : '';
        console.log(`   ${'  '.repeat(i)}${i ? '└─ ' : ''}${l.model_name} [${l.architecture_type}, ${l.source}] started ${l.started_at}${from}`);
      });
      console.log(`\ndone in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      return same === total ? 0 : 1;
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  },
};
