// A FakeClock that follows real time, and jumps when a test says so. The
// PBX's media (prompts, ringback, the pacer) moves with its clock; a test
// that wants to hear what the PBX says while it also jumps to 11:45 or past
// a 30 s wait drives the clock with this: between jumps the clock advances
// by the real time elapsed, so audio flows at its normal pace.
import type { FakeClock } from "../../src/util/clock.ts";

export class ClockDriver {
  private running = true;
  private jump: { at: number; done: () => void } | undefined;
  private readonly loop: Promise<void>;

  constructor(private readonly clock: FakeClock) {
    this.loop = this.run();
  }

  /** Jumps to an instant (never backwards), firing the timers on the way. */
  moveTo(at: number): Promise<void> {
    return new Promise((done) => {
      this.jump = { at, done };
    });
  }

  /** Jumps forward by `ms` of the clock's time. */
  skip(ms: number): Promise<void> {
    return this.moveTo(this.clock.now() + ms);
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }

  private async run(): Promise<void> {
    let last = performance.now();
    while (this.running) {
      const jump = this.jump;
      this.jump = undefined;
      if (jump) {
        await this.clock.advanceTo(jump.at);
        jump.done();
      }
      const now = performance.now();
      await this.clock.advance(now - last);
      last = now;
      await new Promise((r) => setTimeout(r, 5));
    }
  }
}
