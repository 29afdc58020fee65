// What every scenario gets: the settings, the variants in the order to run them in a given round,
// a progress printer, and the record sink (each record becomes one line of the results' `runs`).
import { parseVariant, type Variant } from '../server-process.js';
import type { BenchSettings } from '../settings.js';

export interface RunRecord {
  scenario: string;
  variant: string;
  round: number;
  [figure: string]: unknown;
}

export interface ScenarioContext {
  settings: Readonly<BenchSettings>;
  variants: Variant[];
  log(line: string): void;
  record(r: RunRecord): void;
}

/** Variants in round order: as listed in even rounds, reversed in odd ones (no variant always runs first on a cold machine). */
export function roundOrder<T>(variants: readonly T[], round: number): readonly T[] {
  return round % 2 === 0 ? variants : [...variants].reverse();
}

export function makeContext(settings: Readonly<BenchSettings>, record: (r: RunRecord) => void): ScenarioContext {
  const started = performance.now();
  return {
    settings,
    variants: settings.variants.map((v) => parseVariant(v)!),
    log: (line) => {
      const t = (performance.now() - started) / 1000;
      console.log(`[${String(Math.floor(t / 60)).padStart(2, '0')}:${(t % 60).toFixed(0).padStart(2, '0')}] ${line}`);
    },
    record,
  };
}
