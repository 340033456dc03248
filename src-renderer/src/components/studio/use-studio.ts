// The app's Studio for components (the canvas workspace, the side panel, the history view).
import { studioDocumentFor } from '../../document/store.svelte.ts';
import { useApp } from '../../state/context.ts';
import { studioFor, type Studio } from './studio.svelte.ts';

export function useStudio(): Studio {
  const app = useApp();
  return studioFor(app, () => studioDocumentFor(app.session));
}
