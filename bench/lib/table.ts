/** A benchmark's result: rows under named columns, printed as a Markdown table (which reads
 * fine in a terminal and pastes into BENCHMARKS.md as is). */
export interface Column {
  key: string;
  title: string;
  /** Right-align (numbers). */
  numeric?: boolean;
}

export type Row = Record<string, string>;

export interface ResultTable {
  title: string;
  columns: Column[];
  rows: Row[];
  /** Lines printed under the table: targets met or not, caveats. */
  notes: string[];
}

export function formatTable(t: ResultTable): string {
  const widths = t.columns.map((c) => Math.max(c.title.length, ...t.rows.map((r) => (r[c.key] ?? '').length)));
  const cell = (text: string, i: number) => (t.columns[i]!.numeric ? text.padStart(widths[i]!) : text.padEnd(widths[i]!));
  const line = (cells: string[]) => `| ${cells.map(cell).join(' | ')} |`;
  const rule = `|${t.columns.map((c, i) => (c.numeric ? `${'-'.repeat(widths[i]! + 1)}:` : '-'.repeat(widths[i]! + 2))).join('|')}|`;
  return [line(t.columns.map((c) => c.title)), rule, ...t.rows.map((r) => line(t.columns.map((c) => r[c.key] ?? '')))].join('\n');
}

/** Fixed decimals, thousands separated. */
export function num(x: number, decimals = 0): string {
  if (!Number.isFinite(x)) return '–';
  return x.toLocaleString('en-US', { minimumFractionDigits: decimals, maximumFractionDigits: decimals });
}
