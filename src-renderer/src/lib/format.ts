// Pure formatting helpers for the renderer: sizes, counts, times and hashes as an artist reads them.
// No DOM here so that node's test runner can check them (format.test.ts).

const BYTE_UNITS = ['B', 'KB', 'MB', 'GB', 'TB', 'PB'];

/**
 * Human size with binary steps (1 KB = 1024 B, as file managers on Windows and most model hubs show it):
 * three significant digits at most, no trailing ".0".
 */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return '—';
  if (bytes < 1024) return `${Math.round(bytes)} B`;
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < BYTE_UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  // 1023.7 KB would print as "1024 KB": move to the next unit when rounding reaches it.
  if (Math.round(value) >= 1024 && unit < BYTE_UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  const digits = value >= 100 ? 0 : value >= 10 ? 1 : 2;
  const fixed = value.toFixed(digits);
  const text = digits > 0 ? fixed.replace(/\.?0+$/, '') : fixed; // "1.50" -> "1.5", "170" stays
  return `${text} ${BYTE_UNITS[unit]}`;
}

/** "1 model", "3 models"; `plural` defaults to singular + "s". */
export function countOf(n: number, singular: string, plural = `${singular}s`): string {
  return `${n.toLocaleString('en-US')} ${n === 1 ? singular : plural}`;
}

/** Integer with thousands separators ("12,345,678"), for parameter counts and byte totals. */
export function formatInteger(n: number): string {
  return Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '—';
}

/** "just now", "5 min ago", "3 h ago", "2 days ago", or the date for anything older than a month. */
export function formatRelativeTime(iso: string | null, now: number = Date.now()): string {
  if (!iso) return 'never';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  const seconds = Math.max(0, Math.round((now - t) / 1000));
  if (seconds < 45) return 'just now';
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.round(minutes / 60);
  if (hours < 24) return `${hours} h ago`;
  const days = Math.round(hours / 24);
  if (days < 31) return days === 1 ? 'yesterday' : `${days} days ago`;
  return new Date(t).toISOString().slice(0, 10);
}

/** Local date and time, minute precision: "2025-03-14 09:26". */
export function formatDateTime(iso: string | null): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** Progress as a fraction in [0, 1], or null when the total is not known yet (indeterminate bar). */
export function progressFraction(step: number, total: number): number | null {
  if (!(total > 0) || !Number.isFinite(step)) return null;
  return Math.min(1, Math.max(0, step / total));
}

/** Percent text for a fraction: "42%". */
export function formatPercent(fraction: number): string {
  return `${Math.round(fraction * 100)}%`;
}

/** The last `segments` parts of a path, for narrow columns: ".../models/lora/x.safetensors". */
export function shortenPath(path: string, segments = 2): string {
  const parts = path.split(/[\\/]+/).filter((p) => p.length > 0);
  if (parts.length <= segments) return path;
  const sep = path.includes('\\') && !path.includes('/') ? '\\' : '/';
  return `…${sep}${parts.slice(-segments).join(sep)}`;
}

/** File extension without the dot, lower case; '' when there is none. */
export function fileExtension(path: string): string {
  const base = path.split(/[\\/]/).pop() ?? '';
  const dot = base.lastIndexOf('.');
  return dot > 0 ? base.slice(dot + 1).toLowerCase() : '';
}

/** Words that keep their own spelling in labels. */
const KEY_WORDS: Record<string, string> = { unet: 'UNet', vae: 'VAE', clip: 'CLIP', lora: 'LoRA', dtype: 'dtype', sha: 'SHA', te: 'TE' };

/**
 * A detail key from the detector as a label: "contextWidth" -> "Context width", "unetDType" -> "UNet dtype".
 * Runs of capitals stay together ("parseVAEKeys" -> "Parse VAE keys").
 */
export function humanizeKey(key: string): string {
  const words = key
    .replace(/DType/g, 'Dtype')
    .replace(/[_\-.]+/g, ' ')
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .trim()
    .split(/\s+/)
    .filter((w) => w.length > 0)
    .map((w, i) => {
      const known = KEY_WORDS[w.toLowerCase()];
      if (known) return known;
      if (w.length > 1 && /^[A-Z0-9]+$/.test(w)) return w; // acronym
      return i === 0 ? w[0].toUpperCase() + w.slice(1).toLowerCase() : w.toLowerCase();
    });
  return words.join(' ') || key;
}

/**
 * Text from the disk (file names, paths) as it may be shown: bidirectional controls (U+202E RIGHT-TO-LEFT
 * OVERRIDE reorders 'evil\u202Egnp.exe' to read 'evilexe.png'), zero-width and other invisible format characters
 * and control characters are shown as their code, [U+202E], instead of acting on the text around them.
 */
export function visibleText(text: string): string {
  return text.replace(INVISIBLE, (c) => `[U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}]`);
}

// C0/C1 controls, soft hyphen, Arabic letter mark, zero-width and bidi marks/embeddings/overrides/isolates, BOM.
const INVISIBLE = /[\u0000-\u001f\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/g;

