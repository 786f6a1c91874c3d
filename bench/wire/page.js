// The bench page (bench/wire-browser.bench.js builds it with vite from the
// packed package, as a user's app would be built): safeckpt as users import
// it, and the ops of ./ops.js, run on request from the Node driver.
import * as lib from 'safeckpt';
import { ops, timed } from './ops.js';

let table = null;
window.__bench = {
  async init(m) {
    table = ops(lib, m);
    this.m = m;
    return navigator.hardwareConcurrency;
  },
  run(op, checkIt) {
    return timed(table, op, this.m, checkIt);
  },
};
window.__benchReady = true;
