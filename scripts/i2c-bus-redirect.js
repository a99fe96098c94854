'use strict';
// Preloaded (node --require) by scripts/test-node22.js: `require('i2c-bus')` resolves to the copy
// compiled for Node 22 in IOPI_I2C_BUS_DIR instead of the project's one, built for the main Node.
// A test harness hook only: nothing in lib/ or nodes/ knows about it.
const Module = require('node:module');

const target = process.env.IOPI_I2C_BUS_DIR;
if (target) {
  const resolve = Module._resolveFilename;
  Module._resolveFilename = function (request, ...rest) {
    return resolve.call(this, request === 'i2c-bus' ? target : request, ...rest);
  };
}
