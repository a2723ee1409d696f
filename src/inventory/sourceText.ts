/**
 * Line and column of character offsets in an input text, for messages. The table of line starts
 * is built the first time a position is asked for, and the text itself may be decoded only then:
 * a valid file (the common case, and a large one for a big cluster) never pays for them.
 */
export class SourceText {
  private starts: number[] | undefined;
  private decoded: string | undefined;

  /** The text, or a function that gives it when first needed (a large file read as bytes). */
  constructor(private readonly from: string | (() => string)) {}

  get text(): string {
    return (this.decoded ??= typeof this.from === 'string' ? this.from : this.from());
  }

  private lineStarts(): number[] {
    if (this.starts) return this.starts;
    const starts = [0];
    const text = this.text;
    for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
    return (this.starts = starts);
  }

  /** 1-based line and column of an offset; lines end at "\n" (a "\r" before it is not shown). */
  pos(offset: number): { line: number; column: number } {
    const starts = this.lineStarts();
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: offset - starts[lo]! + 1 };
  }

  /** The text of a 1-based line, without its line break. */
  source(line: number): string {
    const starts = this.lineStarts();
    const start = starts[line - 1];
    if (start === undefined) return '';
    const end = line < starts.length ? starts[line]! - 1 : this.text.length;
    const s = this.text.slice(start, end);
    return s.endsWith('\r') ? s.slice(0, -1) : s;
  }
}
