/**
 * Models: ModernBERT (lib/models/modernbert.ts) with a ColBERT or dense head, loading and saving the
 * Hugging Face / sentence-transformers / PyLate folder layouts.
 *
 *   const m = await loadEncoder('path/to/model');          // ColbertModel or DenseModel, by folder layout
 *   const e = await loadEncoder(ModelFolder.open(dir), { engine: 'ort' });
 *   const e = await m.encode(['some text'], 'document');
 */
export * from './encoder';
export * from './config';
export * from './modernbert';
export * from './heads';
export * from './colbert';
export * from './dense';
export * from './backbone-io';
export * from './load';
export * from './model-folder';
export * from './safetensors';
export * from './checkpoint-files';
export * from './parallel-encode';
export * from './masked-lm';
export * from './engine';
export * from './onnx/ort-encoder';
export * from './onnx/export';
export * from './onnx/modernbert-onnx';
