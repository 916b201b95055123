/**
 * The core map of a compiled Loihi folder: which population each core holds and how much of each
 * per-core budget (compartments, input axons, output axons, synapse memory) it uses, per core and per
 * population, as the descriptor records them (targets/loihi/descriptor.ts), and the same as a
 * self-contained HTML page with the board drawn as an SVG grid. Reads a descriptor; computes nothing
 * about placement itself.
 */
import type { CoreBudget, LoihiDescriptor } from '../../targets/loihi/descriptor.js';

export const BUDGETS = ['compartments', 'inAxons', 'outAxons', 'synapseBits'] as const;
export type Budget = (typeof BUDGETS)[number];
const BUDGET_NAMES: Record<Budget, string> = { compartments: 'compartments', inAxons: 'input axons', outAxons: 'output axons', synapseBits: 'synapse memory' };

export interface CoreUse {
  readonly id: number;
  readonly chip: number;
  readonly population: string;
  /** Fraction of each budget used (0…1). */
  readonly use: Readonly<Record<Budget, number>>;
  /** The budget closest to its limit. */
  readonly bottleneck: Budget;
}

export interface PopulationUse {
  readonly population: string;
  readonly cores: number;
  /** Largest fraction of each budget used by one of its cores. */
  readonly max: Readonly<Record<Budget, number>>;
  /** Mean over its cores. */
  readonly mean: Readonly<Record<Budget, number>>;
}

export interface CoreMap {
  readonly model: string;
  readonly chip: string;
  readonly chips: number;
  readonly cores: readonly CoreUse[];
  readonly populations: readonly PopulationUse[];
  readonly lowerBound: number;
}

const fraction = (b: CoreBudget, k: Budget) => (b[k][1] > 0 ? b[k][0] / b[k][1] : 0);

export function coreMap(d: LoihiDescriptor): CoreMap {
  const cores = d.cores.map((c): CoreUse => {
    const use = Object.fromEntries(BUDGETS.map((k) => [k, fraction(c.budget, k)])) as Record<Budget, number>;
    const bottleneck = BUDGETS.reduce((a, k) => (use[k] > use[a] ? k : a));
    return { id: c.id, chip: c.chip, population: c.population, use, bottleneck };
  });
  const populations = d.populations.map((p): PopulationUse => {
    const own = cores.filter((c) => c.population === p.name);
    const stat = (f: (xs: number[]) => number) => Object.fromEntries(BUDGETS.map((k) => [k, own.length ? f(own.map((c) => c.use[k])) : 0])) as Record<Budget, number>;
    return { population: p.name, cores: own.length, max: stat((xs) => Math.max(...xs)), mean: stat((xs) => xs.reduce((a, b) => a + b, 0) / xs.length) };
  });
  return { model: d.model, chip: d.chip, chips: d.board.chips.length, cores, populations, lowerBound: d.totals.lowerBound };
}

/** One line per population: cores and the largest use of each budget, then the totals. */
export function coreMapText(m: CoreMap): string {
  const pct = (x: number) => `${(100 * x).toFixed(1)} %`.padStart(8);
  const head = `${'population'.padEnd(20)} ${'cores'.padStart(6)} ${BUDGETS.map((k) => BUDGET_NAMES[k].padStart(16)).join('')}   (largest use on one core)`;
  const rows = m.populations.map((p) => `${p.population.padEnd(20)} ${String(p.cores).padStart(6)} ${BUDGETS.map((k) => pct(p.max[k]).padStart(16)).join('')}`);
  const limits = new Map<Budget, number>(BUDGETS.map((k) => [k, m.cores.filter((c) => c.bottleneck === k).length]));
  const why = BUDGETS.filter((k) => limits.get(k)).map((k) => `${BUDGET_NAMES[k]} ${limits.get(k)}`).join(', ');
  return `${m.model}: ${m.cores.length} ${m.chip} cores on ${m.chips} chip(s), lower bound ${m.lowerBound}\n${head}\n${rows.join('\n')}\ncores by their fullest budget: ${why}\n`;
}

const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

/** A colour per population, spread around the hue circle in population order. */
const hue = (i: number, n: number) => Math.round((360 * i) / Math.max(1, n));

/** The board as a grid (16 cores per row, one block per chip): colour = population, fill height = the fullest budget. */
function boardSvg(m: CoreMap, coresPerChip: number): string {
  const [W, cell, gap] = [16, 22, 2];
  const rowsPerChip = Math.ceil(coresPerChip / W);
  const chipH = rowsPerChip * cell + 18;
  const index = new Map(m.populations.map((p, i) => [p.population, i]));
  const placed = new Map<number, number>(); // cores drawn so far per chip: a core's place on its chip
  const rects = m.cores.map((c) => {
    const local = placed.get(c.chip) ?? 0;
    placed.set(c.chip, local + 1);
    const x = (local % W) * cell;
    const y = c.chip * chipH + 16 + Math.floor(local / W) * cell;
    const full = Math.max(...BUDGETS.map((k) => c.use[k]));
    const h = Math.max(1, Math.round((cell - gap) * Math.min(1, full)));
    const color = `hsl(${hue(index.get(c.population)!, m.populations.length)} 65% 50%)`;
    const tip = `core ${c.id} (chip ${c.chip}): ${c.population}; ${BUDGETS.map((k) => `${BUDGET_NAMES[k]} ${(100 * c.use[k]).toFixed(1)} %`).join(', ')}`;
    return `<g class="core"><title>${esc(tip)}</title><rect x="${x}" y="${y}" width="${cell - gap}" height="${cell - gap}" fill="#eee"/><rect x="${x}" y="${y + cell - gap - h}" width="${cell - gap}" height="${h}" fill="${color}"/></g>`;
  });
  const labels = Array.from({ length: m.chips }, (_, k) => `<text x="0" y="${k * chipH + 12}" font-size="12">chip ${k}</text>`);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W * cell}" height="${m.chips * chipH}" role="img" aria-label="core map">${labels.join('')}${rects.join('')}</svg>`;
}

export function renderCoreMapHtml(m: CoreMap, coresPerChip: number, generatedBy: string): string {
  const pct = (x: number) => `${(100 * x).toFixed(1)} %`;
  const rows = m.populations
    .map((p, i) => `<tr><td><span class="sw" style="background:hsl(${hue(i, m.populations.length)} 65% 50%)"></span>${esc(p.population)}</td><td>${p.cores}</td>${BUDGETS.map((k) => `<td>${pct(p.max[k])} <small>(mean ${pct(p.mean[k])})</small></td>`).join('')}</tr>`)
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(m.model)}: Loihi core map</title>
<style>body{font:14px system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse}td,th{padding:.2em .6em;border-bottom:1px solid #ddd;text-align:right}td:first-child,th:first-child{text-align:left}.sw{display:inline-block;width:.9em;height:.9em;margin-right:.4em;vertical-align:middle}.note{color:#666}</style></head>
<body><h1>${esc(m.model)}: core map</h1>
<p>${m.cores.length} ${esc(m.chip)} cores on ${m.chips} chip(s); the partitioner's lower bound is ${m.lowerBound} cores. Each square is a core, coloured by the population it holds and filled to its fullest budget (hover for all four).</p>
${boardSvg(m, coresPerChip)}
<h2>Budget use per population</h2>
<table><thead><tr><th>population</th><th>cores</th>${BUDGETS.map((k) => `<th>${BUDGET_NAMES[k]}</th>`).join('')}</tr></thead><tbody>
${rows}
</tbody></table>
<p class="note">Largest use on one core (mean over the population's cores). Generated by ${esc(generatedBy)}.</p>
</body></html>
`;
}
