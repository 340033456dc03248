// `hintbrush probe`: starts the engine and reports which onnxruntime providers work here, and why the
// others do not. Touches no library.
import os from 'node:os';
import type { ProviderReport } from '../../common/contract.ts';
import { nodeEngineLauncher } from '../../jobs/engine-launcher.ts';
import { EngineSupervisor } from '../../jobs/engine-supervisor.ts';
import { JSON_OPTION, table, type CliCommand } from '../command.ts';
import { resourcesDir } from '../paths.ts';

export const probe: CliCommand = {
  name: 'probe',
  summary: 'report the onnxruntime providers (CUDA, DirectML, CoreML, WebGPU, CPU) that work here',
  usage: '[--json]',
  options: { json: JSON_OPTION },
  positionals: { min: 0, max: 0 },
  async run({ values, io, signal }) {
    const supervisor = new EngineSupervisor({
      // it loads no model, so it needs no optimized-model cache (generate and train keep theirs in ort-cache-folder.ts's)
      launcher: nodeEngineLauncher({ resourcesDir: resourcesDir(), dataDir: os.tmpdir(), env: { HINTBRUSH_ENGINE_SKIP_PROBE: '1', HINTBRUSH_ORT_CACHE: 'off' } }),
    });
    supervisor.start();
    try {
      const ready = supervisor.whenReady();
      const aborted = new Promise<never>((_, reject) => signal.addEventListener('abort', () => reject(new Error('interrupted'))));
      await Promise.race([ready, aborted]);
      const report = (await Promise.race([supervisor.run('cli-probe', 'probe', {}, { signal }), aborted])) as {
        provider: string;
        providers: ProviderReport[];
      };
      if (values.json) {
        io.out(`${JSON.stringify(report, null, 2)}\n`);
      } else {
        const rows = report.providers.map((p) => [p.name, p.available ? 'yes' : 'no', p.reason]);
        const fixes = report.providers.filter((p) => !p.available && p.fix).map((p) => `  ${p.name}: ${p.fix}\n`);
        const fixText = fixes.length ? `\nTo fix:\n${fixes.join('')}` : '';
        io.out(`${table([['PROVIDER', 'WORKS', 'WHY NOT'], ...rows])}\n${fixText}\nThe engine will use: ${report.provider}\n`);
      }
      return 0;
    } finally {
      await supervisor.stop();
    }
  },
};
