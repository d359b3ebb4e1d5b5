// Waiting for what the PBX says to end, as a caller does before speaking:
// sound was heard, then 700 ms of silence or of no packets at all (while it
// records, the PBX sends nothing).
import type { Call } from "../harness/sip-phone.ts";

export async function untilQuietAfterSound(call: Call, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let heard = false;
  let quietSince = 0;
  let packets = call.received.length;
  for (;;) {
    const pcm = call.receivedPcm();
    const tail = pcm.subarray(Math.max(0, pcm.length - 800));
    const arriving = call.received.length !== packets;
    packets = call.received.length;
    if (arriving && tail.some((s) => Math.abs(s) > 1500)) {
      heard = true;
      quietSince = 0;
    } else if (heard) {
      quietSince ||= Date.now();
      if (Date.now() - quietSince > 700) return;
    }
    if (Date.now() > deadline) throw new Error(`what the PBX said never ended (${packets} packets)`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
