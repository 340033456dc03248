// The engine as an Electron utilityProcess: a Node-enabled child that Chromium's process model owns (no
// extra Node binary to ship), speaking the same protocol through process.parentPort.
import { defaultEngineEntry, engineEnv, lineSplitter, type EngineLauncher } from '../jobs/engine-launcher.ts';
import type { ElectronMain } from './electron-api.ts';

export function utilityEngineLauncher(
  electron: ElectronMain,
  dirs: { resourcesDir: string; dataDir: string },
  entry = defaultEngineEntry().entry,
): EngineLauncher {
  return (callbacks) => {
    const child = electron.utilityProcess.fork(entry, [], {
      serviceName: 'Hintbrush engine',
      stdio: 'pipe',
      env: engineEnv(dirs),
    });
    const toLines = lineSplitter(callbacks.onOutput);
    child.stdout?.on('data', toLines);
    child.stderr?.on('data', toLines);
    child.on('message', (m) => callbacks.onMessage(m));
    // 'error' reports a fatal V8 error before the exit; the exit follows and is what counts.
    child.on('error', (type, location) => callbacks.onOutput(`engine fatal error: ${type} at ${location}`));
    let exited = false;
    child.on('exit', (code) => {
      if (exited) return;
      exited = true;
      callbacks.onExit({ code, signal: null });
    });
    return {
      get pid() {
        return child.pid ?? null;
      },
      send(message) {
        if (!exited) child.postMessage(message);
      },
      kill(hard) {
        if (exited) return;
        // kill() sends SIGTERM on POSIX, which a stopped process never acts on; a hang needs SIGKILL.
        if (hard && child.pid !== undefined && process.platform !== 'win32') {
          try {
            process.kill(child.pid, 'SIGKILL');
            return;
          } catch {
            // already gone: fall through to the polite kill
          }
        }
        child.kill();
      },
    };
  };
}
