// The workspaces the tool rail switches between. A view brings the component for the central workspace and,
// optionally, one for the right side panel and tool buttons for the rail. The canvas, gallery and training
// wizard register here as they arrive.
import type { Component } from 'svelte';
import type { IconName } from './components/ui/Icon.svelte';
import LibraryView from './components/library/LibraryView.svelte';
import LibraryPanel from './components/library/LibraryPanel.svelte';
import CanvasView from './components/studio/CanvasView.svelte';
import StudioPanel from './components/studio/StudioPanel.svelte';
import HistoryView from './components/studio/HistoryView.svelte';
import HistoryPanel from './components/studio/HistoryPanel.svelte';
import TrainingView from './components/training/TrainingView.svelte';
import TrainingPanel from './components/training/TrainingPanel.svelte';

export interface ViewDef {
  id: string;
  label: string;
  icon: IconName;
  /** Shown in the tooltip of the rail button. */
  hint: string;
  workspace: Component;
  /** Right side panel; null gives the workspace the full width. */
  panel: Component | null;
}

export const VIEWS: readonly ViewDef[] = [
  {
    id: 'studio',
    label: 'Studio',
    icon: 'canvas',
    hint: 'Paint hints in layers and generate',
    workspace: CanvasView,
    panel: StudioPanel,
  },
  {
    id: 'history',
    label: 'History',
    icon: 'gallery',
    hint: 'Every picture made, with its settings',
    workspace: HistoryView,
    panel: HistoryPanel,
  },
  {
    id: 'library',
    label: 'Library',
    icon: 'library',
    hint: 'Models: checkpoints, ControlNets, LoRAs, VAEs',
    workspace: LibraryView,
    panel: LibraryPanel,
  },
  {
    id: 'train',
    label: 'Train',
    icon: 'sparkle',
    hint: 'Teach a new kind of hint (CtrLoRA) or a style (LoRA) on this GPU',
    workspace: TrainingView,
    panel: TrainingPanel,
  },
];

export function findView(id: string): ViewDef {
  return VIEWS.find((v) => v.id === id) ?? VIEWS[0];
}
