// Python's html.unescape, which CLIP's basic_clean applies (twice) before tokenizing. Numeric references follow
// Python exactly (including its windows-1252 remapping of 0x80-0x9F and the code points it drops). Named
// references cover the entities people actually type into prompts, not the full HTML5 table of 2,231 names:
// an unknown name is left as written, as Python leaves a name it does not know.

// Python's html._invalid_charrefs
const INVALID_CHARREFS: Record<number, string> = {
  0x00: '\ufffd', 0x0d: '\r', 0x80: '\u20ac', 0x81: '\x81', 0x82: '\u201a', 0x83: '\u0192', 0x84: '\u201e',
  0x85: '\u2026', 0x86: '\u2020', 0x87: '\u2021', 0x88: '\u02c6', 0x89: '\u2030', 0x8a: '\u0160',
  0x8b: '\u2039', 0x8c: '\u0152', 0x8d: '\x8d', 0x8e: '\u017d', 0x8f: '\x8f', 0x90: '\x90', 0x91: '\u2018',
  0x92: '\u2019', 0x93: '\u201c', 0x94: '\u201d', 0x95: '\u2022', 0x96: '\u2013', 0x97: '\u2014',
  0x98: '\u02dc', 0x99: '\u2122', 0x9a: '\u0161', 0x9b: '\u203a', 0x9c: '\u0153', 0x9d: '\x9d',
  0x9e: '\u017e', 0x9f: '\u0178',
};

// Python's html._invalid_codepoints: these numeric references become ''.
function isDroppedCodepoint(cp: number): boolean {
  if ((cp >= 0x1 && cp <= 0x8) || (cp >= 0xe && cp <= 0x1f) || (cp >= 0x7f && cp <= 0x9f)) return true;
  if (cp >= 0xfdd0 && cp <= 0xfdef) return true;
  if (cp === 0xb) return true;
  return (cp & 0xfffe) === 0xfffe && cp <= 0x10ffff; // U+xFFFE and U+xFFFF of every plane
}

// Names HTML5 also accepts without the semicolon (the Latin-1 legacy set), the subset kept here.
const LEGACY: Record<string, string> = {
  amp: '&', lt: '<', gt: '>', quot: '"', nbsp: '\xa0', copy: '\xa9', reg: '\xae', deg: '\xb0', times: '\xd7',
  divide: '\xf7', middot: '\xb7', laquo: '\xab', raquo: '\xbb', pound: '\xa3', yen: '\xa5', cent: '\xa2',
  sect: '\xa7', para: '\xb6', plusmn: '\xb1', micro: '\xb5', eacute: '\xe9', egrave: '\xe8', aacute: '\xe1',
  agrave: '\xe0', ouml: '\xf6', uuml: '\xfc', auml: '\xe4', szlig: '\xdf', ccedil: '\xe7', ntilde: '\xf1',
  AMP: '&', LT: '<', GT: '>', QUOT: '"', COPY: '\xa9', REG: '\xae',
};
// Names that need their semicolon.
const WITH_SEMICOLON: Record<string, string> = {
  apos: "'", hellip: '\u2026', mdash: '\u2014', ndash: '\u2013', lsquo: '\u2018', rsquo: '\u2019',
  ldquo: '\u201c', rdquo: '\u201d', trade: '\u2122', euro: '\u20ac', bull: '\u2022', hearts: '\u2665',
  star: '\u2606', rarr: '\u2192', larr: '\u2190', infin: '\u221e', lpar: '(', rpar: ')', lsqb: '[',
  rsqb: ']', lbrack: '[', rbrack: ']', colon: ':', comma: ',', period: '.', excl: '!', quest: '?',
};

const REFERENCE = /&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)/g;

function replaceReference(whole: string, s: string): string {
  if (s[0] === '#') {
    const hex = s[1] === 'x' || s[1] === 'X';
    const digits = s.slice(hex ? 2 : 1).replace(/;$/, '');
    const cp = Number.parseInt(digits, hex ? 16 : 10);
    if (cp in INVALID_CHARREFS) return INVALID_CHARREFS[cp];
    if ((cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff || !Number.isFinite(cp)) return '\ufffd';
    if (isDroppedCodepoint(cp)) return '';
    return String.fromCodePoint(cp);
  }
  if (s.endsWith(';')) {
    const name = s.slice(0, -1);
    const value = LEGACY[name] ?? WITH_SEMICOLON[name];
    if (value !== undefined) return value;
  }
  if (LEGACY[s] !== undefined) return LEGACY[s];
  // longest legacy name that prefixes the text, the rest kept (Python: `&ampx` -> `&x`)
  for (let x = s.length - 1; x > 1; x--) {
    const value = LEGACY[s.slice(0, x)];
    if (value !== undefined) return value + s.slice(x);
  }
  return whole;
}

export function unescapeHtml(text: string): string {
  if (!text.includes('&')) return text;
  return text.replace(REFERENCE, replaceReference);
}
