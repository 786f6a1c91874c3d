// The safeckpt core: every export is flat — pointers and lengths in, status
// codes and fixed buffers out.
export { scratchBase, reserve } from './memory';
export { STATE_BYTES, sha256State, sha256Digest, sha256Init, sha256Update, sha256Final } from './sha256';
export { headerParse, headerResult } from './header';
export { shapesCompare } from './shapes';
