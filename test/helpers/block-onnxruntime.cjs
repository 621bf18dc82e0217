// Preloaded (node --require) by tests to simulate a machine where onnxruntime-node does not load for this
// project's engine (requests from lib/ fail; @huggingface/transformers keeps its own copy for tokenizers).
const Module = require('node:module');
const path = require('node:path');
const LIB = path.join(__dirname, '..', '..', 'lib') + path.sep;
const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, parent, ...rest) {
  if ((request === 'onnxruntime-node' || request.startsWith('onnxruntime-node/')) && parent && parent.filename && parent.filename.startsWith(LIB)) {
    throw new Error('libonnxruntime.so.1: cannot open shared object file (simulated by the test)');
  }
  return resolve.call(this, request, parent, ...rest);
};
