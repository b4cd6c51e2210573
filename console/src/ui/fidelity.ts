/**
 * What a reviewer must not be fooled by in text an agent wrote: characters that are invisible,
 * reorder what is shown (bidi controls), control the terminal, or look like Latin letters while
 * being something else. Each string is split into plain runs and flagged characters, one code point
 * at a time (no pattern that could backtrack on hostile input).
 */
export type FlagKind = 'invisible' | 'bidi' | 'control' | 'lookalike' | 'combining';

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
  combining: 'combining mark',
};

const BIDI = new Set([0x061c, 0x200e, 0x200f, 0x202a, 0x202b, 0x202c, 0x202d, 0x202e, 0x2066, 0x2067, 0x2068, 0x2069]);
// Blank-looking characters Unicode does not list as ignorable or as formats: Hangul fillers,
// Braille blank, Khmer inherent vowels, Mongolian vowel separator.
const BLANK = new Set([0x115f, 0x1160, 0x17b4, 0x17b5, 0x180e, 0x2800, 0x3164, 0xffa0]);
// Each test looks at one code point's string, so no pattern here can backtrack.
const IGNORABLE = /^[\p{Default_Ignorable_Code_Point}\p{Cf}]$/u;
const MARK = /^\p{M}$/u;

/** Invisible: default-ignorable code points (zero-width, joiners, variation selectors, tags…), formats, blanks. */
function isInvisible(cp: number): boolean {
  return BLANK.has(cp) || cp === 0x2028 || cp === 0x2029 || IGNORABLE.test(String.fromCodePoint(cp));
}

/** C0 and C1 controls and DEL; tab and newline are escaped in JSON anyway and are not flagged. */
function isControl(cp: number): boolean {
  return (cp < 0x20 && cp !== 0x09 && cp !== 0x0a) || (cp >= 0x7f && cp <= 0x9f);
}

/** Scripts whose letters pass for Latin ones (а, е, о, р, с in Cyrillic; ο, ν in Greek; ɡ in IPA; …). */
function isLookalikeScript(cp: number): boolean {
  return (
    (cp >= 0x0250 && cp <= 0x02af) || // IPA extensions
    (cp >= 0x0370 && cp <= 0x03ff) || // Greek
    (cp >= 0x0400 && cp <= 0x052f) || // Cyrillic and its supplement
    (cp >= 0x0530 && cp <= 0x058f) || // Armenian
    (cp >= 0x13a0 && cp <= 0x13ff) || // Cherokee
    (cp >= 0x1c80 && cp <= 0x1c8f) || // Cyrillic extended C
    (cp >= 0x1d00 && cp <= 0x1dbf) || // phonetic extensions (small capitals)
    (cp >= 0x1f00 && cp <= 0x1fff) || // Greek extended
    (cp >= 0x2de0 && cp <= 0x2dff) || // Cyrillic extended A
    (cp >= 0xa4d0 && cp <= 0xa4ff) || // Lisu
    (cp >= 0xa640 && cp <= 0xa69f) // Cyrillic extended B
  );
}

/** Always flagged: full-width forms and mathematical alphanumerics are Latin letters in disguise. */
function isStyledLatin(cp: number): boolean {
  return (cp >= 0xff01 && cp <= 0xff5e) || (cp >= 0x1d400 && cp <= 0x1d7ff) || (cp >= 0x2100 && cp <= 0x214f);
}

const isAsciiLetter = (cp: number) => (cp >= 0x41 && cp <= 0x5a) || (cp >= 0x61 && cp <= 0x7a);

/**
 * Splits `text` into plain runs and flagged characters. `strict` is for identifiers (action,
 * resource, param keys), where any letter of a look-alike script is flagged; elsewhere Greek or
 * Cyrillic prose is fine on its own and flagged only mixed with Latin letters. A combining mark is
 * flagged after an ASCII character (it changes a Latin letter) and when marks stack.
 */
export function inspect(text: string, strict = false): Segment[] {
  const codePoints = Array.from(text, (char) => char.codePointAt(0)!);
  const mixesLatin = strict || (codePoints.some(isAsciiLetter) && codePoints.some(isLookalikeScript));
  const segments: Segment[] = [];
  let plain = '';
  let previous = -1;
  let previousWasMark = false;
  for (const cp of codePoints) {
    const mark = MARK.test(String.fromCodePoint(cp));
    const flag: FlagKind | null = BIDI.has(cp)
      ? 'bidi'
      : isControl(cp)
        ? 'control'
        : isInvisible(cp)
          ? 'invisible'
          : mark && (previous < 0x80 || previousWasMark)
            ? 'combining'
            : isStyledLatin(cp) || (mixesLatin && isLookalikeScript(cp))
              ? 'lookalike'
              : null;
    previous = cp;
    previousWasMark = mark;
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
export function flagsIn(value: unknown, counts: Map<FlagKind, number> = new Map(), strict = false): Map<FlagKind, number> {
  const visit = (text: string, asIdentifier = strict) => {
    for (const segment of inspect(text, asIdentifier)) if (segment.flag) counts.set(segment.flag, (counts.get(segment.flag) ?? 0) + 1);
  };
  const walk = (node: unknown, depth: number): void => {
    if (depth > 64) return;
    if (typeof node === 'string') visit(node);
    else if (Array.isArray(node)) node.forEach((item) => walk(item, depth + 1));
    else if (node && typeof node === 'object')
      for (const [key, item] of Object.entries(node)) {
        visit(key, true);
        walk(item, depth + 1);
      }
  };
  walk(value, 0);
  return counts;
}

/**
 * A string for a place that only takes plain text (an `<option>`, an `aria-label`, a confirmation):
 * flagged characters written as their code points, so it cannot pass for another there either.
 */
export const plainLabel = (text: string): string =>
  inspect(text)
    .map((segment) =>
      segment.flag ? `${segment.flag === 'lookalike' ? segment.text : ''}⟨${codePointLabel(segment.codePoint!)}⟩` : segment.text,
    )
    .join('');
