// The safeckpt core: header validation and shape checks (every export is
// flat — pointers and lengths in, status codes and fixed buffers out). Its
// SHA-256 is a module of its own (sha256-index.ts), loaded later by the host.
export { scratchBase, reserve } from './memory';
export { headerParse, headerResult } from './header';
export { shapesCompare } from './shapes';
export { pow10Table } from './tables';
