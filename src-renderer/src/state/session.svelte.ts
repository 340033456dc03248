// Everything the shell shows about main: the link, app info, the engine and the job queue. Filled from the
// contract's methods at start and after every reconnect (events sent while the link was down are lost),
// then kept current by the pushed events.
import type { AppInfo, EngineStatus, JobInfo } from '../../../src-main/common/contract.ts';
import type { ProviderSetting } from '../../../src-main/common/provider-setting.ts';
import { errorText, type ConnectionState, type HintbrushClient } from '../transport/client.ts';
import { isActiveJob, mergeJob, newestFirst } from '../lib/status.ts';

/** Finished jobs kept for the status bar's history. */
const KEEP_FINISHED = 20;

export interface Notice {
  id: number;
  tone: 'info' | 'error';
  text: string;
}

export class Session {
  connection = $state<ConnectionState>({ status: 'connecting', attempt: 1 });
  info = $state<AppInfo | null>(null);
  engine = $state<EngineStatus | null>(null);
  /** The remembered provider choice (null until loaded). */
  providerSetting = $state<ProviderSetting | null>(null);
  jobs = $state<JobInfo[]>([]);
  notices = $state<Notice[]>([]);

  readonly activeJobs = $derived(this.jobs.filter(isActiveJob));
  readonly online = $derived(this.connection.status === 'open');

  private readonly jobListeners = new Set<(job: JobInfo, previous: JobInfo | undefined) => void>();
  private readonly openListeners = new Set<() => void>();
  private nextNotice = 1;
  /** The engine process whose providers were already sent for a full diagnosis. */
  private diagnosedPid: number | null = null;
  /** The list was opened while the engine was starting or busy: diagnose once it is ready. */
  private diagnosisWanted = false;

  readonly client: HintbrushClient;

  constructor(client: HintbrushClient) {
    this.client = client;
  }

  /** Subscribes to events and loads everything; call once from the root component. */
  start(): () => void {
    const offs = [
      this.client.onConnection((state) => {
        const wasOpen = this.connection.status === 'open';
        this.connection = state;
        if (state.status === 'open' && !wasOpen) void this.refresh();
      }),
      this.client.on('engine.status', (status) => this.takeEngineStatus(status)),
      this.client.on('job.updated', (job) => this.applyJob(job)),
    ];
    return () => offs.forEach((off) => off());
  }

  /** Called whenever the link (re)opens, after the session's own refresh started. */
  onOpen(cb: () => void): () => void {
    this.openListeners.add(cb);
    if (this.online) cb();
    return () => this.openListeners.delete(cb);
  }

  /** Called for every job change, with the job's previous state when it was known. */
  onJob(cb: (job: JobInfo, previous: JobInfo | undefined) => void): () => void {
    this.jobListeners.add(cb);
    return () => this.jobListeners.delete(cb);
  }

  async refresh(): Promise<void> {
    for (const cb of this.openListeners) cb();
    const [info, engine, jobs, setting] = await Promise.allSettled([
      this.client.call('app.info', {}),
      this.client.call('engine.status', {}),
      this.client.call('jobs.list', {}),
      this.client.call('engine.providerSetting', {}),
    ]);
    if (setting.status === 'fulfilled') this.providerSetting = setting.value;
    if (info.status === 'fulfilled') this.info = info.value;
    if (engine.status === 'fulfilled') this.takeEngineStatus(engine.value);
    else this.notify('error', `Engine status unavailable: ${errorText(engine.reason)}`);
    if (jobs.status === 'fulfilled') {
      // Active jobs main no longer knows (it restarted while the link was down) would spin forever.
      const known = new Set(jobs.value.map((j) => j.id));
      this.jobs = this.jobs.filter((j) => known.has(j.id) || !isActiveJob(j));
      // Merge rather than replace: an event may have arrived while the list was on its way.
      for (const job of jobs.value) this.applyJob(job);
    }
  }

  applyJob(job: JobInfo): void {
    const found = this.jobs.find((j) => j.id === job.id);
    const previous = found ? ($state.snapshot(found) as JobInfo) : undefined;
    const merged = mergeJob(previous, job);
    if (previous && merged === previous) return; // a stale report
    const others = this.jobs.filter((j) => j.id !== job.id);
    const finished = [merged, ...others].filter((j) => !isActiveJob(j)).sort(newestFirst);
    const keep = new Set(finished.slice(0, KEEP_FINISHED).map((j) => j.id));
    this.jobs = [merged, ...others].filter((j) => isActiveJob(j) || keep.has(j.id)).sort(newestFirst);
    for (const cb of this.jobListeners) cb(merged, previous);
  }

  async cancelJob(id: string): Promise<void> {
    try {
      const { ok } = await this.client.call('jobs.cancel', { id });
      if (!ok) this.notify('info', 'That job had already finished.');
    } catch (err) {
      this.notify('error', `Could not cancel the job: ${errorText(err)}`);
    }
  }

  /** Re-tests the execution providers; the report comes back as an engine.status event. */
  async probeEngine(): Promise<void> {
    try {
      await this.client.call('engine.probe', {});
    } catch (err) {
      this.notify('error', `Could not probe the engine: ${errorText(err)}`);
    }
  }

  /**
   * When the provider list opens: if the engine has reported failed providers by onnxruntime's one-line summary
   * only (a plain start skips the slow capture of ORT's log), asks once per engine process for the full diagnosis.
   * Only while the engine is idle, so it never queues behind a generation; "Probe again" is always there.
   */
  diagnoseProviders(): void {
    this.diagnosisWanted = true;
    const engine = this.engine;
    if (!engine || engine.state !== 'ready' || engine.pid === null) return; // asked again when it is
    this.diagnosisWanted = false;
    if (this.diagnosedPid === engine.pid || !engine.providers.some((p) => !p.available && p.diagnosed === false)) return;
    this.diagnosedPid = engine.pid;
    void this.probeEngine();
  }

  private takeEngineStatus(status: EngineStatus): void {
    this.engine = status;
    if (this.diagnosisWanted) this.diagnoseProviders();
  }

  /** Remembers the provider choice; the engine's new status arrives as an engine.status event. */
  async setProvider(setting: ProviderSetting): Promise<void> {
    try {
      this.providerSetting = await this.client.call('engine.setProvider', setting);
    } catch (err) {
      this.notify('error', `Could not change the provider: ${errorText(err)}`);
    }
  }

  /** Shows a notice for `ms`; 0 keeps it until dismissed (a full disk must not go unnoticed). */
  notify(tone: Notice['tone'], text: string, ms = tone === 'error' ? 8000 : 4000): void {
    const id = this.nextNotice++;
    this.notices = [...this.notices.slice(-3), { id, tone, text }];
    if (ms > 0) setTimeout(() => this.dismiss(id), ms);
  }

  dismiss(id: number): void {
    this.notices = this.notices.filter((n) => n.id !== id);
  }
}
