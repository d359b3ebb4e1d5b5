// Pebble, Let's Encrypt's ACME test server (Debian package `pebble`), for
// the ACME tests: started on free loopback ports with a configuration in a
// temporary folder, its HTTP-01 validation pointed at the port the test's
// vpbx serves HTTP on (so the CA really fetches the challenge from us), its
// own HTTPS on a certificate that our tls-certificate.ts makes (the Debian
// package ships none of Pebble's test CA files). Locally a missing pebble
// skips the tests; in CI (CI=true) it fails them.
import { type ChildProcess, spawn } from "node:child_process";
import { accessSync, constants, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { get as httpsGet } from "node:https";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { createSelfSignedCertificate } from "../../src/util/tls-certificate.ts";

export interface PebbleOptions {
  /** The port Pebble's validation authority fetches http://<name>:<port>/.well-known/acme-challenge/ from. */
  httpPort: number;
  /** Validity of the certificates it issues (default Pebble's 5 years). */
  validitySeconds?: number;
}

export interface Pebble {
  /** The ACME directory (RFC 8555 §7.1.1). */
  readonly directoryUrl: string;
  /** PEM: the certificate of the directory's HTTPS (self-signed, for 127.0.0.1 and localhost). */
  readonly directoryCa: string;
  /** Pebble's root CA for the certificates it issues (made anew at each start). */
  rootCertificate(): Promise<string>;
  /** What Pebble printed, for a failure's message. */
  output(): string;
  stop(): Promise<void>;
}

/** Path of the pebble binary; undefined when it is not installed (an Error in CI, where it must be). */
export function pebbleBinary(): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (!dir) continue;
    try {
      accessSync(join(dir, "pebble"), constants.X_OK);
      return join(dir, "pebble");
    } catch {
      // not in this directory
    }
  }
  if (process.env.CI === "true")
    throw new Error("pebble is not installed, but CI must run the ACME tests (apt-get install pebble)");
  return undefined;
}

/** A TCP port free on 127.0.0.1 at the time of asking. */
export function freeTcpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** GET over HTTPS trusting `ca`: the body, or an Error with the status. */
function fetchWithCa(url: string, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = httpsGet(url, { ca }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const body = Buffer.concat(chunks).toString("utf8");
        if (res.statusCode === 200) resolve(body);
        else reject(new Error(`GET ${url}: ${res.statusCode} ${body.slice(0, 200)}`));
      });
    });
    req.on("error", reject);
  });
}

export async function startPebble(opts: PebbleOptions): Promise<Pebble> {
  const binary = pebbleBinary();
  if (!binary) throw new Error("pebble is not installed (apt-get install pebble)");
  const dir = mkdtempSync(join(tmpdir(), "vpbx-pebble-"));
  const tlsPair = await createSelfSignedCertificate({
    addresses: ["127.0.0.1"],
    hostnames: ["localhost"],
    now: Date.now(),
    days: 2,
  });
  writeFileSync(join(dir, "cert.pem"), tlsPair.cert);
  writeFileSync(join(dir, "key.pem"), tlsPair.key);
  const [listen, management, tlsAlpn] = [await freeTcpPort(), await freeTcpPort(), await freeTcpPort()];
  writeFileSync(
    join(dir, "pebble-config.json"),
    JSON.stringify({
      pebble: {
        listenAddress: `127.0.0.1:${listen}`,
        managementListenAddress: `127.0.0.1:${management}`,
        certificate: join(dir, "cert.pem"),
        privateKey: join(dir, "key.pem"),
        httpPort: opts.httpPort,
        tlsPort: tlsAlpn,
        ocspResponderURL: "",
        externalAccountBindingRequired: false,
        ...(opts.validitySeconds === undefined ? {} : { certificateValidityPeriod: opts.validitySeconds }),
      },
    }),
  );
  const child: ChildProcess = spawn(binary, ["-config", join(dir, "pebble-config.json")], {
    cwd: dir,
    env: {
      ...process.env,
      // Validate at once, not after a random 0-15 s pause.
      PEBBLE_VA_NOSLEEP: "1",
      // Every order validates again over HTTP-01 (Pebble would reuse half of the valid authorizations).
      PEBBLE_AUTHZREUSE: "0",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`pebble did not start within 15 s:\n${out.slice(-2000)}`)),
      15_000,
    );
    const onData = (d: Buffer) => {
      out = (out + d.toString()).slice(-20_000);
      if (out.includes("ACME directory available at")) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`pebble exited (${code}) at start:\n${out.slice(-2000)}`));
    });
  });
  return {
    directoryUrl: `https://127.0.0.1:${listen}/dir`,
    directoryCa: tlsPair.cert,
    rootCertificate: () => fetchWithCa(`https://127.0.0.1:${management}/roots/0`, tlsPair.cert),
    output: () => out,
    async stop() {
      if (child.exitCode === null) {
        child.kill("SIGTERM");
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
