// The application menu: File (Add folder…, Quit), Edit (so copy and paste work in text fields on macOS),
// View, Help.

import type { Services } from '../app/bootstrap.ts';
import { toErrorInfo } from '../common/errors.ts';
import type { BrowserWindow, ElectronMain, MenuItemOptions } from './electron-api.ts';

/** The native folder picker; resolves with nothing when the user dismisses it. */
export async function chooseFolders(electron: ElectronMain, window?: BrowserWindow): Promise<string[]> {
  const result = await electron.dialog.showOpenDialog(window, {
    title: 'Add model folders to the library',
    buttonLabel: 'Add',
    properties: ['openDirectory', 'multiSelections'],
  });
  return result.canceled ? [] : result.filePaths;
}

export function buildMenu(electron: ElectronMain, services: Services): MenuItemOptions[] {
  const { app, dialog, shell, BrowserWindow } = electron;
  const isMac = process.platform === 'darwin';
  const focused = () => BrowserWindow.getFocusedWindow() ?? BrowserWindow.getAllWindows()[0];

  const addFolder = async () => {
    const paths = await chooseFolders(electron, focused());
    if (paths.length === 0) return;
    try {
      // The scan shows in the renderer's job list through the 'job.updated' events.
      await services.call('library.add', { paths });
    } catch (err) {
      dialog.showErrorBox('Could not add the folder', toErrorInfo(err).message);
    }
  };

  const about = () =>
    void dialog.showMessageBox(focused(), {
      type: 'info',
      title: 'About Hintbrush',
      message: `Hintbrush ${app.getVersion()}`,
      detail:
        'Steer Stable Diffusion 1.5 with painted hints (ControlNet, ControlNet-XS, CtrLoRA) and train LoRAs, ' +
        `all on this machine.\n\nEngine: ${services.supervisor.status().provider || 'starting'}\nData: ${services.info.dataDir}`,
    });

  const engineStatus = () => {
    const s = services.supervisor.status();
    const providers = s.providers.map((p) => `${p.name}: ${p.available ? 'works' : `no (${p.reason})`}`).join('\n');
    void dialog.showMessageBox(focused(), {
      type: 'info',
      title: 'Engine',
      message: `Engine ${s.state}, running on ${s.provider || '(not yet known)'}`,
      detail: `${providers}\n\nRestarts: ${s.restarts}${s.lastError ? `\nLast error: ${s.lastError}` : ''}`,
    });
  };

  const template: MenuItemOptions[] = [];
  if (isMac) template.push({ role: 'appMenu' });
  template.push({
    label: 'File',
    submenu: [
      { label: 'Add Folder…', accelerator: 'CmdOrCtrl+O', click: () => void addFolder() },
      { type: 'separator' },
      { label: 'Open Data Folder', click: () => void shell.openPath(services.info.dataDir) },
      { type: 'separator' },
      isMac ? { role: 'close' } : { role: 'quit', label: 'Quit', accelerator: 'Ctrl+Q' },
    ],
  });
  template.push({ role: 'editMenu' });
  template.push({
    label: 'View',
    submenu: [
      { role: 'resetZoom' },
      { role: 'zoomIn' },
      { role: 'zoomOut' },
      { type: 'separator' },
      { role: 'togglefullscreen' },
      // Developer tools only in a checkout: a packaged app has no use for them.
      ...(app.isPackaged ? [] : [{ type: 'separator' as const }, { role: 'reload' }, { role: 'toggleDevTools' }]),
    ],
  });
  template.push({
    role: 'help',
    submenu: [
      { label: 'About Hintbrush', click: about },
      { label: 'Engine Status', click: engineStatus },
    ],
  });
  return template;
}
