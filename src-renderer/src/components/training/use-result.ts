// "Use it": a finished run's LoRA put to work in the studio. A new kind of hint becomes a hint layer bound to
// the trained condition on its Base ControlNet (it is also in the add-layer menu from now on); a style LoRA
// joins the document's LoRA stack. The caller then shows the studio.
import type { LibraryItem } from '../../../../src-main/common/contract.ts';
import type { TrainingRunInfo } from '../../../../src-main/common/training-contract.ts';
import type { Studio } from '../studio/studio.svelte.ts';
import { conditionName } from '../studio/layer-kinds.ts';

/** What "Use it" did, for the notice; null when there was no document to use it in. */
export function useResult(studio: Studio, run: TrainingRunInfo, model: LibraryItem, library: readonly LibraryItem[]): string | null {
  const doc = studio.store.state.doc;
  if (!doc) return null;
  if (run.settings.recipe === 'ctrlora') {
    const bases = library.filter((i) => i.kind === 'ctrlora-base' && i.problem === '');
    // The base it was trained on, while the library still has it; else any Base ControlNet.
    const baseId = bases.find((b) => b.id === run.settings.base?.id)?.id ?? bases[0]?.id ?? null;
    const label = `${conditionName(model)} via CtrLoRA`;
    studio.store.addHintLayer('condition', { name: label, control: { family: 'ctrlora', modelId: model.id, baseId } });
    studio.tools.select('brush');
    studio.panelTab = 'layers';
    return `Added a “${label}” hint layer: paint the condition and generate`;
  }
  const loras = doc.settings.loras.filter((l) => l.modelId !== model.id);
  studio.store.updateSettings({ loras: [...loras, { modelId: model.id, weight: 0.8 }] });
  studio.panelTab = 'generate';
  const trigger = model.triggerWords[0];
  return `${model.name} joined the LoRA stack at 0.8${trigger ? `; put “${trigger}” in the prompt` : ''}`;
}
