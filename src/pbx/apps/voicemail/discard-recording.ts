// A recording's temporary file, once the service has copied what it keeps
// (a message, a greeting) or the take was refused: the service leaves the
// caller's file alone, so the menu that recorded it deletes it.

import { rm } from "node:fs/promises";
import type { CallControl } from "../call-control.ts";

export async function discardRecording(call: CallControl, path: string): Promise<void> {
  try {
    await rm(path, { force: true });
  } catch (err) {
    call.log.warn({ err, path }, "could not delete a voicemail recording's temporary file");
  }
}
