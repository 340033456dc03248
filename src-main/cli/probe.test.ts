// `hintbrush probe` against the real engine and onnxruntime-node on this machine: the CPU works, and each
// provider that does not start is named with its reason and, where the user can act, the fix.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ProviderReport } from '../common/contract.ts';
import type { CliIo } from './command.ts';
import { main } from './hintbrush.ts';

function captureIo(): CliIo & { stdout: string; stderr: string } {
  const io = { stdout: '', stderr: '', isTty: false, out: (t: string) => void (io.stdout += t), err: (t: string) => void (io.stderr += t) };
  return io;
}

test('probe reports the CPU working and, for each other provider, why not and how to fix it', { timeout: 120_000 }, async () => {
  const json = captureIo();
  assert.equal(await main(['probe', '--json'], json), 0, json.stderr);
  const report = JSON.parse(json.stdout) as { provider: string; providers: ProviderReport[] };
  assert.ok(report.providers.some((p) => p.name === report.provider && p.available), `${report.provider} is one that works`);
  assert.deepEqual(report.providers.find((p) => p.name === 'cpu'), { name: 'cpu', available: true, reason: '' });
  for (const p of report.providers.filter((r) => !r.available)) assert.ok(p.reason.length > 0, p.name);

  const cuda = report.providers.find((p) => p.name === 'cuda');
  if (process.platform === 'linux' && process.arch === 'x64' && cuda && !cuda.available) {
    // This install has no NuGet CUDA provider: the probe names the file and the fix, read from ORT's own log.
    assert.match(cuda.reason, /libonnxruntime_providers_cuda\.so/);
    assert.match(cuda.fix ?? '', /scripts\/postinstall\.mjs/);
    const text = captureIo();
    assert.equal(await main(['probe'], text), 0);
    assert.match(text.stdout, /To fix:\n {2}cuda: with internet access/);
    assert.match(text.stdout, /The engine will use: \w+\n$/);
  }
});
