/**
 * Progress bars for long work (encoding, indexing, training): items/s and ETA on stderr when it is a
 * terminal, silent otherwise (CI logs, notebooks, tests) unless CZ_PROGRESS=1 forces it.
 */
import { SingleBar, Presets } from 'cli-progress';
import { envValue } from './env';

export interface Progress {
  update(done: number, extra?: Record<string, string | number>): void;
  stop(): void;
}

const SILENT: Progress = { update() {}, stop() {} };

export function progressBar(label: string, total: number, unit = 'items'): Progress {
  const forced = envValue('CZ_PROGRESS');
  const enabled = forced === '1' || (forced !== '0' && process.stderr.isTTY === true);
  if (!enabled || total <= 0) return SILENT;
  const bar = new SingleBar(
    {
      format: `${label} [{bar}] {percentage}% | {value}/{total} ${unit} | {speed} ${unit}/s | ETA {eta_formatted}{extra}`,
      stream: process.stderr,
      hideCursor: true,
      etaBuffer: 50,
    },
    Presets.shades_classic,
  );
  const start = Date.now();
  bar.start(total, 0, { speed: '0', extra: '' });
  return {
    update(done, extra) {
      const secs = (Date.now() - start) / 1000;
      const tail = extra ? ' | ' + Object.entries(extra).map(([k, v]) => `${k} ${v}`).join(' ') : '';
      bar.update(done, { speed: secs > 0 ? (done / secs).toFixed(1) : '0', extra: tail });
    },
    stop() {
      bar.stop();
    },
  };
}
