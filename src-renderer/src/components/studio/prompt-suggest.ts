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
