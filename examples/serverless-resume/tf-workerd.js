// TensorFlow.js in a Worker: tfjs-core with every gradient and the CPU backend (the WASM backend compiles its
// bytes at run time, which Workers refuse). tfjs knows no platform for workerd (neither a browser nor Node):
// it gets the few calls it makes from the Web APIs Workers have. Same exports as tf.js, which it replaces in
// the Worker's bundle (workerd.js); same CPU kernels, so the same numbers.
export * from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';

let ready = null;
/** Selects the CPU backend (idempotent); resolves to the namespace. */
export function initTf() {
  ready ??= (async () => {
    if (!tf.env().platform) {
      tf.setPlatform('workerd', {
        fetch: (path, init) => fetch(path, init),
        now: () => performance.now(),
        encode: (text) => new TextEncoder().encode(text),
        decode: (bytes, encoding) => new TextDecoder(encoding).decode(bytes),
        isTypedArray: (a) => ArrayBuffer.isView(a) && !(a instanceof DataView),
      });
    }
    if (!(await tf.setBackend('cpu'))) throw new Error('TensorFlow.js: the cpu backend did not initialise');
    await tf.ready();
    return tf;
  })();
  return ready;
}
