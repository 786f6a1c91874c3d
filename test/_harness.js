// Runs uvu suites from a list of test modules and counts tests, the same way
// in Node, Deno and a browser page. uvu's own exec() only prints; this keeps
// its queue but reports numbers the driver (test/run.js) can read.
globalThis.UVU_DEFER = 1;
globalThis.UVU_QUEUE = globalThis.UVU_QUEUE || [];

export const RESULT_TAG = 'SAFECKPT_RESULT';

/**
 * @param {Array<[string, () => Promise<unknown>]>} modules  name and loader of each test file
 * @param {(line: string) => void} print
 */
export async function runAll(modules, print) {
  let passed = 0, failed = 0, files = 0;
  const started = Date.now();
  for (const [name, load] of modules) {
    globalThis.UVU_INDEX = globalThis.UVU_QUEUE.length;
    globalThis.UVU_QUEUE.push([name]);
    try {
      await load();
      files++;
    } catch (e) {
      failed++;
      print(`FAIL ${name}: the test file did not load: ${e && e.stack || e}`);
      continue;
    }
  }
  for (const group of globalThis.UVU_QUEUE) {
    const name = group.shift();
    for (const suite of group) {
      const [errs, ran, , total] = await suite();
      passed += ran;
      failed += total - ran;
      if (errs !== true) print(`FAIL in ${name}:\n${stripAnsi(String(errs))}`);
    }
  }
  globalThis.UVU_QUEUE.length = 0;
  const result = { passed, failed, files, ms: Date.now() - started };
  print(`${RESULT_TAG} ${JSON.stringify(result)}`);
  return result;
}

function stripAnsi(s) {
  return s.replace(/\u001b\[[0-9;]*m/g, '');
}
