import type { Command } from 'commander';
import { initBackend, measureMatMulGflops } from '../../backend/index';
import { resolveEngine } from '../../backend/engine';
import { defaultProvider, defaultThreads, loadOrt } from '../../backend/ort';
import { integerBetween } from '../options';

/** ONNX Runtime as the encoders and training see it: its version and provider, or why it does not load. */
function ortStatus(): { available: boolean; version?: string; provider?: string; threads?: number; reason?: string } {
  try {
    const ort = loadOrt() as { env?: { versions?: { common?: string } } };
    return { available: true, version: ort.env?.versions?.common, provider: defaultProvider(), threads: defaultThreads() };
  } catch (e) {
    return { available: false, reason: (e as Error).message };
  }
}

export function registerBackend(program: Command): void {
  program
    .command('backend')
    .description('print the engine commands use by default (ONNX Runtime or TensorFlow.js), the tfjs backend and its measured float32 matMul GFLOP/s')
    // Three n×n float32 matrices: 4096 takes 200 MB; far larger sizes cannot even be allocated.
    .option('--size <n>', 'matrix size for the measurement (1 to 4096)', integerBetween(1, 4096), 512)
    .option('--json', 'print JSON')
    .action(async (opts: { size: number; json?: boolean }) => {
      const engine = resolveEngine();
      const ort = ortStatus();
      const info = await initBackend();
      const m = await measureMatMulGflops(opts.size);
      if (opts.json) {
        process.stdout.write(JSON.stringify({ engine: engine.engine, engineChosenBy: engine.chosenBy, ort, backend: info.name, tfBackend: info.tfName, chosenBy: info.chosenBy, matmul: m }) + '\n');
        return;
      }
      process.stdout.write(`engine\t${engine.engine} (chosen by ${engine.chosenBy === 'default' ? 'default' : engine.chosenBy}; --engine or CZ_ENGINE picks another)\n`);
      process.stdout.write(ort.available ? `ort\tonnxruntime-node ${ort.version ?? '(version unknown)'}, provider ${ort.provider}, ${ort.threads} threads\n` : `ort\tunavailable: ${ort.reason}\n`);
      process.stdout.write(`tfjs\t${info.name} (tfjs '${info.tfName}', chosen by ${info.chosenBy})\n`);
      process.stdout.write(`matmul\t${m.gflops.toFixed(1)} GFLOP/s (tfjs, float32, ${m.n}x${m.n}, one thread)\n`);
    });
}
