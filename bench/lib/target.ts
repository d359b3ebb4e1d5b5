// The system a call bench measures: vpbx, or a peer (Kamailio as a proxy,
// Kamailio with rtpengine) put beside it by `--peers` (issue #11). The call
// and relay benches drive any of them with the same code and the same load
// generator: phones register at `sipPort`, send their INVITEs there, and the
// users they need are created first (vpbx needs extensions in its store;
// Kamailio derives every password from the user's name and needs none).
import { CpuMeter } from "./cpu.ts";
import type { PbxProcess } from "./pbx-process.ts";

export interface Target {
  /** "vpbx", "kamailio", "kamailio+rtpengine": the `system` of every JSON line. */
  readonly name: string;
  /** UDP port on 127.0.0.1 for REGISTER and INVITE. */
  readonly sipPort: number;
  /** SIP over TLS on 127.0.0.1, when the target has it (the SRTP relay figure). */
  readonly sipTlsPort?: number;
  /** Makes users `numbers` (password passwordOf(number)) able to register and call. */
  createUsers(numbers: string[]): Promise<void>;
  /** The processes doing its work right now, by role (for CPU accounting and pinning). */
  processes(): Record<string, number[]>;
  /** Marks the start of measured load (for the CPU profile of --profile); the returned function its end. */
  measuring?(): () => void;
}

/** A target the bench started for itself, stopped by the bench that started it. */
export interface PeerTarget extends Target {
  /** The last lines its processes printed, for a failure's diagnosis. */
  logTail(): string;
  stop(): Promise<void>;
}

/** vpbx as a target: the shared PBX process of the run (stopped by run.ts, not by a bench). */
export function vpbxTarget(pbx: PbxProcess): Target {
  return {
    name: "vpbx",
    get sipPort() {
      return pbx.sipPort;
    },
    get sipTlsPort() {
      return pbx.sipTlsPort;
    },
    createUsers: (numbers) => pbx.createExtensions(numbers),
    // Read at each call: the register flood bench restarts the PBX (a new pid).
    processes: () => ({ pbx: [pbx.pid] }),
    measuring: () => pbx.measuring(),
  };
}

/** Every pid of a target, all roles together. */
export function targetPids(target: Target): number[] {
  return Object.values(target.processes()).flat();
}

/**
 * CPU use between start and stop of the target's processes (by role, and all
 * together as `target_cpu_pct`) and of the load generator's, in % of one core.
 */
export function meterCpu(target: Target, generator: number[]): { stop(): Record<string, number> } {
  const roles = target.processes();
  const meter = new CpuMeter({ ...roles, generator });
  const measured = target.measuring?.();
  meter.start();
  return {
    stop() {
      const out = meter.stop();
      measured?.();
      const total = Object.keys(roles).reduce((sum, role) => sum + (out[`${role}_cpu_pct`] ?? 0), 0);
      return { target_cpu_pct: Math.round(total * 10) / 10, ...out };
    },
  };
}
