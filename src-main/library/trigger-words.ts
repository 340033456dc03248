// Trigger words for a LoRA, from what trainers leave in the safetensors `__metadata__`:
// - `ss_trigger_words` / `modelspec.trigger_phrase` when the author wrote them down (a JSON list or a
//   comma-separated string);
// - otherwise kohya's `ss_tag_frequency` (JSON: dataset -> tag -> count): the most frequent tags over all
//   datasets, first 10. A trigger word appears in every caption, so it tends to lead the list.
// Metadata comes from an untrusted file: every value is checked, nothing here throws.

export const MAX_FREQUENT_TAGS = 10;
const MAX_WORD_LENGTH = 200;

export function triggerWords(metadata: Readonly<Record<string, string>>): string[] {
  const words: string[] = [];
  const seen = new Set<string>();
  const push = (raw: string) => {
    const word = raw.trim().replace(/\s+/g, ' ');
    const key = word.toLowerCase();
    if (word.length === 0 || word.length > MAX_WORD_LENGTH || seen.has(key)) return;
    seen.add(key);
    words.push(word);
  };
  for (const field of ['ss_trigger_words', 'modelspec.trigger_phrase']) {
    const value = metadata[field];
    if (typeof value === 'string') explicitWords(value).forEach(push);
  }
  const frequency = metadata.ss_tag_frequency;
  if (typeof frequency === 'string') frequentTags(frequency).forEach(push);
  return words;
}

/** A JSON list of strings, or a comma-separated string. */
function explicitWords(value: string): string[] {
  const trimmed = value.trim();
  if (trimmed.startsWith('[')) {
    try {
      const parsed: unknown = JSON.parse(trimmed);
      if (Array.isArray(parsed)) return parsed.filter((w): w is string => typeof w === 'string');
    } catch {
      // not JSON after all: fall through to the comma-separated reading
    }
  }
  return trimmed.split(',');
}

/** The `limit` most frequent tags of kohya's ss_tag_frequency, counts summed over datasets. */
export function frequentTags(json: string, limit = MAX_FREQUENT_TAGS): string[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    return [];
  }
  if (!isRecord(parsed)) return [];
  const counts = new Map<string, number>();
  for (const dataset of Object.values(parsed)) {
    if (!isRecord(dataset)) continue;
    for (const [rawTag, count] of Object.entries(dataset)) {
      const tag = rawTag.trim();
      if (tag.length === 0 || typeof count !== 'number' || !Number.isFinite(count)) continue;
      counts.set(tag, (counts.get(tag) ?? 0) + count);
    }
  }
  // Map keeps insertion order and sort is stable: equal counts stay in the order the trainer wrote them
  return [...counts.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, limit)
    .map(([tag]) => tag);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
