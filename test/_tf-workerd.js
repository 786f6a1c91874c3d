// TensorFlow.js in the workerd test bundle (test/run.js resolves ../build/tf.js
// here for workerd): the WASM backend compiles its bytes at run time, which
// Workers refuse, so the checkpoint tests train on the CPU backend there. tfjs
// knows no platform for workerd (neither a browser nor Node): it gets the few
// calls it makes from the Web APIs Workers have.
export * from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import '@tensorflow/tfjs-backend-cpu';
import * as core from '@tensorflow/tfjs-core';

let ready = null;
export function initTf() {
  ready ??= (async () => {
    if (!core.env().platform) {
      core.setPlatform('workerd', {
        fetch: (path, init) => fetch(path, init),
        now: () => performance.now(),
        encode: (text) => new TextEncoder().encode(text),
        decode: (bytes, encoding) => new TextDecoder(encoding).decode(bytes),
        isTypedArray: (a) => ArrayBuffer.isView(a) && !(a instanceof DataView),
      });
    }
    if (!(await core.setBackend('cpu'))) throw new Error('TensorFlow.js: the cpu backend did not initialise');
    await core.ready();
    return core;
  })();
  return ready;
}
