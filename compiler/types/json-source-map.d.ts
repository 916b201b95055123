// Types for json-source-map 0.6 (the package ships none): only what snnc uses.
declare module 'json-source-map' {
  interface Location { line: number; column: number; pos: number }
  interface Pointer { value: Location; valueEnd: Location; key?: Location; keyEnd?: Location }
  export function parse(text: string): { data: unknown; pointers: Record<string, Pointer> };
  const jsonMap: { parse: typeof parse };
  export default jsonMap;
}
