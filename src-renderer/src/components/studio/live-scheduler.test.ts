// The live-mode schedule on a virtual clock: debounce, cancel on a newer edit, no pile-up (checked over random
// event sequences as well), strokes in progress, switching off.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LIVE_OFF, liveStep, type LiveCommand, type LiveEvent, type LiveSchedule } from './live-scheduler.ts';

const DELAY = 300;

/** Runs the schedule as the driver does: a virtual timer, every command logged with its time. */
class Sim {
  state: LiveSchedule = LIVE_OFF;
  now = 0;
  private timerAt: number | null = null;
  readonly log: (LiveCommand & { at: number })[] = [];

  send(event: LiveEvent): LiveCommand[] {
    const { state, commands } = liveStep(this.state, event, DELAY);
    this.state = state;
    for (const c of commands) {
      if (c.type === 'arm-timer') this.timerAt = this.now + c.ms;
      if (c.type === 'clear-timer') this.timerAt = null;
      this.log.push({ ...c, at: this.now });
    }
    return commands;
  }

  /** Lets `ms` pass, firing the timer when it is due. */
  advance(ms: number, busy = false): void {
    const end = this.now + ms;
    while (this.timerAt !== null && this.timerAt <= end) {
      this.now = this.timerAt;
      this.timerAt = null;
      this.send({ type: 'timer', busy });
    }
    this.now = end;
  }

  count(type: LiveCommand['type']): number {
    return this.log.filter((c) => c.type === type).length;
  }
}

describe('live schedule', () => {
  it('asks for one picture once editing pauses for the idle delay (debounce)', () => {
    const sim = new Sim();
    sim.send({ type: 'enable' });
    sim.advance(DELAY);
    assert.equal(sim.count('start-job'), 1, 'switching on asks for the picture of the document as it is');
    sim.send({ type: 'started', jobId: 'a' });
    sim.send({ type: 'ended', jobId: 'a' });
    for (let i = 0; i < 10; i++) {
      sim.send({ type: 'edit' });
      sim.advance(DELAY - 50);
    }
    assert.equal(sim.count('start-job'), 1, 'no picture while the edits come faster than the delay');
    sim.advance(50);
    assert.equal(sim.count('start-job'), 2, 'one picture after the pause');
    assert.equal(sim.log.at(-1)!.at, 10 * (DELAY - 50) + 50 + DELAY, 'exactly the delay after the last edit');
    sim.advance(10 * DELAY);
    assert.equal(sim.count('start-job'), 2, 'and no more without edits');
  });

  it('a newer edit cancels the running job once; the next starts only after it ended', () => {
    const sim = new Sim();
    sim.send({ type: 'enable' });
    sim.advance(DELAY);
    sim.send({ type: 'started', jobId: 'a' });
    const commands = sim.send({ type: 'edit' });
    assert.deepEqual(
      commands.filter((c) => c.type === 'cancel-job'),
      [{ type: 'cancel-job', jobId: 'a' }],
      'the edit cancels the running job at once, before the pause',
    );
    for (let i = 0; i < 5; i++) sim.send({ type: 'edit' });
    assert.equal(sim.count('cancel-job'), 1, 'further edits do not cancel it again');
    sim.advance(DELAY * 3);
    assert.equal(sim.count('start-job'), 1, 'the pause has passed, but the cancelled job has not ended: nothing piles up');
    sim.send({ type: 'ended', jobId: 'a' });
    assert.equal(sim.count('start-job'), 2, 'its end starts the picture of the newest state');
    assert.deepEqual(sim.state.job, { id: null, cancelled: false });
  });

  it('an edit before live.start answers cancels the job as soon as its id is known', () => {
    const sim = new Sim();
    sim.send({ type: 'enable' });
    sim.advance(DELAY);
    sim.send({ type: 'edit' });
    assert.equal(sim.count('cancel-job'), 0, 'no id to cancel yet');
    assert.deepEqual(sim.send({ type: 'started', jobId: 'a' }), [{ type: 'cancel-job', jobId: 'a' }]);
    sim.send({ type: 'ended', jobId: 'a' });
    assert.equal(sim.count('start-job'), 1, 'the edit re-armed the timer: still the idle delay to wait');
    sim.advance(DELAY);
    assert.equal(sim.count('start-job'), 2);
  });

  it('a job that could not start frees the schedule; the next edit tries again', () => {
    const sim = new Sim();
    sim.send({ type: 'enable' });
    sim.advance(DELAY);
    sim.send({ type: 'not-started' });
    assert.equal(sim.state.job, null);
    assert.equal(sim.count('start-job'), 1, 'no retry loop without an edit');
    sim.send({ type: 'edit' });
    sim.advance(DELAY);
    assert.equal(sim.count('start-job'), 2);
  });

  it('waits while a stroke is in progress, then asks once it ends', () => {
    const sim = new Sim();
    sim.send({ type: 'enable' });
    sim.send({ type: 'edit' });
    sim.advance(DELAY * 4, true);
    assert.equal(sim.count('start-job'), 0, 'the pointer is down: the timer re-arms');
    sim.advance(DELAY, false);
    assert.equal(sim.count('start-job'), 1);
  });

  it('switching off clears the timer, cancels the job and ignores later edits and answers', () => {
    const sim = new Sim();
    sim.send({ type: 'enable' });
    sim.advance(DELAY);
    sim.send({ type: 'started', jobId: 'a' });
    sim.send({ type: 'edit' });
    sim.send({ type: 'disable' });
    assert.equal(sim.count('cancel-job'), 1);
    assert.equal(sim.state.timerArmed, false);
    sim.send({ type: 'edit' });
    sim.advance(DELAY * 2);
    sim.send({ type: 'ended', jobId: 'a' });
    assert.equal(sim.count('start-job'), 1, 'nothing starts while off');
    // switched off while live.start was under way: the late answer is cancelled at once
    sim.send({ type: 'enable' });
    sim.advance(DELAY);
    sim.send({ type: 'disable' });
    assert.deepEqual(sim.send({ type: 'started', jobId: 'b' }), [{ type: 'cancel-job', jobId: 'b' }]);
  });

  it('never has two jobs in flight and cancels every superseded one (random event sequences)', () => {
    let seed = 12345;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    let starts = 0;
    let cancels = 0;
    for (let run = 0; run < 300; run++) {
      const sim = new Sim();
      // the driver's and the engine's view: a live.start under way, and jobs started but not ended
      let requested: { stale: boolean } | null = null;
      const inFlight = new Map<string, { stale: boolean }>();
      const cancelled = new Set<string>();
      let next = 0;
      let seen = 0;
      const take = () => {
        for (const c of sim.log.slice(seen)) {
          if (c.type === 'start-job') {
            assert.equal(requested, null, `run ${run}: a start while another live.start is under way`);
            requested = { stale: false };
          }
          if (c.type === 'cancel-job') cancelled.add(c.jobId);
        }
        seen = sim.log.length;
        assert.ok(inFlight.size + (requested ? 1 : 0) <= 1, `run ${run}: at most one live job in flight`);
      };
      const staleAll = () => {
        if (requested) requested.stale = true;
        for (const j of inFlight.values()) j.stale = true;
      };
      for (let i = 0; i < 80; i++) {
        const r = random();
        if (r < 0.08) {
          const on = random() < 0.7;
          if (!on && sim.state.on) staleAll();
          sim.send({ type: on ? 'enable' : 'disable' });
        } else if (r < 0.45) {
          if (sim.state.on) staleAll();
          sim.send({ type: 'edit' });
        } else if (r < 0.65) sim.advance(Math.floor(random() * DELAY * 2), random() < 0.2);
        else if (r < 0.8 && requested) {
          const req: { stale: boolean } = requested;
          requested = null;
          if (random() < 0.9) {
            const id = `j${next++}`;
            inFlight.set(id, req);
            sim.send({ type: 'started', jobId: id });
          } else sim.send({ type: 'not-started' });
        } else if (inFlight.size > 0) {
          const [id, job] = [...inFlight][0];
          take();
          assert.ok(!job.stale || cancelled.has(id), `run ${run}: job ${id} was made stale by an edit and must have been cancelled`);
          inFlight.delete(id);
          sim.send({ type: 'ended', jobId: id });
        }
        take();
      }
      starts += sim.count('start-job');
      cancels += sim.count('cancel-job');
    }
    assert.ok(starts > 500 && cancels > 300, `the sequences exercise starts (${starts}) and cancels (${cancels})`);
  });
});
