/**
 * What a reviewer must not be fooled by in text an agent wrote: characters that are invisible,
 * reorder what is shown (bidi controls), control the terminal, or look like Latin letters while
 * being something else. Each string is split into plain runs and flagged characters, one code point
 * at a time (no pattern that could backtrack on hostile input).
 */
export type FlagKind = 'invisible' | 'bidi' | 'control' | 'lookalike';

export interface Segment {
  text: string;
  /** Set for a flagged character: shown escaped (or, for a look-alike, marked) instead of as is. */
  flag?: FlagKind;
  codePoint?: number;
}

export const FLAG_LABELS: Record<FlagKind, string> = {
  invisible: 'invisible character',
  bidi: 'bidirectional control',
  control: 'control character',
  lookalike: 'look-alike letter',
};

const BIDI = new Set([0x061c, 0x200e, 0x200f, 0x202a, 0x202b, 0x202c, 0x202d, 0x202e, 0x2066, 0x2067, 0x2068, 0x2069]);
const INVISIBLE_SINGLES = new Set([0x00ad, 0x034f, 0x115f, 0x1160, 0x17b4, 0x17b5, 0x180e, 0x3164, 0xfeff, 0xffa0, 0x2028, 0x2029]);

function isInvisible(cp: number): boolean {
  return (
    INVISIBLE_SINGLES.has(cp) ||
    (cp >= 0x200b && cp <= 0x200d) || // zero-width space, non-joiner, joiner
    (cp >= 0x2060 && cp <= 0x2064) || // word joiner, invisible operators
    (cp >= 0x180b && cp <= 0x180d) || // Mongolian variation selectors
    (cp >= 0xfe00 && cp <= 0xfe0f) || // variation selectors
    (cp >= 0xe0000 && cp <= 0xe007f) || // tag characters
    (cp >= 0xe0100 && cp <= 0xe01ef) // variation selectors supplement
  );
}

/** C0 and C1 controls and DEL; tab and newline are escaped in JSON anyway and are not flagged. */
function isControl(cp: number): boolean {
  return (cp < 0x20 && cp !== 0x09 && cp !== 0x0a) || (cp >= 0x7f && cp <= 0x9f);
}

/** Scripts whose letters pass for Latin ones (а, е, о, р, с in Cyrillic; ο, ν in Greek; …), and styled Latin. */
function isLookalikeScript(cp: number): boolean {
  return (
    (cp >= 0x0370 && cp <= 0x03ff) || // Greek
    (cp >= 0x0400 && cp <= 0x052f) || // Cyrillic
    (cp >= 0x0530 && cp <= 0x058f) || // Armenian
    (cp >= 0x13a0 && cp <= 0x13ff) || // Cherokee
    (cp >= 0x1d00 && cp <= 0x1dbf) // phonetic extensions (small capitals)
  );
}

/** Always flagged: full-width forms and mathematical alphanumerics are Latin letters in disguise. */
function isStyledLatin(cp: number): boolean {
  return (cp >= 0xff01 && cp <= 0xff5e) || (cp >= 0x1d400 && cp <= 0x1d7ff) || (cp >= 0x2100 && cp <= 0x214f);
}

const isAsciiLetter = (cp: number) => (cp >= 0x41 && cp <= 0x5a) || (cp >= 0x61 && cp <= 0x7a);

/** Splits `text` into plain runs and flagged characters. */
export function inspect(text: string): Segment[] {
  const codePoints = Array.from(text, (char) => char.codePointAt(0)!);
  // Greek or Cyrillic prose is fine on its own; mixed with Latin letters, it is how look-alikes hide.
  const mixesLatin = codePoints.some(isAsciiLetter) && codePoints.some(isLookalikeScript);
  const segments: Segment[] = [];
  let plain = '';
  for (const cp of codePoints) {
    const flag: FlagKind | null = BIDI.has(cp)
      ? 'bidi'
      : isInvisible(cp)
        ? 'invisible'
        : isControl(cp)
          ? 'control'
          : isStyledLatin(cp) || (mixesLatin && isLookalikeScript(cp))
            ? 'lookalike'
            : null;
    if (!flag) {
      plain += String.fromCodePoint(cp);
      continue;
    }
    if (plain) segments.push({ text: plain });
    plain = '';
    segments.push({ text: String.fromCodePoint(cp), flag, codePoint: cp });
  }
  if (plain) segments.push({ text: plain });
  return segments;
}

/** `U+200B`: how a flagged character is written out. */
export const codePointLabel = (cp: number) => `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;

/** Every flag found in a JSON value's strings (keys included), counted by kind. */
export function flagsIn(value: unknown, counts: Map<FlagKind, number> = new Map()): Map<FlagKind, number> {
  const visit = (text: string) => {
    for (const segment of inspect(text)) if (segment.flag) counts.set(segment.flag, (counts.get(segment.flag) ?? 0) + 1);
  };
  const walk = (node: unknown, depth: number): void => {
    if (depth > 64) return;
    if (typeof node === 'string') visit(node);
    else if (Array.isArray(node)) node.forEach((item) => walk(item, depth + 1));
    else if (node && typeof node === 'object')
      for (const [key, item] of Object.entries(node)) {
        visit(key);
        walk(item, depth + 1);
      }
  };
  walk(value, 0);
  return counts;
}
