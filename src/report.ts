/** Terminal output helpers: colours (off under NO_COLOR or off a terminal), widths, tables, plurals. */
import pc from 'picocolors';

/** Colour functions, all identity when colour is off. */
export interface Colors {
  bold(s: string): string;
  dim(s: string): string;
  red(s: string): string;
  green(s: string): string;
  yellow(s: string): string;
  cyan(s: string): string;
}

/** Colour only on a terminal, and never under NO_COLOR (https://no-color.org). */
export function useColor(stream: NodeJS.WriteStream = process.stdout, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0') return true;
  return Boolean(stream.isTTY) && env.TERM !== 'dumb';
}

export function colors(enabled: boolean): Colors {
  const c = pc.createColors(enabled);
  return { bold: c.bold, dim: c.dim, red: c.red, green: c.green, yellow: c.yellow, cyan: c.cyan };
}

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;]*m/g;

/** Printed width of a string that may hold colour codes. */
export function visibleWidth(s: string): number {
  return s.replace(ANSI, '').length;
}

/**
 * An aligned text table. Columns are padded to their widest cell; the last column is not
 * padded, so lines carry no trailing spaces. `align` 'r' right-aligns a column (numbers).
 */
export function table(header: string[], rows: string[][], opts: { align?: Array<'l' | 'r'>; c?: Colors } = {}): string {
  const widths = header.map((h, i) => Math.max(visibleWidth(h), ...rows.map((r) => visibleWidth(r[i] ?? ''))));
  const fmt = (cells: string[]) =>
    cells
      .map((cell, i) => {
        const pad = ' '.repeat(Math.max(0, widths[i]! - visibleWidth(cell)));
        if (opts.align?.[i] === 'r') return pad + cell;
        return i === cells.length - 1 ? cell : cell + pad;
      })
      .join('  ')
      .trimEnd();
  const head = fmt(header);
  return [opts.c ? opts.c.bold(head) : head, ...rows.map(fmt)].join('\n');
}

export function plural(n: number, word: string, pluralWord = `${word}s`): string {
  return `${n} ${n === 1 ? word : pluralWord}`;
}
