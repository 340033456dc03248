// Names the prompt box offers while the artist types (textual-inversion embeddings, by their file stem): the
// word before the caret is matched, case-insensitively, against the start of each name; accepting a name
// replaces that word. Pure functions, so the behaviour is tested without a DOM.

/** Letters, digits and the characters embedding file names carry (`bad_prompt_version2`, `ng-deepnegative`). */
const WORD_BEFORE_CARET = /[\p{L}\p{N}_\-.]+$/u;

export interface Suggestion {
  /** Where the word being typed starts and ends (the caret). */
  from: number;
  to: number;
  names: string[];
}

/** The names that complete the word before `caret`, or null when there is none (or fewer than 2 characters typed). */
export function suggestAt(text: string, caret: number, names: readonly string[], limit = 6): Suggestion | null {
  const m = WORD_BEFORE_CARET.exec(text.slice(0, caret));
  if (!m || m[0].length < 2) return null;
  const word = m[0].toLowerCase();
  const found = names.filter((n) => n.toLowerCase().startsWith(word) && n.toLowerCase() !== word).slice(0, limit);
  return found.length ? { from: caret - m[0].length, to: caret, names: found } : null;
}

/** The text with the suggestion's word replaced by `name`, and where the caret goes. */
export function acceptSuggestion(text: string, s: Suggestion, name: string): { text: string; caret: number } {
  return { text: text.slice(0, s.from) + name + text.slice(s.to), caret: s.from + name.length };
}

/** The tag a region prompt names a LoRA with, at weight 1 (common/region-loras.ts). */
export const loraTag = (name: string) => `<lora:${name}:1>`;

/**
 * Suggestions for a prompt that may also name LoRAs (a region's): inside an open `<lora:` the LoRA names that
 * complete it; otherwise the embedding names for the word before the caret, then the LoRAs whose name it starts,
 * each offered as its whole tag `<lora:name:1>`, which replaces the word.
 */
export function suggestWithLoras(text: string, caret: number, embeddings: readonly string[], loras: readonly string[], limit = 6): Suggestion | null {
  const open = /<lora:([^:>]*)$/i.exec(text.slice(0, caret));
  if (open) {
    const partial = open[1].toLowerCase();
    const found = loras.filter((n) => n.toLowerCase().startsWith(partial)).slice(0, limit).map(loraTag);
    return found.length ? { from: caret - open[0].length, to: caret, names: found } : null;
  }
  const words = suggestAt(text, caret, embeddings, limit);
  const m = WORD_BEFORE_CARET.exec(text.slice(0, caret));
  const word = m && m[0].length >= 2 ? m[0].toLowerCase() : null;
  const tags = word ? loras.filter((n) => n.toLowerCase().startsWith(word)).map(loraTag) : [];
  const names = [...(words?.names ?? []), ...tags].slice(0, limit);
  return names.length ? { from: caret - m![0].length, to: caret, names } : null;
}
