// The peers `--peers` puts beside vpbx (issue #11), as bench targets:
// Kamailio as a stateful proxy and registrar with digest (the calls figure),
// and the same Kamailio with rtpengine relaying the media (the relay figure).
// Configurations: bench/peers/*.cfg (bench/peers/README.md).
import { join } from "node:path";
import { findKamailio, KamailioProcess } from "./kamailio-process.ts";
import { DOMAIN, PASSWORD_PREFIX } from "./pbx-process.ts";
import { findRtpengine, RtpengineProcess } from "./rtpengine-process.ts";
import type { PeerTarget } from "./target.ts";

const PEERS_DIR = join(import.meta.dirname, "..", "peers");

/** Why a peer cannot run on this machine, or undefined when it can (a bench skips it with a note). */
export function peerMissing(kind: "proxy" | "relay"): string | undefined {
  if (!findKamailio())
    return "kamailio is not installed (Debian: apt-get install kamailio kamailio-extra-modules)";
  if (kind === "relay" && !findRtpengine())
    return "rtpengine is not installed (Debian: apt-get install rtpengine-daemon)";
  return undefined;
}

/** Common defines: the bench's domain is the realm, passwords as passwordOf() makes them. */
const DEFINES = { DOMAIN, PASSWORD_PREFIX: `"${PASSWORD_PREFIX}"` };

/** Kamailio as a stateful proxy with digest and an in-memory registrar (bench/peers/kamailio-proxy.cfg). */
export async function startKamailioProxy(): Promise<PeerTarget> {
  const kamailio = await KamailioProcess.start({
    config: join(PEERS_DIR, "kamailio-proxy.cfg"),
    defines: DEFINES,
  });
  return {
    name: "kamailio",
    sipPort: kamailio.sipPort,
    createUsers: async () => {},
    processes: () => ({ kamailio: kamailio.pids() }),
    logTail: () => kamailio.logTail(),
    stop: () => kamailio.stop(),
  };
}

/** The same proxy with the media through rtpengine (bench/peers/kamailio-rtpengine.cfg). */
export async function startKamailioRtpengine(calls: number): Promise<PeerTarget> {
  const rtpengine = await RtpengineProcess.start({ calls });
  let kamailio: KamailioProcess;
  try {
    kamailio = await KamailioProcess.start({
      config: join(PEERS_DIR, "kamailio-rtpengine.cfg"),
      defines: { ...DEFINES, RTPENGINE_SOCK: rtpengine.sock },
    });
  } catch (err) {
    await rtpengine.stop();
    throw err;
  }
  return {
    name: "kamailio+rtpengine",
    sipPort: kamailio.sipPort,
    createUsers: async () => {},
    processes: () => ({ kamailio: kamailio.pids(), rtpengine: [rtpengine.pid] }),
    logTail: () => `kamailio:\n${kamailio.logTail()}\nrtpengine:\n${rtpengine.logTail()}`,
    stop: async () => {
      await kamailio.stop();
      await rtpengine.stop();
    },
  };
}
