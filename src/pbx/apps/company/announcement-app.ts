// `*30` to `*33`: one of the company's four announcements (welcome, waiting,
// closed, vacation). The title, then the menu: `1` listen, `2` record a new
// one (after the beep, `#` to end; then `1` keep, `2` listen, `3` record
// again, `*` cancel: the voicemail review menu), `3` back to the default,
// `#` goodbye. A wrong key says so and the menu comes again; a silence brings
// the menu again once, a second one ends the call. A new recording replaces
// the old one only once kept; a take that is not kept is deleted at once.
import { rm } from "node:fs/promises";
import type { AnnouncementKind } from "../../../store/types.ts";
import { AudioRejected } from "../../company/company.ts";
import { type CallControl, Hangup, type Speech } from "../call-control.ts";
import { goodbye, readKey } from "../voicemail/menu-keys.ts";
import { recordReviewed } from "../voicemail/recording-review.ts";
import { requireCompanyAccess } from "./company-access.ts";

/** Longest announcement, in seconds (the Company service refuses longer audio). */
export const ANNOUNCEMENT_MAX_SECONDS = 300;
/** Silences in a row before the menu says goodbye. */
const MAX_SILENCES = 2;

export async function announcementMenu(call: CallControl, kind: AnnouncementKind): Promise<void> {
  try {
    await requireCompanyAccess(call);
    await call.play([`announcement.title.${kind}`], { bargeIn: true });
    let silences = 0;
    for (;;) {
      const key = await readKey(call, ["announcement.menu"]);
      if (key === undefined) {
        if (++silences >= MAX_SILENCES) {
          await call.play(["generic.no-input"]);
          await goodbye(call);
        }
        continue;
      }
      silences = 0;
      if (key === "1") await listen(call, kind);
      else if (key === "2") await record(call, kind);
      else if (key === "3") await reset(call, kind);
      else if (key === "#") await goodbye(call);
      else await call.play(["generic.invalid-choice"]);
    }
  } catch (err) {
    if (err instanceof Hangup) return;
    throw err;
  }
}

/** The company's own recording, or the default prompt with a word that it is the default. */
async function listen(call: CallControl, kind: AnnouncementKind): Promise<void> {
  const file = await call.company.audioFile(call.tenant.name, kind);
  const items: Speech[] = file
    ? [{ file }]
    : ["announcement.playing-default", `announcement.default.${kind}`];
  await call.play(items, { bargeIn: true });
}

async function record(call: CallControl, kind: AnnouncementKind): Promise<void> {
  const take = await recordReviewed(call, ["announcement.record"], ANNOUNCEMENT_MAX_SECONDS);
  if (!take) return;
  try {
    await call.company.keepRecording(call.tenant.name, kind, take.path, call.actor);
  } catch (err) {
    if (err instanceof AudioRejected) {
      call.log.info(
        { kind, why: err.message, durationMs: take.durationMs },
        "announcement recording refused",
      );
      await call.play([
        /short/i.test(err.message) ? "voicemail.recording.too-short" : "error.try-again-later",
      ]);
    } else {
      call.log.error({ err, kind }, "keeping an announcement recording failed");
      await call.play(["error.try-again-later"]);
    }
    return;
  } finally {
    // The service has copied what it keeps; whatever is left of the take goes.
    await discard(call, take.path);
  }
  call.log.info({ kind, durationMs: take.durationMs }, "announcement recorded");
  await call.play(["announcement.saved"]);
}

async function reset(call: CallControl, kind: AnnouncementKind): Promise<void> {
  const had = await call.company.resetAudio(call.tenant.name, kind, call.actor);
  if (had) call.log.info({ kind }, "announcement back to the default");
  await call.play([had ? "announcement.default-restored" : "announcement.already-default"]);
}

async function discard(call: CallControl, path: string): Promise<void> {
  try {
    await rm(path, { force: true });
  } catch (err) {
    call.log.warn({ err, path }, "could not delete an announcement recording's temporary file");
  }
}
