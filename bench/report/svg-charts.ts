// Hand-written SVG charts for results/: throughput per scenario, server CPU per delivery, and latency
// percentiles. Plain strings, no dependencies; they render on GitHub and in any browser.
import { parseVariant } from '../server-process.js';
import { formatValue } from './markdown.js';
import type { Figure } from './summarise.js';

const COLORS: Record<string, string> = { baseline: '#9e9e9e', 'uws-0': '#2ca02c', 'uws-1': '#1f77b4', 'uws-2': '#ff7f0e' };
const colorOf = (v: string): string => COLORS[v] ?? '#8c564b';
const labelOf = (v: string): string => parseVariant(v)?.label ?? v;

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const FONT = 'font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif"';

function legend(variants: string[], x: number, y: number): string {
  return variants
    .map((v, i) => `<rect x="${x + i * 190}" y="${y - 10}" width="12" height="12" fill="${colorOf(v)}"/><text x="${x + i * 190 + 18}" y="${y}" font-size="12">${esc(labelOf(v))}</text>`)
    .join('');
}

export interface BarGroup {
  title: string;
  unit: string;
  values: Record<string, number>;
}

/** Horizontal bars, one group per scenario, each group scaled to its own largest value. */
export function groupedBars(title: string, subtitle: string, groups: BarGroup[], variants: string[]): string {
  const width = 760;
  const left = 190;
  const barH = 16;
  const groupH = 26 + variants.length * (barH + 4);
  const top = 70;
  const height = top + groups.length * groupH + 20;
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ${FONT}>`);
  parts.push(`<rect width="100%" height="100%" fill="white"/>`);
  parts.push(`<text x="16" y="24" font-size="16" font-weight="600">${esc(title)}</text>`);
  parts.push(`<text x="16" y="42" font-size="12" fill="#555">${esc(subtitle)}</text>`);
  parts.push(legend(variants, 16, 60));
  groups.forEach((g, gi) => {
    const y0 = top + gi * groupH;
    const max = Math.max(...variants.map((v) => g.values[v] ?? 0), 1e-12);
    parts.push(`<text x="16" y="${y0 + 16}" font-size="13" font-weight="600">${esc(g.title)}</text>`);
    variants.forEach((v, i) => {
      const value = g.values[v];
      const y = y0 + 24 + i * (barH + 4);
      parts.push(`<text x="${left - 8}" y="${y + 12}" font-size="11" text-anchor="end" fill="#333">${esc(labelOf(v))}</text>`);
      if (value === undefined || !Number.isFinite(value)) {
        parts.push(`<text x="${left}" y="${y + 12}" font-size="11" fill="#999">not measured</text>`);
        return;
      }
      const w = Math.max(1, ((width - left - 140) * value) / max);
      parts.push(`<rect x="${left}" y="${y}" width="${w.toFixed(1)}" height="${barH}" fill="${colorOf(v)}"/>`);
      parts.push(`<text x="${(left + w + 6).toFixed(1)}" y="${y + 12}" font-size="11">${esc(`${formatValue(value)} ${g.unit}`)}</text>`);
    });
  });
  parts.push('</svg>');
  return parts.join('\n');
}

const PERCENTILES: Array<[string, string]> = [
  ['p50', 'p50'],
  ['p90', 'p90'],
  ['p99', 'p99'],
  ['p999', 'p99.9'],
  ['max', 'max'],
];

/** Latency percentiles per variant, one panel per scenario, log scale (ms). */
export function latencyChart(panels: Array<{ title: string; figures: Figure[] }>, variants: string[]): string {
  const panelW = 380;
  const width = Math.max(560, 16 + panels.length * panelW);
  const height = 330;
  const top = 80;
  const bottom = 280;
  const keys = new Set(PERCENTILES.map(([k]) => k));
  const all = panels
    .flatMap((p) => p.figures.filter((f) => keys.has(f.key)).flatMap((f) => variants.map((v) => f.values[v] ?? NaN)))
    .filter((x) => Number.isFinite(x) && x > 0);
  const lo = Math.pow(10, Math.floor(Math.log10(Math.min(...all, 1))));
  const hi = Math.pow(10, Math.ceil(Math.log10(Math.max(...all, 10))));
  const yOf = (ms: number): number => bottom - ((Math.log10(Math.max(ms, lo)) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * (bottom - top);
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ${FONT}>`);
  parts.push(`<rect width="100%" height="100%" fill="white"/>`);
  parts.push(`<text x="16" y="24" font-size="16" font-weight="600">Publish-to-receive latency (ms, log scale, lower is better)</text>`);
  parts.push(legend(variants, 16, 48));
  panels.forEach((p, pi) => {
    const x0 = 16 + pi * panelW + 44;
    const plotW = panelW - 70;
    parts.push(`<text x="${x0}" y="${top - 10}" font-size="13" font-weight="600">${esc(p.title)}</text>`);
    for (let d = lo; d <= hi; d *= 10) {
      const y = yOf(d);
      parts.push(`<line x1="${x0}" x2="${x0 + plotW}" y1="${y.toFixed(1)}" y2="${y.toFixed(1)}" stroke="#e5e5e5"/>`);
      parts.push(`<text x="${x0 - 6}" y="${(y + 4).toFixed(1)}" font-size="10" text-anchor="end" fill="#555">${formatValue(d)}</text>`);
    }
    const slot = plotW / PERCENTILES.length;
    const barW = Math.min(18, (slot - 8) / variants.length);
    PERCENTILES.forEach(([key, label], i) => {
      const f = p.figures.find((x) => x.key === key);
      const sx = x0 + i * slot + (slot - barW * variants.length) / 2;
      variants.forEach((v, vi) => {
        const value = f?.values[v];
        if (value === undefined || !Number.isFinite(value)) return;
        const y = yOf(value);
        parts.push(`<rect x="${(sx + vi * barW).toFixed(1)}" y="${y.toFixed(1)}" width="${(barW - 2).toFixed(1)}" height="${Math.max(1, bottom - y).toFixed(1)}" fill="${colorOf(v)}"><title>${esc(`${labelOf(v)} ${label}: ${formatValue(value)} ms`)}</title></rect>`);
      });
      parts.push(`<text x="${(x0 + i * slot + slot / 2).toFixed(1)}" y="${bottom + 16}" font-size="11" text-anchor="middle">${label}</text>`);
    });
    parts.push(`<line x1="${x0}" x2="${x0 + plotW}" y1="${bottom}" y2="${bottom}" stroke="#333"/>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}

/** The charts of one run, by file name. */
export function renderCharts(figures: Figure[], variants: string[], titles: Record<string, string>): Record<string, string> {
  const get = (scenario: string, key: string): Figure | undefined => figures.find((f) => f.scenario === scenario && f.key === key);
  const charts: Record<string, string> = {};
  const throughput: BarGroup[] = [];
  const add = (scenario: string, key: string, title: string, unit: string, into: BarGroup[]): void => {
    const f = get(scenario, key);
    if (f !== undefined) into.push({ title, unit, values: f.values });
  };
  add('fan-out', 'deliveriesPerSecond', `${titles['fan-out'] ?? 'fan-out'}: deliveries/s`, '/s', throughput);
  add('high-fan-out', 'deliveriesPerSecond', `${titles['high-fan-out'] ?? 'high fan-out'}: deliveries/s`, '/s', throughput);
  add('saturation', 'maxDeliveriesPerSecond', 'saturation: deliveries/s at the highest passing rate', '/s', throughput);
  add('saturation', 'maxRate', 'saturation: highest passing publish rate', 'events/s', throughput);
  add('publish-throughput', 'publishesPerSecond', 'publish throughput (autocannon)', 'publishes/s', throughput);
  if (throughput.length > 0) charts['throughput.svg'] = groupedBars('Throughput per scenario (higher is better)', 'medians; each group scaled to its largest bar', throughput, variants);

  const cost: BarGroup[] = [];
  add('fan-out', 'serverCpuPerDelivery', `${titles['fan-out'] ?? 'fan-out'}`, 'µs', cost);
  add('high-fan-out', 'serverCpuPerDelivery', `${titles['high-fan-out'] ?? 'high fan-out'}`, 'µs', cost);
  add('idle-memory', 'rssPerConnection', 'RSS per idle connection', 'KiB', cost);
  if (cost.length > 0) charts['cost.svg'] = groupedBars('Server cost (lower is better)', 'CPU seconds per delivery from /proc (all threads), and memory per idle connection', cost, variants);

  const panels = ['fan-out', 'high-fan-out']
    .map((s) => ({ title: titles[s] ?? s, figures: figures.filter((f) => f.scenario === s) }))
    .filter((p) => p.figures.length > 0);
  if (panels.length > 0) charts['latency.svg'] = latencyChart(panels, variants);
  return charts;
}
