// Splits a prompt into runs for the prompt editor's highlighting, in A1111's syntax: `(words)` and
// `(words:1.3)` emphasis, `[words]` de-emphasis, `BREAK`, `<lora:name:0.8>` tags and `\(` escapes. Each run
// carries the weight A1111 would give it (nesting multiplies), so the editor can tint strong and weak words.
// Unbalanced brackets are marked, not fixed: the artist sees where a bracket is missing. Pure module.

export type RunKind = 'text' | 'bracket' | 'weight' | 'break' | 'lora' | 'escape' | 'unbalanced';

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
  const stack: { run: number; char: '(' | '['; factor: number }[] = [];
  const weightNow = () => stack.reduce((w, s) => w * s.factor, 1);
  const push = (kind: RunKind, text: string, weight = 1) => {
    const last = runs[runs.length - 1];
    if (last && last.kind === kind && kind === 'text' && last.weight === weight) last.text += text;
    else runs.push({ kind, text, weight });
  };

  for (const m of prompt.matchAll(TOKEN)) {
    const t = m[0];
    if (t.startsWith('\\') && t.length === 2) push('escape', t);
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
      push('text', t, weightNow());
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
