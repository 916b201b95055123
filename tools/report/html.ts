/**
 * Renders an activity report as one self-contained HTML file: inline CSS and SVG, no scripts, no
 * external resources. Plots: accuracy vs T (with labels), firing rate per layer, SynOps per layer, and
 * a spike raster of the first sample. Tables: per-layer metrics, totals, energy per device.
 */
import { type ActivityReport, synopsLabel } from './activity.js';
import type { EnergyEstimate } from './energy.js';

export interface ReportInput {
  readonly activity: ActivityReport;
  readonly energy: readonly EnergyEstimate[];
  /** Accuracy (%) per T, when labels were given. */
  readonly accuracy?: ReadonlyMap<number, number>;
  readonly source: string;
  readonly generatedBy: string;
  /** The live demo of this model (`snnc demo`): its index.html relative to the report, and the folder to serve. */
  readonly demo?: { readonly href: string; readonly folder: string };
}

const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
const num = (v: number, digits = 3) => (Math.abs(v) >= 1e4 || (v !== 0 && Math.abs(v) < 1e-2) ? v.toExponential(digits - 1) : Number(v.toFixed(digits)).toString());
const joules = (j: number) => {
  const units: [number, string][] = [[1, 'J'], [1e-3, 'mJ'], [1e-6, 'µJ'], [1e-9, 'nJ'], [1e-12, 'pJ']];
  const [scale, unit] = units.find(([s]) => Math.abs(j) >= s) ?? units[units.length - 1];
  return `${(j / scale).toPrecision(3)} ${unit}`;
};

const W = 640;
const H = 260;
const M = { l: 60, r: 20, t: 20, b: 50 };

function frame(title: string, body: string, xLabel: string, yLabel: string): string {
  return `<figure><figcaption>${esc(title)}</figcaption><svg class="plot" role="img" aria-label="${esc(title)}" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}">
<line x1="${M.l}" y1="${H - M.b}" x2="${W - M.r}" y2="${H - M.b}" class="axis"/><line x1="${M.l}" y1="${M.t}" x2="${M.l}" y2="${H - M.b}" class="axis"/>
${body}
<text x="${(M.l + W - M.r) / 2}" y="${H - 8}" class="label" text-anchor="middle">${esc(xLabel)}</text>
<text x="14" y="${(M.t + H - M.b) / 2}" class="label" text-anchor="middle" transform="rotate(-90 14 ${(M.t + H - M.b) / 2})">${esc(yLabel)}</text></svg></figure>`;
}

function yTicks(max: number, format: (v: number) => string, min = 0): string {
  let out = '';
  for (let k = 0; k <= 4; k++) {
    const v = min + ((max - min) * k) / 4;
    const y = H - M.b - ((H - M.t - M.b) * k) / 4;
    out += `<line x1="${M.l - 4}" y1="${y}" x2="${W - M.r}" y2="${y}" class="grid"/><text x="${M.l - 6}" y="${y + 4}" class="tick" text-anchor="end">${format(v)}</text>`;
  }
  return out;
}

function barChart(title: string, bars: { label: string; value: number; value2?: number }[], yLabel: string, format: (v: number) => string): string {
  const max = Math.max(1e-12, ...bars.flatMap((b) => [b.value, b.value2 ?? 0]));
  const slot = (W - M.l - M.r) / Math.max(1, bars.length);
  const plotH = H - M.t - M.b;
  let body = yTicks(max, format);
  bars.forEach((b, i) => {
    const x = M.l + i * slot + slot * 0.15;
    const bw = slot * (b.value2 === undefined ? 0.7 : 0.35);
    const h = (b.value / max) * plotH;
    body += `<rect class="bar" x="${x}" y="${H - M.b - h}" width="${bw}" height="${h}"><title>${esc(b.label)}: ${format(b.value)}</title></rect>`;
    if (b.value2 !== undefined) {
      const h2 = (b.value2 / max) * plotH;
      body += `<rect class="bar2" x="${x + bw}" y="${H - M.b - h2}" width="${bw}" height="${h2}"><title>${esc(b.label)}: ${format(b.value2)}</title></rect>`;
    }
    body += `<text x="${M.l + i * slot + slot / 2}" y="${H - M.b + 14}" class="tick" text-anchor="middle">${esc(b.label.length > 12 ? `${b.label.slice(0, 11)}…` : b.label)}</text>`;
  });
  return frame(title, body, 'layer', yLabel);
}

function accuracyChart(acc: ReadonlyMap<number, number>): string {
  const points = [...acc].sort((a, b) => a[0] - b[0]);
  const xs = points.map(([t]) => Math.log2(t));
  const [x0, x1] = [Math.min(...xs), Math.max(...xs, Math.min(...xs) + 1)];
  const lo = Math.max(0, Math.floor(Math.min(...points.map(([, a]) => a)) / 10) * 10);
  const px = (t: number) => M.l + ((Math.log2(t) - x0) / (x1 - x0)) * (W - M.l - M.r);
  const py = (a: number) => H - M.b - ((a - lo) / (100 - lo)) * (H - M.t - M.b);
  let body = yTicks(100, (v) => `${Number.isInteger(v) ? v : v.toFixed(1)} %`, lo);
  body += `<polyline class="line" points="${points.map(([t, a]) => `${px(t)},${py(a)}`).join(' ')}"/>`;
  for (const [t, a] of points) {
    body += `<circle class="dot" cx="${px(t)}" cy="${py(a)}" r="4"><title>T=${t}: ${a.toFixed(2)} %</title></circle>`;
    body += `<text x="${px(t)}" y="${H - M.b + 14}" class="tick" text-anchor="middle">${t}</text>`;
  }
  return frame('Accuracy vs time steps T', body, 'time steps T (log scale)', 'accuracy');
}

function raster(activity: ActivityReport): string {
  const T = activity.timesteps;
  const layers = [...activity.raster];
  const maxRows = 48;
  const rowsPer = layers.map(([name, bits]) => {
    const N = bits.length / T;
    // The most active neurons of the layer, in index order.
    const counts = Array.from({ length: N }, (_, k) => [k, Array.from({ length: T }, (_, t) => bits[t * N + k]).reduce((a, b) => a + b, 0)] as const);
    const chosen = [...counts].sort((a, b) => b[1] - a[1]).slice(0, maxRows).map(([k]) => k).sort((a, b) => a - b);
    return { name, N, chosen, bits };
  });
  const rows = rowsPer.reduce((k, l) => k + l.chosen.length + 1, 0);
  const h = Math.max(120, rows * 4 + M.t + M.b);
  const dx = (W - M.l - M.r) / T;
  let body = '';
  let row = 0;
  for (const l of rowsPer) {
    body += `<text x="${M.l - 6}" y="${M.t + row * 4 + 8}" class="tick" text-anchor="end">${esc(l.name)}</text>`;
    for (const k of l.chosen) {
      for (let t = 0; t < T; t++) if (l.bits[t * l.N + k]) body += `<rect class="spike" x="${M.l + t * dx}" y="${M.t + row * 4}" width="${Math.max(1, dx * 0.8)}" height="3"/>`;
      row++;
    }
    row++;
  }
  return `<figure><figcaption>Spike raster, sample 0 (up to ${maxRows} most active neurons per layer)</figcaption><svg class="plot" role="img" aria-label="spike raster" viewBox="0 0 ${W} ${h}" width="${W}" height="${h}">
<line x1="${M.l}" y1="${h - M.b}" x2="${W - M.r}" y2="${h - M.b}" class="axis"/>${body}
<text x="${(M.l + W - M.r) / 2}" y="${h - 8}" class="label" text-anchor="middle">time step (0–${T - 1})</text></svg></figure>`;
}

export function renderReportHtml(r: ReportInput): string {
  const a = r.activity;
  const t = a.totals;
  const neurons = a.layers.filter((l) => l.firingRate !== undefined);
  const conns = a.layers.filter((l) => l.synops);
  const rows = a.layers
    .map(
      (l) =>
        `<tr><td>${esc(l.layer)}</td><td>${esc(l.op)}${l.encoding ? ' (encoding)' : ''}</td><td>${l.neurons}</td><td>${l.spikes === undefined ? '' : num(l.spikes)}</td><td>${l.firingRate === undefined ? '' : num(l.firingRate, 4)}</td><td>${l.activationSparsity === undefined ? '' : num(l.activationSparsity, 4)}</td><td>${l.synops ? num(l.synops.dense) : ''}</td><td>${l.synops ? synopsLabel(l.synops, num(l.synops.effective)) : ''}</td><td>${l.membraneUpdates ? `${num(l.membraneUpdates.effective)} / ${num(l.membraneUpdates.dense)}` : ''}</td><td>${l.parameters}</td></tr>`,
    )
    .join('\n');
  const energy = r.energy
    .map((e) => `<tr><td>${esc(e.device)}</td><td>${joules(e.synaptic)}</td><td>${joules(e.neuron)}</td><td>${joules(e.macs)}${e.macsOffChip ? ' *' : ''}${e.graded ? ` + graded ${joules(e.graded)}` : ''}</td><td><b>${joules(e.total)}</b></td><td class="src">${esc(e.source)}</td></tr>`)
    .join('\n');
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>snnc report: ${esc(a.model)}</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:1000px;color:#1d2330;padding:0 16px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #dde2ea;padding-bottom:4px}
.meta{color:#5a6475}table{border-collapse:collapse;width:100%;font-size:13px}th,td{padding:4px 8px;border-bottom:1px solid #e8ecf2;text-align:right}
th:first-child,td:first-child,td.src{text-align:left}td.src{color:#5a6475;font-size:12px}th{background:#f4f6fa}
.cards{display:flex;flex-wrap:wrap;gap:12px}.card{background:#f4f6fa;border-radius:8px;padding:10px 14px;min-width:150px}.card b{display:block;font-size:18px}
figure{margin:16px 0}figcaption{font-weight:600;margin-bottom:4px}.plot{max-width:100%;height:auto;background:#fff}
.axis{stroke:#1d2330;stroke-width:1}.grid{stroke:#e8ecf2}.tick{font-size:11px;fill:#5a6475}.label{font-size:12px;fill:#1d2330}
.bar{fill:#3b6fd8}.bar2{fill:#f0a23b}.line{fill:none;stroke:#3b6fd8;stroke-width:2}.dot{fill:#3b6fd8}.spike{fill:#1d2330}.note{color:#5a6475;font-size:12px}
</style></head><body>
<h1>snnc activity report: ${esc(a.model)}</h1>
<p class="meta">${esc(r.source)} · ${a.samples} samples · T = ${a.timesteps} · ${esc(r.generatedBy)}</p>
${r.demo ? `<p class="meta">Live demo: <a href="${esc(r.demo.href)}">${esc(r.demo.href)}</a> (draw an input and watch each layer spike; serve it with <code>snnc demo --serve ${esc(r.demo.folder)}</code>)</p>\n` : ''}<div class="cards">
<div class="card">accuracy (T=${a.timesteps})<b>${r.accuracy?.has(a.timesteps) ? `${r.accuracy.get(a.timesteps)!.toFixed(2)} %` : 'no labels'}</b></div>
<div class="card">spikes / sample<b>${num(t.spikes)}</b></div>
<div class="card">activation sparsity<b>${num(t.activationSparsity, 4)}</b></div>
<div class="card">effective ACs / sample<b>${num(t.effectiveACs)}</b></div>
<div class="card">effective MACs / sample<b>${num(t.effectiveMACs)}</b></div>
<div class="card">footprint<b>${num(t.footprintBytes / 1024)} KiB</b></div>
</div>
<h2>Plots</h2>
${r.accuracy && r.accuracy.size > 0 ? accuracyChart(r.accuracy) : '<p class="note">Accuracy vs T needs labels (--labels).</p>'}
${barChart('Firing rate per neuron layer (spikes per neuron per step)', neurons.map((l) => ({ label: l.layer, value: l.firingRate! })), 'firing rate', (v) => v.toFixed(3))}
${barChart('Synaptic operations per layer and sample: effective (blue) and dense (orange)', conns.map((l) => ({ label: l.layer, value: l.synops!.effective, value2: l.synops!.dense })), 'operations', (v) => num(v, 2))}
${raster(a)}
<h2>Per layer (per sample)</h2>
<table><thead><tr><th>layer</th><th>op</th><th>neurons</th><th>spikes</th><th>firing rate</th><th>act. sparsity</th><th>SynOps dense</th><th>SynOps effective</th><th>membrane updates (eff. / dense)</th><th>parameters</th></tr></thead>
<tbody>${rows}</tbody></table>
<h2>Totals (per sample, NeuroBench definitions)</h2>
<table><tbody>
<tr><td>Dense SynOps</td><td>${num(t.dense)}</td></tr><tr><td>Effective MACs (of which encoding layer)</td><td>${num(t.effectiveMACs)} (${num(t.encodingMACs)})</td></tr>${t.effectiveGradedSynOps ? `<tr><td>Effective graded SynOps (sigma-delta: payload × weight)</td><td>${num(t.effectiveGradedSynOps)}</td></tr>` : ''}
<tr><td>Effective ACs</td><td>${num(t.effectiveACs)}</td></tr><tr><td>Membrane updates (effective / dense)</td><td>${num(t.membraneUpdates.effective)} / ${num(t.membraneUpdates.dense)}</td></tr>
<tr><td>Activation sparsity</td><td>${num(t.activationSparsity, 4)}</td></tr><tr><td>Connection sparsity</td><td>${t.connectionSparsity}</td></tr>
<tr><td>Parameters / footprint (float32)</td><td>${t.parameters} / ${t.footprintBytes} B</td></tr>
</tbody></table>
<h2>Energy estimate per sample</h2>
<table><thead><tr><th>device</th><th>synaptic (ACs)</th><th>neuron updates</th><th>MACs (encoding)</th><th>total</th><th>source</th></tr></thead><tbody>${energy}</tbody></table>
<p class="note">* the device quotes no MAC energy: the encoding layer's MACs are priced at Horowitz's 45 nm fp32 MAC (4.6 pJ), as if computed off-chip.
Memory traffic, routing and static power are not modelled; they often dominate on real hardware.</p>
</body></html>
`;
}
