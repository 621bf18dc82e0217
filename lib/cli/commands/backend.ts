import type { Command } from 'commander';
import { initBackend, measureMatMulGflops } from '../../backend/index';
import { integerBetween } from '../options';

export function registerBackend(program: Command): void {
  program
    .command('backend')
    .description('print the active compute backend and its measured float32 matMul GFLOP/s')
    // Three n×n float32 matrices: 4096 takes 200 MB; far larger sizes cannot even be allocated.
    .option('--size <n>', 'matrix size for the measurement (1 to 4096)', integerBetween(1, 4096), 512)
    .option('--json', 'print JSON')
    .action(async (opts: { size: number; json?: boolean }) => {
      const info = await initBackend();
      const m = await measureMatMulGflops(opts.size);
      if (opts.json) {
        process.stdout.write(JSON.stringify({ backend: info.name, tfBackend: info.tfName, chosenBy: info.chosenBy, matmul: m }) + '\n');
      } else {
        process.stdout.write(`backend\t${info.name} (tfjs '${info.tfName}', chosen by ${info.chosenBy})\n`);
        process.stdout.write(`matmul\t${m.gflops.toFixed(1)} GFLOP/s (float32, ${m.n}x${m.n}, one thread)\n`);
      }
    });
}
