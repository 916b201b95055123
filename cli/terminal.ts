/**
 * What reaches the user's terminal: names from model files (layers, NIR nodes, model names) may hold
 * newlines or escape sequences, so every error and warning line is made printable first.
 */

/** `text` with control characters (newlines, ESC, …) written as visible escapes, so it stays one line. */
export function printable(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => (c === '\n' ? '\\n' : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`));
}

/** One warning line on stderr. */
export function warn(message: string): void {
  process.stderr.write(`snnc: warning: ${printable(message)}\n`);
}
