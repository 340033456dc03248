// A1111's prompt editing and alternation, read before the weighting syntax (prompt-syntax.ts):
//   [from:to:when]  `from` until step `when`, then `to`      [to:when]   nothing, then `to`
//   [from::when]    `from`, then nothing                     [a|b|c]     a, b, c, a, ... one per step
// `when` with a '.' is a fraction of the steps, otherwise a step number. Everything nests, `\[` `\]` are literal,
// and weights `(x:1.2)` and BREAK pass through untouched for prompt-syntax.ts to read in each step's text.
//
// Follows modules/prompt_parser.py (get_learned_conditioning_prompt_schedules) as A1111 1.6+ has it: the same
// grammar (its Lark rules, parsed here by recursive descent), the same step arithmetic
//   when = min(steps, int(float(when) * steps if '.' in when else float(when)))
// (int truncates; a `when` below 1 adds no step but still means "from step 1 on, `to`"), and for the hires pass
// `when` counts on from the first pass: fractions as (when - 1) * hiresSteps, step numbers as when - steps.
// A prompt's schedule is [(endStep, text)]: the text holds for every step counter <= endStep (see textIndexAt).
// A1111 reads a prompt its grammar cannot parse as plain text, silently dropping any schedule in it; here such a
// prompt is refused with the column where it fails when a schedule would be lost (PromptScheduleError), and is
// plain text, as in A1111, when it holds none.

/** `syntax`: the [start, end) character ranges of the brackets, separators and `when` (for highlighting). */
type Node =
  | { kind: 'text'; text: string }
  | { kind: 'scheduled'; before: Node[]; after: Node[]; when: string; syntax: [number, number][] }
  | { kind: 'alternate'; options: Node[][]; syntax: [number, number][] };

interface Parsed {
  nodes: Node[];
  end: number;
}

const NOT_PLAIN = new Set(['\\', '[', ']', '(', ')', ':', '|']);
const STRAY = new Set(['[', ']', '(', ')', ':']);
// lark's common.SIGNED_NUMBER: [+-]? (INT exponent | DECIMAL exponent? | INT), DECIMAL = INT "." INT? | "." INT
const SIGNED_NUMBER = /[+-]?(?:(?:\d+\.\d*|\.\d+)(?:[eE][+-]?\d+)?|\d+[eE][+-]?\d+|\d+)/y;
const WHITESPACE = /\s+/y;

/** One parse of A1111's grammar; `lenient` reads a stray `|` or a trailing `\` as text instead of failing. */
class ScheduleParser {
  /** Where the parse stopped for good, when it failed. */
  failedAt = -1;
  constructor(
    private readonly src: string,
    private readonly lenient: boolean,
  ) {}

  /** start: (prompt | /[][():]/+)*  — top-level text may hold unmatched brackets and colons. */
  parseStart(): Node[] | null {
    const nodes: Node[] = [];
    let pos = 0;
    while (pos < this.src.length) {
      const p = this.parsePrompt(pos);
      nodes.push(...p.nodes);
      pos = p.end;
      if (pos >= this.src.length) break;
      const c = this.src[pos];
      if (STRAY.has(c) || this.lenient) {
        nodes.push({ kind: 'text', text: c });
        pos++;
      } else {
        this.failedAt = pos;
        return null;
      }
    }
    return nodes;
  }

  /** prompt: (emphasized | scheduled | alternate | plain | WHITESPACE)*, as far as it goes. */
  private parsePrompt(start: number): Parsed {
    const nodes: Node[] = [];
    let pos = start;
    for (;;) {
      const plainEnd = this.plainEnd(pos);
      if (plainEnd > pos) {
        nodes.push({ kind: 'text', text: this.src.slice(pos, plainEnd) });
        pos = plainEnd;
        continue;
      }
      const c = this.src[pos];
      const item = c === '(' ? this.parseRound(pos) : c === '[' ? this.parseSquare(pos) : null;
      if (!item) return { nodes, end: pos };
      nodes.push(...item.nodes);
      pos = item.end;
    }
  }

  /** plain: /([^\\\[\]():|]|\\.)+/ — an escape takes the next character whatever it is, and stays in the text. */
  private plainEnd(pos: number): number {
    const s = this.src;
    while (pos < s.length) {
      if (s[pos] === '\\') {
        if (pos + 1 >= s.length) return pos;
        pos += 2;
      } else if (!NOT_PLAIN.has(s[pos])) {
        pos++;
      } else {
        break;
      }
    }
    return pos;
  }

  /** emphasized: "(" prompt ")" | "(" prompt ":" prompt ")" — kept as written, brackets included. */
  private parseRound(open: number): Parsed | null {
    const first = this.parsePrompt(open + 1);
    const nodes: Node[] = [{ kind: 'text', text: '(' }, ...first.nodes];
    let pos = first.end;
    if (this.src[pos] === ':') {
      const second = this.parsePrompt(pos + 1);
      nodes.push({ kind: 'text', text: ':' }, ...second.nodes);
      pos = second.end;
    }
    if (this.src[pos] !== ')') return null;
    nodes.push({ kind: 'text', text: ')' });
    return { nodes, end: pos + 1 };
  }

  /** "[" prompt "]" (kept as written), scheduled, or alternate. */
  private parseSquare(open: number): Parsed | null {
    const first = this.parsePrompt(open + 1);
    const next = this.src[first.end];
    if (next === ']') {
      return { nodes: [{ kind: 'text', text: '[' }, ...first.nodes, { kind: 'text', text: ']' }], end: first.end + 1 };
    }
    if (next === '|') {
      const options = [first.nodes];
      const syntax: [number, number][] = [[open, open + 1]];
      let pos = first.end;
      while (this.src[pos] === '|') {
        syntax.push([pos, pos + 1]);
        const option = this.parsePrompt(pos + 1);
        options.push(option.nodes);
        pos = option.end;
      }
      if (this.src[pos] !== ']') return null;
      syntax.push([pos, pos + 1]);
      return { nodes: [{ kind: 'alternate', options, syntax }], end: pos + 1 };
    }
    if (next !== ':') return null;
    // "[" prompt ":" NUMBER "]"  (to:when), else "[" prompt ":" prompt ":" NUMBER "]"  (from:to:when)
    const short = this.whenAt(first.end + 1);
    if (short) {
      const syntax: [number, number][] = [[open, open + 1], [first.end, short.end]];
      return { nodes: [{ kind: 'scheduled', before: [], after: first.nodes, when: short.when, syntax }], end: short.end };
    }
    const second = this.parsePrompt(first.end + 1);
    if (this.src[second.end] !== ':') return null;
    const long = this.whenAt(second.end + 1);
    if (!long) return null;
    const syntax: [number, number][] = [[open, open + 1], [first.end, first.end + 1], [second.end, long.end]];
    return { nodes: [{ kind: 'scheduled', before: first.nodes, after: second.nodes, when: long.when, syntax }], end: long.end };
  }

  /** [WHITESPACE] NUMBER [WHITESPACE] "]" */
  private whenAt(pos: number): { when: string; end: number } | null {
    pos = this.skip(WHITESPACE, pos);
    SIGNED_NUMBER.lastIndex = pos;
    const m = SIGNED_NUMBER.exec(this.src);
    if (!m) return null;
    pos = this.skip(WHITESPACE, pos + m[0].length);
    return this.src[pos] === ']' ? { when: m[0], end: pos + 1 } : null;
  }

  private skip(re: RegExp, pos: number): number {
    re.lastIndex = pos;
    const m = re.exec(this.src);
    return m ? pos + m[0].length : pos;
  }
}

/** One entry of a prompt's schedule: `text` is the prompt for every step counter up to and including `endStep`. */
export interface ScheduledText {
  endStep: number;
  text: string;
}

export interface ScheduleOptions {
  /** The hires pass: its own step count, `steps` being the first pass's (A1111's hires_steps). */
  hiresSteps?: number;
}

/** A prompt whose schedule A1111 would silently drop; `column` is 1-based. */
export class PromptScheduleError extends Error {
  readonly kind = 'prompt-schedule';
  constructor(
    readonly prompt: string,
    readonly column: number,
    readonly reason: string,
  ) {
    super(`${reason} (column ${column})\n${caretExcerpt(prompt, column)}`);
    this.name = 'PromptScheduleError';
  }
}

/** The prompt's line around `column` with a caret under it (long prompts are cut to the part that matters). */
export function caretExcerpt(prompt: string, column: number, width = 72): string {
  const flat = prompt.replace(/[\r\n\t]/g, ' ');
  const at = column - 1;
  const from = Math.max(0, Math.min(at - Math.floor(width / 2), flat.length - width));
  const shown = flat.slice(from, from + width);
  const lead = from > 0 ? '…' : '';
  return `  ${lead}${shown}${from + width < flat.length ? '…' : ''}\n  ${' '.repeat(lead.length + at - from)}^`;
}

function hasSchedule(nodes: readonly Node[]): boolean {
  return nodes.some((n) => n.kind !== 'text');
}

/** The first `[` left open before `pos` (escapes skipped), or -1. */
function openBracketBefore(src: string, pos: number): number {
  const open: number[] = [];
  for (let i = 0; i < pos; i++) {
    if (src[i] === '\\') i++;
    else if (src[i] === '[') open.push(i);
    else if (src[i] === ']') open.pop();
  }
  return open.length > 0 ? open[open.length - 1] : -1;
}

/**
 * The prompt as A1111's grammar reads it, or null when A1111 reads it as plain text. Throws PromptScheduleError
 * when the grammar fails and the prompt evidently holds a schedule (or an alternation left open) that A1111
 * would silently ignore.
 */
function parseSchedule(prompt: string): Node[] | null {
  const strict = new ScheduleParser(prompt, false);
  const nodes = strict.parseStart();
  if (nodes) return nodes;
  const at = strict.failedAt;
  const lenient = new ScheduleParser(prompt, true).parseStart() ?? [];
  const open = openBracketBefore(prompt, at);
  const isBar = prompt[at] === '|';
  if (!hasSchedule(lenient) && !(isBar && open >= 0)) return null;
  let reason: string;
  if (!isBar) {
    reason = 'The prompt ends with a lone "\\" (write "\\\\" for a backslash); the prompt editing in it cannot be read';
  } else if (open >= 0) {
    reason = `This "|" is not inside a complete alternation [a|b]: the "[" at column ${open + 1} has no matching "]" (or a ":" or ")" breaks it)`;
  } else {
    reason = 'This "|" is outside any [a|b] alternation, so A1111 would read the whole prompt as plain text and drop its prompt editing (write "\\|" for a literal bar)';
  }
  throw new PromptScheduleError(prompt, at + 1, reason);
}

/** A1111's step for a `when` token: min(steps, int(value)) with its fraction and hires rules. */
function whenStep(when: string, steps: number, options: ScheduleOptions): { step: number; total: number } {
  const hires = options.hiresSteps !== undefined;
  const total = hires ? options.hiresSteps! : steps;
  const value = Number(when);
  const raw = when.includes('.') ? (value - (hires ? 1 : 0)) * total : value - (hires ? steps : 0);
  return { step: Math.min(total, Math.trunc(raw)), total };
}

function textAt(nodes: readonly Node[], step: number, whens: Map<Node, number>): string {
  let out = '';
  for (const n of nodes) {
    if (n.kind === 'text') out += n.text;
    else if (n.kind === 'scheduled') out += textAt(step <= whens.get(n)! ? n.before : n.after, step, whens);
    else out += textAt(n.options[(step - 1) % n.options.length], step, whens);
  }
  return out;
}

/**
 * A1111's schedule of one prompt over `steps` (the sampler's total denoiser calls as A1111 counts them, see
 * scheduleSteps): [(endStep, text)] ascending, the last ending at `steps`. A prompt without prompt editing
 * is one entry, its own text.
 */
export function promptSchedule(prompt: string, steps: number, options: ScheduleOptions = {}): ScheduledText[] {
  if (!Number.isInteger(steps) || steps < 1) throw new RangeError(`promptSchedule: steps ${steps} must be a positive integer`);
  const total = options.hiresSteps ?? steps;
  const nodes = parseSchedule(prompt);
  if (!nodes) return [{ endStep: total, text: prompt }];
  const ends = new Set<number>([total]);
  const whens = new Map<Node, number>();
  const visit = (list: readonly Node[]): void => {
    for (const n of list) {
      if (n.kind === 'scheduled') {
        const { step } = whenStep(n.when, steps, options);
        whens.set(n, step);
        if (step >= 1) ends.add(step);
        visit(n.before);
        visit(n.after);
      } else if (n.kind === 'alternate') {
        for (let s = 1; s <= total; s++) ends.add(s);
        n.options.forEach(visit);
      }
    }
  };
  visit(nodes);
  return [...ends].sort((a, b) => a - b).map((endStep) => ({ endStep, text: textAt(nodes, endStep, whens) }));
}

/** Throws PromptScheduleError when the prompt's schedule does not parse (for checking a request early). */
export function checkPromptSchedule(prompt: string): void {
  parseSchedule(prompt);
}

/** The reason the prompt's schedule does not parse, or null: for the prompt box and the request checks. */
export function promptScheduleProblem(prompt: string): PromptScheduleError | null {
  try {
    parseSchedule(prompt);
    return null;
  } catch (err) {
    if (err instanceof PromptScheduleError) return err;
    throw err;
  }
}

/**
 * The characters that are prompt-editing syntax (the brackets, `:` and `|` separators and `when` of every edit and
 * alternation), for the prompt box's highlighting; empty when the prompt holds none or does not parse.
 */
export function promptScheduleSyntax(prompt: string): Set<number> {
  const marks = new Set<number>();
  const nodes = new ScheduleParser(prompt, false).parseStart();
  const visit = (list: readonly Node[]): void => {
    for (const n of list) {
      if (n.kind === 'text') continue;
      for (const [start, end] of n.syntax) for (let i = start; i < end; i++) marks.add(i);
      if (n.kind === 'scheduled') {
        visit(n.before);
        visit(n.after);
      } else {
        n.options.forEach(visit);
      }
    }
  };
  visit(nodes ?? []);
  return marks;
}

/** prompt_parser.reconstruct_cond_batch: the entry for denoiser call `counter` (0-based): the first ending at or after it. */
export function textIndexAt(schedule: readonly ScheduledText[], counter: number): number {
  const i = schedule.findIndex((entry) => counter <= entry.endStep);
  return i === -1 ? 0 : i;
}
