// Splits a prompt into runs for the prompt editor's highlighting, in A1111's syntax: `(words)` and
// `(words:1.3)` emphasis, `[words]` de-emphasis, `BREAK`, `<lora:name:0.8>` tags and `\(` escapes. Each run
// carries the weight A1111 would give it (nesting multiplies), so the editor can tint strong and weak words.
// Unbalanced brackets are marked, not fixed: the artist sees where a bracket is missing. Prompt editing
// `[a:b:0.5]` and alternation `[a|b]` are 'schedule' runs (their brackets, separators and `when`); their words
// keep weight 1, as A1111 gives each step's text. Pure module.
import { promptScheduleSyntax } from '../../../../src-main/common/prompt-schedule.ts';

export type RunKind = 'text' | 'bracket' | 'weight' | 'break' | 'lora' | 'escape' | 'unbalanced' | 'schedule';

export interface PromptRun {
  kind: RunKind;
  text: string;
  /** The A1111 weight of text runs (1 outside brackets). */
  weight: number;
}

const TOKEN = /\\[()[\]\\]|<lora:[^>]*>|\bBREAK\b|:\s*[+-]?(?:\d+\.?\d*|\.\d+)\s*\)|[()[\]]|[^\\()[\]<:B]+|./gs;

export function highlightPrompt(prompt: string): PromptRun[] {
  const runs: PromptRun[] = [];
  // Open brackets: their run index and multiplier (1.1 for round, 1/1.1 for square, until a weight says more).
  // An edit's or alternation's '[' is 'edit', factor 1; its contents are balanced, so its ']' finds it on top.
  const stack: { run: number; char: '(' | '[' | 'edit'; factor: number }[] = [];
  const weightNow = () => stack.reduce((w, s) => w * s.factor, 1);
  const push = (kind: RunKind, text: string, weight = 1) => {
    const last = runs[runs.length - 1];
    if (last && last.kind === kind && ((kind === 'text' && last.weight === weight) || kind === 'schedule')) last.text += text;
    else runs.push({ kind, text, weight });
  };

  const schedule = promptScheduleSyntax(prompt);
  for (const m of prompt.matchAll(TOKEN)) {
    const t = m[0];
    const at = m.index;
    if ((t === '[' || t === ']') && schedule.has(at)) {
      if (t === '[') stack.push({ run: runs.length, char: 'edit', factor: 1 });
      else stack.pop();
      push('schedule', t);
    } else if (t.startsWith('\\') && t.length === 2) push('escape', t);
    else if (t.startsWith('<lora:')) push('lora', t);
    else if (t === 'BREAK') push('break', t);
    else if (t === '(' || t === '[') {
      stack.push({ run: runs.length, char: t, factor: t === '(' ? 1.1 : 1 / 1.1 });
      push('bracket', t);
    } else if (t.startsWith(':') && t.endsWith(')')) {
      const open = [...stack].reverse().find((s) => s.char === '(');
      if (!open) {
        push('unbalanced', t);
        continue;
      }
      // The explicit weight replaces the 1.1 of the bracket for everything since it opened.
      const value = Number.parseFloat(t.slice(1, -1));
      const k = value / open.factor;
      for (let i = open.run; i < runs.length; i++) if (runs[i].kind === 'text') runs[i].weight *= k;
      stack.splice(stack.lastIndexOf(open), 1);
      push('weight', t.slice(0, -1));
      push('bracket', ')');
    } else if (t === ')' || t === ']') {
      const want = t === ')' ? '(' : '[';
      const top = stack[stack.length - 1];
      if (!top || top.char !== want) {
        push('unbalanced', t);
        continue;
      }
      stack.pop();
      push('bracket', t);
    } else {
      // text, split where prompt-editing separators or a `when` sit inside it
      for (let i = 0; i < t.length; ) {
        const marked = schedule.has(at + i);
        let j = i + 1;
        while (j < t.length && schedule.has(at + j) === marked) j++;
        if (marked) push('schedule', t.slice(i, j));
        else push('text', t.slice(i, j), weightNow());
        i = j;
      }
    }
  }
  // Brackets never closed.
  for (const open of stack) runs[open.run].kind = 'unbalanced';
  return runs;
}

/** Words A1111 would weigh above 1 or below 1 ('strong', 'weak'), for the editor's tint. */
export function weightClass(weight: number): 'strong' | 'weak' | 'plain' {
  if (weight > 1.001) return 'strong';
  if (weight < 0.999) return 'weak';
  return 'plain';
}
