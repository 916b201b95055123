/**
 * JSON documents the user writes (model.json, training architecture files): parsing with line and
 * column on syntax errors, and the most specific JSON Schema (ajv) error phrased for a person, with its
 * JSON pointer and location. Validation itself is the caller's (each owns its schema).
 */
import type { ErrorObject } from 'ajv/dist/2020.js';
import jsonMap from 'json-source-map';
import { badInput } from '../errors.js';

/** Largest finite float32; schemas bound float32 fields with it. */
const FLOAT32_MAX = 3.4028234663852886e38;

function lineCol(text: string, pos: number): string {
  const before = text.slice(0, pos);
  const line = before.split('\n').length;
  return `${line}:${pos - before.lastIndexOf('\n')}`;
}

/**
 * Deepest nesting of arrays and objects accepted. The schema validator and the location finder recurse
 * once per level, so a document nested thousands deep would overflow the stack; real documents (a
 * conv weight as nested arrays inside a layer) are about 10 deep.
 */
export const MAX_JSON_DEPTH = 256;

/** Refuses a text nested deeper than MAX_JSON_DEPTH, in one linear pass that skips strings. */
function checkDepth(text: string, file: string): void {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      // Skip a string, with its escapes.
      for (i++; i < text.length && text.charCodeAt(i) !== 0x22; i++) if (text.charCodeAt(i) === 0x5c) i++;
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > MAX_JSON_DEPTH) throw badInput(`${file}:${lineCol(text, i)}: JSON nested more than ${MAX_JSON_DEPTH} levels deep`);
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
}

export function parseJson(text: string, file: string): unknown {
  checkDepth(text, file);
  try {
    return JSON.parse(text);
  } catch {
    // Re-parse with a parser that reports where it stopped.
    try {
      jsonMap.parse(text);
    } catch (e) {
      const msg = (e as Error).message;
      const m = /at position (\d+)/.exec(msg);
      const at = m ? lineCol(text, Number(m[1])) : lineCol(text, text.length);
      throw badInput(`${file}:${at}: malformed JSON: ${msg.replace(/ in JSON at position \d+/, '')}`);
    }
    throw badInput(`${file}: malformed JSON`);
  }
}

/** The most specific schema error, phrased for a person, with its location in the file. */
export function describeSchemaError(errors: ErrorObject[], text: string, file: string, doc: unknown, layerTypes: readonly string[]): string {
  const depth = (e: ErrorObject) => (e.instancePath === '' ? 0 : e.instancePath.split('/').length);
  const disc = errors.find((e) => e.keyword === 'discriminator');
  const e = disc ?? [...errors].sort((a, b) => depth(b) - depth(a))[0];
  let pointer = e.instancePath;
  let message: string;
  if (e.keyword === 'discriminator') {
    pointer = `${e.instancePath}/type`;
    const got = pointer.split('/').slice(1).reduce<any>((v, k) => v?.[k], doc);
    message = `unknown layer type ${JSON.stringify(got)} (expected one of: ${layerTypes.join(', ')})`;
  } else if (e.keyword === 'additionalProperties') {
    message = `unknown field "${(e.params as { additionalProperty: string }).additionalProperty}"`;
  } else if (e.keyword === 'enum' || e.keyword === 'const') {
    const allowed = e.keyword === 'enum' ? (e.params as { allowedValues: unknown[] }).allowedValues : [(e.params as { allowedValue: unknown }).allowedValue];
    message = `must be one of ${allowed.map((v) => JSON.stringify(v)).join(', ')}`;
  } else if (e.keyword === 'oneOf' || e.keyword === 'anyOf') {
    message = e.instancePath.match(/\/(weight|bias|recurrent_weight)$/)
      ? 'is not a tensor: use nested arrays, {shape, data}, {shape, dtype: "float32", base64} or {file, key}'
      : 'does not match any allowed form';
  } else if ((e.keyword === 'maximum' || e.keyword === 'minimum') && Math.abs((e.params as { limit: number }).limit) === FLOAT32_MAX) {
    const got = pointer.split('/').slice(1).reduce<any>((v, k) => v?.[k], doc);
    message = `${got} overflows float32 (|x| ≤ ${FLOAT32_MAX})`;
  } else {
    message = e.message ?? 'is invalid';
  }
  return `${file}${pointerLocation(text, pointer, e.instancePath)}: ${pointer || '/'}: ${message}`;
}

/** `:line:column` of the value at the first of `pointers` that the document has, or '' (a courtesy). */
export function pointerLocation(text: string, ...pointers: string[]): string {
  try {
    const map = jsonMap.parse(text).pointers;
    const loc = pointers.map((p) => map[p]).find((l) => l);
    return loc ? `:${loc.value.line + 1}:${loc.value.column + 1}` : '';
  } catch {
    return '';
  }
}

