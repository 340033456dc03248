// `hintbrush library add PATH...` and `hintbrush library list`: the library without the engine.
import { createServices } from '../../app/bootstrap.ts';
import type { LibraryItem } from '../../common/contract.ts';
import { DATA_OPTION, JSON_OPTION, followJob, table, type CliCommand } from '../command.ts';
import { dataDir, resourcesDir } from '../paths.ts';

const openServices = (data: string | boolean | string[] | undefined) =>
  createServices({ dataDir: dataDir(data as string | undefined), resourcesDir: resourcesDir(), startEngine: false });

export const libraryAdd: CliCommand = {
  name: 'library add',
  summary: 'add model folders or files to the library and scan them',
  usage: 'PATH... [--data DIR]',
  options: { data: DATA_OPTION },
  positionals: { min: 1, max: 256 },
  async run({ values, positionals, io, signal }) {
    const services = openServices(values.data);
    try {
      const { jobId } = await services.call('library.add', { paths: positionals });
      const { job, result } = await followJob(services, jobId, io, signal);
      if (job.state === 'cancelled') {
        io.err('Scan cancelled; the files read so far stay in the library.\n');
        return 130;
      }
      if (job.state === 'failed') {
        io.err(`hintbrush: ${job.error?.message ?? 'the scan failed'}\n`);
        return 1;
      }
      const r = result as { files: number; added: number; updated: number; removed: number; withProblems: number; missing: string[]; refused?: { path: string; reason: string }[] };
      io.out(
        `${r.files} model files: ${r.added} added, ${r.updated} updated, ${r.removed} removed` +
          `${r.withProblems ? `, ${r.withProblems} with problems (see \`hintbrush library list\`)` : ''}.\n`,
      );
      for (const m of r.missing ?? []) io.err(`not found (kept its models): ${m}\n`);
      for (const f of r.refused ?? []) io.err(`not scanned: ${f.reason}\n`);
      return 0;
    } finally {
      await services.dispose();
    }
  },
};

function describeItem(item: LibraryItem): string[] {
  const kind = item.family && item.family !== 'sd15' ? `${item.kind} (${item.family})` : item.kind;
  return [String(item.id), kind, item.shortHash || '-', item.problem ? `${item.path}  [${item.problem}]` : item.path];
}

export const libraryList: CliCommand = {
  name: 'library list',
  summary: 'list the models in the library',
  usage: '[--json] [--data DIR]',
  options: { json: JSON_OPTION, data: DATA_OPTION },
  positionals: { min: 0, max: 0 },
  async run({ values, io }) {
    const services = openServices(values.data);
    try {
      const items = await services.call('library.list', {});
      if (values.json) {
        io.out(`${JSON.stringify(items, null, 2)}\n`);
      } else if (items.length === 0) {
        io.out('The library is empty: add a folder with `hintbrush library add PATH`.\n');
      } else {
        io.out(`${table([['ID', 'KIND', 'HASH', 'PATH'], ...items.map(describeItem)])}\n`);
      }
      return 0;
    } finally {
      await services.dispose();
    }
  },
};
