/**
 * Small DOM helpers shared by the demo modules: element lookup by id, the page state in
 * `document.body.dataset.state` (the test hook), the status line, and yielding to the browser.
 */

export type PageState = 'loading' | 'ready' | 'running' | 'done' | 'error';

/** The element with this id; throws if the page lacks it. */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const e = document.getElementById(id);
  if (!e) throw new Error(`the page has no element #${id}`);
  return e as T;
}

/** Creates an element with a class and optional text. */
export function make<K extends keyof HTMLElementTagNameMap>(tag: K, className = '', text = ''): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text) e.textContent = text;
  return e;
}

/** Sets the page state and the status line under the title. */
export function setState(state: PageState, message: string): void {
  document.body.dataset.state = state;
  const status = byId('status');
  status.textContent = message;
  status.classList.toggle('error', state === 'error');
}

/** Reports a failure: state `error`, the message on the page and on the console. */
export function fail(e: unknown): void {
  const message = e instanceof Error ? e.message : String(e);
  console.error(`snnc demo: ${message}`);
  setState('error', `error: ${message}`);
}

/** Resolves at the next animation frame (or soon, when the tab is hidden and frames stop). */
export function nextFrame(): Promise<void> {
  return new Promise((resolve) => {
    if (document.hidden) setTimeout(resolve, 0);
    else requestAnimationFrame(() => resolve());
  });
}

/** A number with at most `digits` decimals and no trailing zeros; exponent form when very large or small. */
export function fmt(v: number, digits = 3): string {
  if (Number.isInteger(v)) return String(v);
  if (Math.abs(v) >= 1000 || Math.abs(v) < 0.001) return v.toExponential(2);
  const s = v.toFixed(digits);
  return s.includes('.') ? s.replace(/\.?0+$/, '') : s;
}
