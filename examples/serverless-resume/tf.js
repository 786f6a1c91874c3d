// TensorFlow.js for the handler in Node, Deno and Bun: the package users install, on its CPU backend.
// The CPU backend, not the faster WASM one, because Workers refuse to compile WebAssembly at run time (the
// WASM backend cannot start there) and the same kernels everywhere are what lets one run move between
// Node and a Worker bit-identically. In a Worker, tf-workerd.js takes this file's place (workerd.js).
import * as tf from '@tensorflow/tfjs';

export * from '@tensorflow/tfjs';

let ready = null;
/** Selects the CPU backend (idempotent); resolves to the namespace. */
export function initTf() {
  ready ??= (async () => {
    if (!(await tf.setBackend('cpu'))) throw new Error('TensorFlow.js: the cpu backend did not initialise');
    await tf.ready();
    return tf;
  })();
  return ready;
}
