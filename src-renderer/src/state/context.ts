// The app's state objects, handed to components through Svelte context (set once in App.svelte).
import { getContext, setContext } from 'svelte';
import type { Library } from './library.svelte.ts';
import type { Session } from './session.svelte.ts';

/** Which workspace the shell shows; components switch it (e.g. "Send to canvas" opens the Studio). */
export interface Navigation {
  view: string;
}

export interface AppContext {
  session: Session;
  library: Library;
  nav: Navigation;
}

const KEY = Symbol('hintbrush');

export function provideApp(ctx: AppContext): AppContext {
  return setContext(KEY, ctx);
}

export function useApp(): AppContext {
  const ctx = getContext<AppContext | undefined>(KEY);
  if (!ctx) throw new Error('useApp() called outside of <App>');
  return ctx;
}
