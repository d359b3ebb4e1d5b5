// A recording the mailbox owner makes (a greeting, the name): record after
// the beep, then `1` accept, `2` listen, `3` re-record (Asterisk's review
// menu), `*` cancel. Takes that are not accepted are deleted at once: a
// discarded greeting must not linger on disk; the accepted one is the
// caller's to delete once the service has copied it.
import { type CallControl, Hangup, type RecordResult, type Speech } from "../call-control.ts";
import { discardRecording } from "./discard-recording.ts";
import { chooseKey, goodbye, MAX_TRIES } from "./menu-keys.ts";

/** A take shorter than this is no greeting (a click of the `#` key, a cough). */
const MIN_TAKE_MS = 1000;

/**
 * Plays `intro`, records up to `maxSeconds`, and offers the review menu.
 * Resolves with the accepted take, or undefined when the owner cancelled.
 */
export async function recordReviewed(
  call: CallControl,
  intro: Speech[],
  maxSeconds: number,
): Promise<RecordResult | undefined> {
  let take = await recordTake(call, intro, maxSeconds);
  for (;;) {
    const key = await chooseDiscarding(call, take);
    if (key === "1") return take;
    if (key === "2") await call.play([{ file: take.path }], { bargeIn: true });
    if (key === "3") {
      await discard(call, take);
      take = await recordTake(call, intro, maxSeconds);
    }
    if (key === "*") {
      await discard(call, take);
      return undefined;
    }
  }
}

/** One take long enough to keep; a too short one is said so and recorded again, MAX_TRIES times. */
async function recordTake(call: CallControl, intro: Speech[], maxSeconds: number): Promise<RecordResult> {
  for (let tries = 1; ; tries++) {
    await call.play(intro, { bargeIn: true });
    const take = await call.record({ maxSeconds, silenceSeconds: 5 });
    if (take.reason === "hangup") {
      // The owner hung up before accepting: nothing is kept.
      await discard(call, take);
      throw new Hangup();
    }
    if (take.durationMs >= MIN_TAKE_MS) return take;
    await discard(call, take);
    if (tries >= MAX_TRIES) return await goodbye(call);
    await call.play(["voicemail.recording.too-short"]);
  }
}

/** The review menu; when the owner never chooses, the take goes before the goodbye. */
async function chooseDiscarding(call: CallControl, take: RecordResult): Promise<string> {
  try {
    return await chooseKey(call, ["voicemail.menu.recording"], "123*");
  } catch (err) {
    await discard(call, take);
    throw err;
  }
}

function discard(call: CallControl, take: RecordResult): Promise<void> {
  return discardRecording(call, take.path);
}
