/**
 * What reaches the user's terminal: names from model files (layers, NIR nodes, model names) may hold
 * newlines or escape sequences, so every error and warning line is made printable first; progress bars
 * go to stderr.
 */
import cliProgress from 'cli-progress';

/** A progress bar on stderr in snnc's style (callers draw it only when stderr is a terminal). */
export function stderrBar(format: string): cliProgress.SingleBar {
  return new cliProgress.SingleBar({ stream: process.stderr, format, hideCursor: true }, cliProgress.Presets.shades_classic);
}

/** `text` with control characters (newlines, ESC, …) written as visible escapes, so it stays one line. */
export function printable(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => (c === '\n' ? '\\n' : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`));
}

/** One warning line on stderr. */
export function warn(message: string): void {
  process.stderr.write(`snnc: warning: ${printable(message)}\n`);
}

/**
 * Progress bars on stderr for a compile's stages, when stderr is a terminal: a stage gets its bar once
 * it has run for half a second (small networks print none), and the bar closes when the next begins.
 */
export function stageProgress(): { onProgress(stage: string, done: number, total: number): void; stop(): void } {
  let stage = '';
  let began = 0;
  let bar: ReturnType<typeof stderrBar> | undefined;
  const stop = () => {
    bar?.stop();
    bar = undefined;
  };
  if (!process.stderr.isTTY) return { onProgress() {}, stop };
  return {
    onProgress(s, done, total) {
      if (s !== stage) {
        stop();
        [stage, began] = [s, performance.now()];
      }
      if (!bar && performance.now() - began > 500) {
        bar = stderrBar(`${stage.padEnd(8)} {bar} {percentage}% | {eta_formatted} left`);
        bar.start(total, done);
      }
      bar?.update(done);
    },
    stop,
  };
}
