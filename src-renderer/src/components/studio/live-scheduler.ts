// When live mode asks for a picture: a small state machine, pure (no timers, no requests of its own), so its
// rules are tested directly. The driver (live.svelte.ts) feeds it events and carries out the commands it returns.
//
// The rules:
// - every edit re-arms the idle timer (debounce): a picture is asked for only after a pause in editing;
// - an edit while a live job runs cancels that job at once (its picture would show a state already gone), and
//   the engine stops it within one denoising step;
// - no pile-up: at most one live job of ours is in flight at any time; a pause that ends while a cancelled job
//   is still stopping starts the next job when that one has ended, never beside it;
// - while the pointer is down (a stroke in progress) an elapsed timer waits for the next pause instead.

export type LiveEvent =
  | { type: 'enable' }
  | { type: 'disable' }
  /** The document or the live settings changed. */
  | { type: 'edit' }
  /** The idle timer elapsed; `busy` when a stroke is in progress. */
  | { type: 'timer'; busy: boolean }
  /** 'live.start' answered with the job's id. */
  | { type: 'started'; jobId: string }
  /** No job was started: the request could not be built or was refused, or nothing changed since the last picture. */
  | { type: 'not-started' }
  /** The job ended (done, failed or cancelled). */
  | { type: 'ended'; jobId: string };

export type LiveCommand =
  | { type: 'arm-timer'; ms: number }
  | { type: 'clear-timer' }
  /** Build the request from the document as it is now and call 'live.start'. */
  | { type: 'start-job' }
  | { type: 'cancel-job'; jobId: string };

export interface LiveJobState {
  /** Null until 'live.start' answers. */
  id: string | null;
  /** A newer edit made it stale: cancel it (as soon as its id is known). */
  cancelled: boolean;
}

export interface LiveSchedule {
  on: boolean;
  /** An edit not yet covered by a started job. */
  dirty: boolean;
  timerArmed: boolean;
  /** Our live job in flight (from the request until it ends), or null. */
  job: LiveJobState | null;
}

export const LIVE_OFF: LiveSchedule = { on: false, dirty: false, timerArmed: false, job: null };

export interface Step {
  state: LiveSchedule;
  commands: LiveCommand[];
}

/** One transition: the next state and what to do. `delayMs` is the idle delay the timer is armed with. */
export function liveStep(state: LiveSchedule, event: LiveEvent, delayMs: number): Step {
  const commands: LiveCommand[] = [];
  let s: LiveSchedule = { ...state, job: state.job && { ...state.job } };

  const cancelJob = () => {
    if (!s.job || s.job.cancelled) return;
    s.job.cancelled = true;
    if (s.job.id !== null) commands.push({ type: 'cancel-job', jobId: s.job.id });
  };
  const arm = () => {
    if (s.timerArmed) commands.push({ type: 'clear-timer' });
    commands.push({ type: 'arm-timer', ms: delayMs });
    s.timerArmed = true;
  };
  /** A paused, dirty schedule with no job in flight asks for a picture. */
  const maybeStart = () => {
    if (s.on && s.dirty && !s.timerArmed && s.job === null) {
      s.dirty = false;
      s.job = { id: null, cancelled: false };
      commands.push({ type: 'start-job' });
    }
  };

  switch (event.type) {
    case 'enable':
      if (s.on) break;
      s.on = true;
      s.dirty = true; // the picture of the document as it is
      arm();
      break;
    case 'disable':
      if (!s.on) break;
      if (s.timerArmed) commands.push({ type: 'clear-timer' });
      cancelJob();
      s = { ...s, on: false, dirty: false, timerArmed: false };
      break;
    case 'edit':
      if (!s.on) break;
      s.dirty = true;
      cancelJob();
      arm();
      break;
    case 'timer':
      if (!s.timerArmed) break; // a timer cleared after it fired
      s.timerArmed = false;
      if (event.busy && s.on) arm();
      else maybeStart();
      break;
    case 'started':
      if (!s.job || s.job.id !== null) {
        // an answer for a job this schedule no longer waits for: stop it, it would pile up
        commands.push({ type: 'cancel-job', jobId: event.jobId });
        break;
      }
      s.job.id = event.jobId;
      if (s.job.cancelled || !s.on) commands.push({ type: 'cancel-job', jobId: event.jobId });
      break;
    case 'not-started':
      if (s.job && s.job.id === null) s.job = null;
      maybeStart();
      break;
    case 'ended':
      if (s.job?.id !== event.jobId) break;
      s.job = null;
      maybeStart();
      break;
  }
  return { state: s, commands };
}
