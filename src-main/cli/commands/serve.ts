// `hintbrush serve`: the studio in a browser. Runs until Ctrl-C.
import { createServices } from '../../app/bootstrap.ts';
import type { EngineStatus } from '../../common/contract.ts';
import { startServer } from '../../server/serve.ts';
import { DATA_OPTION, intOption, type CliCommand } from '../command.ts';
import { dataDir, rendererDir, resourcesDir } from '../paths.ts';

/**
 * What the terminal hears of the engine: each crash, and each restart once (not again every time a later job
 * takes the engine from busy back to ready).
 */
export function engineStatusLog(write: (line: string) => void): (s: EngineStatus) => void {
  let lastState = '';
  let restartsTold = 0;
  return (s) => {
    if (s.state === lastState) return;
    lastState = s.state;
    if (s.state === 'crashed') write(`Engine crashed: ${s.lastError}\n`);
    else if (s.state === 'ready' && s.restarts > restartsTold) {
      restartsTold = s.restarts;
      write(`Engine restarted (${s.restarts} restart${s.restarts === 1 ? '' : 's'} so far).\n`);
    }
  };
}

export const serve: CliCommand = {
  name: 'serve',
  summary: 'run the studio in your browser (HTTP + WebSocket on 127.0.0.1)',
  usage: '[--port N] [--host H] [--data DIR] [--allow-remote]',
  options: {
    port: { type: 'string', value: 'N', description: 'port to listen on (default 7870, or a free one when taken; 0: any)' },
    host: { type: 'string', value: 'H', description: 'address to listen on (default 127.0.0.1)' },
    data: DATA_OPTION,
    'allow-remote': { type: 'boolean', description: 'allow a --host other machines can reach (anyone with the URL controls Hintbrush)' },
  },
  positionals: { min: 0, max: 0 },
  async run({ values, io, signal }) {
    const port = intOption(values.port, 'port', 0, 65535);
    const debug = process.env.HINTBRUSH_DEBUG === '1';
    const services = createServices({
      dataDir: dataDir(values.data as string | undefined),
      resourcesDir: resourcesDir(),
      mode: 'browser',
      supervisor: { onOutput: debug ? (line) => io.err(`[engine] ${line}\n`) : undefined },
    });
    try {
      services.events.on('engine.status', engineStatusLog((line) => io.err(line)));
      const server = await startServer({
        target: services,
        rendererDir: rendererDir(),
        host: values.host as string | undefined,
        port,
        allowRemote: values['allow-remote'] === true,
        imageFile: (id) => services.imageFile(id),
        trainingSampleFile: (runId, step) => services.trainingSampleFile(runId, step),
      });
      io.out(`Hintbrush is running in browser mode. Open:\n\n  ${server.url}\n\nData folder: ${services.info.dataDir}\nPress Ctrl-C to stop.\n`);
      if (server.host !== '127.0.0.1' && server.host !== 'localhost' && server.host !== '::1') {
        io.err(`Listening on ${server.host}: anyone who has the URL (with its token) controls Hintbrush.\n`);
      }
      await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
      io.err('Stopping...\n');
      await server.close();
      return 0;
    } finally {
      await services.dispose();
    }
  },
};
