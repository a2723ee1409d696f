/** How input text is quoted in messages, the same for every inventory format. */

/** A character as a message names it: `"x"`, `control character U+0009`, `non-ASCII character U+00E9 "é"`. */
export function describeChar(c: string): string {
  const code = c.codePointAt(0) ?? 0;
  const hex = `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
  if (code < 0x20 || code === 0x7f) return `control character ${hex}`;
  if (code > 0x7e) return `non-ASCII character ${hex}${/[\p{L}\p{N}\p{S}\p{P}]/u.test(c) ? ` "${c}"` : ''}`;
  return `"${c}"`;
}

/** Long input shortened to 40 characters for a message. */
export const short = (s: string): string => (s.length > 40 ? `${s.slice(0, 37)}...` : s);
