// The composition root: reads nothing itself, builds every room from the
// configuration, wires them together, and takes them down again in order.

import { readdirSync, readFileSync, rmSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import type { Server as TlsServer } from "node:tls";
import { ADMIN_TOKEN_FILE, resolveAdminToken } from "./api/admin-token.ts";
import { buildApi } from "./api/index.ts";
import { type Config, DEFAULT_CALL_HISTORY_DAYS, DEFAULT_MEDIA_NICE } from "./config.ts";
import { MediaPacer } from "./media/endpoint/index.ts";
import { RtpengineClient } from "./media/rtpengine/ng-client.ts";
import { RtpengineMediaLegs, rtpengineAddress } from "./media/rtpengine/rtpengine-media-legs.ts";
import { companyApps } from "./pbx/apps/company/index.ts";
import type { AppRegistry } from "./pbx/apps/dispatcher.ts";
import { forwardingApps } from "./pbx/apps/forwarding/forwarding-app.ts";
import { voicemailApps } from "./pbx/apps/voicemail/index.ts";
import { CallHistoryRecorder } from "./pbx/call/call-history.ts";
import { CallHistoryRetention } from "./pbx/call/call-history-retention.ts";
import { createMediaLegs, type MediaLegs } from "./pbx/call/media-legs.ts";
import { PromptSpeech } from "./pbx/call/speech.ts";
import { CompanyAudioFiles } from "./pbx/company/company-audio.ts";
import { CompanyService } from "./pbx/company/company-service.ts";
import { EventHub } from "./pbx/events/index.ts";
import { LiveFeed } from "./pbx/live/index.ts";
import { PBX_METHODS, Pbx } from "./pbx/pbx.ts";
import { CountingAuthGuard, PbxCounters } from "./pbx/pbx-metrics.ts";
import { Registrar } from "./pbx/registrar/index.ts";
import { nonceSecret, ProxiedPhoneAuthenticator, TrustedProxies } from "./pbx/security/index.ts";
import {
  DEFAULT_OVERLOAD_DELAY_MS,
  eventLoopProbe,
  type LoadProbe,
  OverloadGuard,
} from "./pbx/security/overload-guard.ts";
import { TrunkDirectory, TrunkRegistrations } from "./pbx/trunks/index.ts";
import { VoicemailService } from "./pbx/voicemail/index.ts";
import { MailSender } from "./pbx/voicemail/mail-sender.ts";
import { buildPromptCache, PromptLibrary } from "./prompts/index.ts";
import { NonceManager } from "./sip/auth/index.ts";
import { UserAgent, type UserAgentDelegate } from "./sip/dialog/index.ts";
import { LIMITS } from "./sip/message/index.ts";
import { TransactionLayer } from "./sip/transaction/index.ts";
import {
  serverTlsOptions,
  TlsCredentials,
  TransportLayer,
  type WebSocketLike,
} from "./sip/transport/index.ts";
import { openStore } from "./store/sql/open-store.ts";
import { loadSecretKey } from "./store/sql/secret-key.ts";
import type { Language, Store } from "./store/types.ts";
import { AcmeCertificates, storedAcmeCertificate } from "./util/acme-certificates.ts";
import { AcmeChallenges } from "./util/acme-challenges.ts";
import { type Clock, SystemClock } from "./util/clock.ts";
import { checkDataPermissions, ensurePrivateDir } from "./util/file-permissions.ts";
import { createLogger, type Logger } from "./util/log.ts";
import { ensureSelfSignedCertificate, selfSignedNames } from "./util/tls-certificate.ts";

export interface RunningVpbx {
  readonly sipPort: number;
  /** The SIP over TLS port; undefined when TLS is off. */
  readonly sipTlsPort: number | undefined;
  readonly httpPort: number;
  readonly pbx: Pbx;
  /** The certificates from the ACME CA (VPBX_ACME_DOMAIN); undefined without ACME. */
  readonly acme: AcmeCertificates | undefined;
  stop(): Promise<void>;
}

export interface StartOptions {
  log?: Logger;
  clock?: Clock;
  /** Synthesise every prompt in the background at start (default true). */
  warmPrompts?: boolean;
  /** The folder whose prompts/ caches synthesised prompts (default the data dir); tests share one. */
  promptCacheDir?: string;
  /** Apps added to or replacing the built-in ones, by feature action. */
  apps?: AppRegistry;
  /** Where overload control reads the load (default: this thread's event-loop delay). */
  loadProbe?: LoadProbe;
  /** How often the ACME CA is asked whether a validation or order is done (default 5 s; tests less). */
  acmeStatusPollMs?: number;
}

/**
 * How long a stop waits for the answers to the BYEs that end the calls. A
 * phone that vanished would otherwise hold the stop for Timer F (64*T1 =
 * 32 s, RFC 3261 §17.1.2.2), longer than a supervisor waits before SIGKILL
 * (Docker: 10 s), and the store would not be closed cleanly.
 */
const SHUTDOWN_GRACE_MS = 3000;

/** True if `work` settled within `ms`; a failure is logged, not thrown, so that the stop goes on. */
function settlesWithin(work: Promise<void>, ms: number, clock: Clock, log: Logger): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = clock.setTimer(ms, () => resolve(false));
    work.then(
      () => {
        timer.cancel();
        resolve(true);
      },
      (err: unknown) => {
        timer.cancel();
        log.error({ err }, "stopping: ending the calls failed");
        resolve(true);
      },
    );
  });
}

export async function startVpbx(config: Config, opts: StartOptions = {}): Promise<RunningVpbx> {
  const log = opts.log ?? createLogger(config.logLevel);
  const clock = opts.clock ?? new SystemClock();
  // Secrets at rest: the data directory is the owner's alone (0700, files
  // 0600); what is looser is said, with the chmod that fixes it.
  ensurePrivateDir(config.dataDir);
  await checkDataPermissions(config.dataDir, log);
  let started = false;
  const recordDir = join(config.dataDir, "recordings", "tmp");
  ensurePrivateDir(recordDir);
  // Recordings of calls that a stop cut short: nobody was told they were kept
  // (a voicemail is confirmed only once it is filed), so they go.
  const leftovers = readdirSync(recordDir);
  for (const name of leftovers) rmSync(join(recordDir, name), { force: true, recursive: true });
  if (leftovers.length > 0)
    log.info({ count: leftovers.length }, "unfinished recordings of the last run removed");

  // Credentials in the store are sealed with a key kept apart from it.
  const secretKey = await loadSecretKey(config, log);
  const store = await openStore({
    dataDir: config.dataDir,
    databaseUrl: config.databaseUrl,
    secretKey,
    clock,
    log,
  });
  log.info({ engine: store.engine, location: store.location }, "store open");
  const stops: Array<() => Promise<void> | void> = [() => store.close()];
  try {
    const token = resolveAdminToken(config, config.dataDir);
    if (token.token) {
      // A start that fails (a port in use) must not keep a token that it
      // never printed: the next start generates and prints a new one.
      stops.push(() => {
        if (!started) rmSync(join(config.dataDir, ADMIN_TOKEN_FILE), { force: true });
      });
    }
    const prompts = new PromptLibrary({ dataDir: opts.promptCacheDir ?? config.dataDir, log });
    stops.unshift(() => prompts.close());
    const speech = new PromptSpeech(prompts);
    // What the first seconds of a call say (a code's confirmation, a failure's
    // reason) is synthesised before SIP listens, so that no caller hears
    // silence while a prompt is being made.
    await warmAnswerPrompts(speech, await languagesInUse(store), log);

    const seconds = (s?: number) => (s === undefined ? undefined : s * 1000);
    // SIP over TLS (RFC 3261 §26.2), and HTTPS when asked (VPBX_HTTP_TLS):
    // the operator's certificate, else a self-signed one.
    const tlsPort = config.sipTlsPort;
    const httpTls = config.httpTls === true;
    const tlsCredentials =
      tlsPort === undefined && !httpTls ? undefined : await openTlsCredentials(config, clock, log);
    /** The HTTPS server, once built: a renewed certificate goes to it too. */
    let httpsServer: TlsServer | undefined;
    // HTTP-01 answers (RFC 8555 §8.3) served by the HTTP server while the ACME CA validates.
    const acmeChallenges = config.acme && tlsCredentials ? new AcmeChallenges() : undefined;
    const transport = await TransportLayer.listen({
      bind: config.bind,
      port: config.sipPort,
      publicAddress: config.publicAddress,
      log,
      clock,
      // Idle TCP connections of peers that never authenticated are capped and
      // closed early; a phone that authenticated keeps its connection.
      maxTcpConnections: config.tcpMaxConnections,
      maxTcpConnectionsPerSource: config.tcpMaxPerSource,
      tcpIdleTimeoutMs: seconds(config.tcpIdleTimeoutSeconds),
      tcpUnauthenticatedTimeoutMs: seconds(config.tcpUnauthenticatedTimeoutSeconds),
      tls:
        tlsPort === undefined || !tlsCredentials
          ? undefined
          : { port: tlsPort, secureContext: tlsCredentials.context },
      ...(config.tlsTrustedCaFile === undefined
        ? {}
        : { tlsTrustedCertificates: [readFileSync(config.tlsTrustedCaFile, "utf8")] }),
    });
    stops.unshift(() => transport.close());
    if (tlsCredentials) {
      // A renewed certificate is taken for new connections without a restart:
      // when its files change, or on SIGHUP.
      tlsCredentials.onChange = (context) => {
        transport.setSecureContext(context);
        httpsServer?.setSecureContext(serverTlsOptions(tlsCredentials.pem));
      };
      tlsCredentials.start();
      const onHangup = () => void tlsCredentials.reload("SIGHUP");
      process.on("SIGHUP", onHangup);
      stops.unshift(() => {
        process.off("SIGHUP", onHangup);
        tlsCredentials.stop();
      });
    }
    // What /metrics reads: the SIP errors we answer are counted where every
    // message goes out (the transport as the transaction layer sees it).
    const counters = new PbxCounters();
    const transactions = new TransactionLayer({
      transport: counters.countingTransport(transport),
      clock,
      log,
    });
    stops.unshift(() => transactions.close());
    // The UA core hands requests up to the Pbx, which is built from the UA
    // further down: this delegate forwards to it. Nothing is awaited between
    // the two, so no request can come before; if one did, the transaction
    // layer would log the throw and answer 500.
    let built: Pbx | undefined;
    const thePbx = (): Pbx => {
      if (!built) throw new Error("a request came before the PBX was built");
      return built;
    };
    const toPbx: UserAgentDelegate = {
      onInvite: (inv) => thePbx().onInvite(inv),
      onRequest: (req, tx) => thePbx().onRequest(req, tx),
      onDialogRequest: (req, tx, dialog) => thePbx().onDialogRequest(req, tx, dialog),
    };
    const ua = new UserAgent({
      transactions,
      clock,
      log,
      contactHost: config.publicAddress,
      contactPort: transport.port,
      allow: PBX_METHODS,
      delegate: toPbx,
    });
    stops.unshift(() => ua.close());

    // The nonce key is the store's (the same after a restart and on every
    // node); blocks of guessing sources and accounts are the store's too.
    const nonces = new NonceManager({ clock, secret: await nonceSecret(store) });
    const guard = new CountingAuthGuard({ clock, log, blocks: store.authBlocks }, counters);
    await guard.ready();
    stops.unshift(() => guard.close());
    // Behind the trusted proxies (Kamailio in front of several nodes) the
    // source that counts is the phone's own (its Via), not the proxy's.
    const proxies = new TrustedProxies((config.trustedProxies ?? []).join(","));
    if (proxies.size > 0) log.info({ trustedProxies: proxies.entries }, "trusted proxies");
    const auth = new ProxiedPhoneAuthenticator(
      {
        store,
        nonces,
        clock,
        log,
        guard,
        algorithms: config.digestAlgorithms,
        onAuthenticated: (remote) => transport.markAuthenticated(remote),
      },
      proxies,
    );
    // The console's live updates (GET /api/v1/events): change notices from
    // where the changes happen, beside the lamps; pbx.shutdown() ends the streams.
    const live = new LiveFeed({ clock, log });
    // Subscriptions and the lamps of desk phones (RFC 6665): the registrar
    // tells it when devices come and go, the PBX when calls change.
    const events = new EventHub({
      ua,
      store,
      clock,
      log,
      contactFor: (remote) => ua.contactFor(remote),
      devices: async (tenant, extension) =>
        (await store.bindings.list(tenant, extension)).filter((b) => b.expiresAt > clock.now()),
      mailbox: (tenant, extension) => voicemail.counts(tenant, extension),
      sourceOf: (req, remote) => proxies.sourceOf(req, remote),
      // On PostgreSQL other nodes may share the store: each serves the subscriptions it made.
      restoreOwnOnly: config.databaseUrl !== undefined,
    });
    // Mailboxes: a message confirmed to a caller is on disk before the
    // confirmation; what a crash left half-filed is recovered before calls come.
    // Voicemail and the company's audio under VPBX_AUDIO_URL: one directory
    // that every node mounts (NFS), else the data directory.
    const audioDir = config.audioDir ?? config.dataDir;
    if (config.audioDir) log.info({ audioDir }, "shared audio directory");
    const voicemail = new VoicemailService({
      store,
      dataDir: audioDir,
      // Shared with other nodes: their deposits in progress are not leftovers.
      recoveryGraceMs: config.audioDir ? 5 * 60_000 : 0,
      clock,
      log,
      publishMailbox: (tenant, mailbox, counts) => {
        live.publish({ type: "voicemail", tenant, extension: mailbox });
        events.publishMailbox(tenant, mailbox, counts);
        mail.kick();
        // The lamps whose subscriptions other nodes hold (PostgreSQL LISTEN/NOTIFY).
        void store.changes?.publish({ kind: "mailbox", tenant, mailbox });
      },
    });
    await voicemail.recover();
    const mail = new MailSender({
      store,
      clock,
      log,
      smtpUrl: config.smtpUrl,
      from: config.smtpFrom,
      audioPath: (message) => voicemail.audioPath(message),
      removeMessage: (tenant, mailbox, id) => voicemail.remove(tenant, mailbox, id),
    });
    mail.start();
    stops.unshift(() => mail.stop());
    const registrar = new Registrar({
      store,
      auth,
      clock,
      log,
      // RFC 3327: a Path is taken from the trusted proxies only.
      acceptPath: (remote) => proxies.trusts(remote.address),
      listener: {
        bindingsChanged: (tenant, extension) => {
          events.registrationsChanged(tenant, extension);
          live.publish({ type: "registrations", tenant, extension });
        },
        registered: (binding) => void events.unsolicitedMwi(binding),
      },
    });
    registrar.start();
    stops.unshift(() => registrar.stop());

    // RTP sockets and the relay of bridged calls on media worker threads, each
    // on its slice of the port range (VPBX_MEDIA_THREADS; 0: on this thread).
    const ownMedia = await createMediaLegs({
      threads: config.mediaThreads ?? availableParallelism(),
      nice: config.mediaNice ?? DEFAULT_MEDIA_NICE,
      rtpPorts: config.rtpPorts,
      bind: config.bind,
      publicAddress: config.publicAddress,
      clock,
      log,
    });
    stops.unshift(() => ownMedia.stop());
    const media = config.rtpengine
      ? await rtpengineMedia(config.rtpengine, ownMedia, clock, log, stops)
      : ownMedia;
    const pacer = new MediaPacer(clock);

    const trunks = new TrunkDirectory({ store, clock, log });
    const trunkRegistrations = new TrunkRegistrations({
      live,
      ua,
      store,
      clock,
      log,
      contactHost: config.publicAddress,
      contactPort: transport.port,
      contactPortFor: (t) => transport.portFor?.(t),
      remoteOf: (t) => trunks.remoteOf(t),
    });

    // The company's schedule, call flow and own audio: the override's end
    // is re-armed (or an override that ended while we were down is dropped)
    // and the *11/*20 lamps set before calls come.
    const company = new CompanyService({
      live,
      store,
      clock,
      log,
      lamps: events,
      audio: new CompanyAudioFiles({
        store,
        dataDir: audioDir,
        log,
        speak: (text, language) => prompts.speak(text, language),
      }),
    });
    stops.unshift(() => company.close());

    const overload = new OverloadGuard({
      probe: opts.loadProbe ?? eventLoopProbe(),
      clock,
      log,
      maxDelayMs: config.overloadDelayMs ?? DEFAULT_OVERLOAD_DELAY_MS,
    });
    overload.start();
    stops.unshift(() => overload.stop());

    // Every call's record when it ends (VPBX_CALL_HISTORY_DAYS; 0: the
    // metrics count the calls, nothing is kept), written after the calls'
    // last BYEs and before the store closes; old records purged daily.
    const historyDays = config.callHistoryDays ?? DEFAULT_CALL_HISTORY_DAYS;
    const history = new CallHistoryRecorder({
      store,
      clock,
      log,
      keep: historyDays > 0,
      onRecord: (record) => counters.callEnded(record),
    });
    // A store that stopped answering does not hold the stop: its records are lost, as it is.
    stops.unshift(async () => {
      if (!(await settlesWithin(history.flush(), SHUTDOWN_GRACE_MS, clock, log)))
        log.warn({ pending: history.pending }, "stopping: call history records not written in time");
    });
    const retention = new CallHistoryRetention({ store, clock, log, days: historyDays });
    retention.start();
    stops.unshift(() => retention.stop());

    const pbx = new Pbx({
      live,
      history,
      counters,
      ua,
      overload,
      sourceOf: (req, remote) => proxies.sourceOf(req, remote),
      events,
      voicemail,
      company,
      peerTrusted: (remote) => transport.markAuthenticated(remote),
      store,
      registrar,
      auth,
      trunks,
      media,
      pacer,
      speech,
      apps: { ...forwardingApps, ...voicemailApps, ...companyApps, ...opts.apps },
      clock,
      log,
      mediaTimeoutMs: config.mediaTimeoutSeconds * 1000,
      recordDir,
    });
    built = pbx;
    await events.start();
    stops.unshift(() => events.stop());
    // A mailbox another node changed: its counts read again, for the lamps held here.
    const stopChanges = store.changes?.subscribe((change) => {
      if (change.kind !== "mailbox") return;
      live.publish({ type: "voicemail", tenant: change.tenant, extension: change.mailbox });
      voicemail.counts(change.tenant, change.mailbox).then(
        (counts) => events.publishMailbox(change.tenant, change.mailbox, counts, { fromAnotherNode: true }),
        (err: unknown) => log.error({ err, ...change }, "mailbox changed on another node: counts not read"),
      );
    });
    if (stopChanges) stops.unshift(stopChanges);
    await company.start();
    trunkRegistrations.start();
    stops.unshift(() => trunkRegistrations.stop());

    let ready = true;
    const api = buildApi({
      store,
      company,
      clock,
      pbx: {
        registrations: async (tenant) =>
          (await store.bindings.list(tenant))
            .filter((b) => b.expiresAt > clock.now())
            .map((b) => ({
              extension: b.extension,
              contact: b.contact,
              expiresAt: new Date(b.expiresAt).toISOString(),
              source: `${b.source.transport.toLowerCase()}:${b.source.address}:${b.source.port}`,
              userAgent: b.userAgent,
            })),
        calls: () => pbx.callViews(),
        trunkRegistration: (name) => trunkRegistrations.state(name),
        trunksChanged: () => void trunkRegistrations.reconcile(),
        subscriptions: (tenant) => events.list(tenant),
        voicemail: () => voicemail,
        live: () => pbx.live(),
        metrics: () => pbx.metrics(),
      },
      verifyToken: token.verify,
      log,
      isReady: () => ready,
      // SIP over WebSocket (RFC 7118) on the HTTP port: the API upgrades, the transport takes the socket.
      sipWebSocket: {
        maxMessageBytes: LIMITS.maxMessageBytes,
        onConnection: (socket, request) =>
          transport.acceptWebSocket(socket as WebSocketLike, {
            address: request.socket.remoteAddress ?? "",
            port: request.socket.remotePort ?? 0,
          }),
      },
      https: httpTls && tlsCredentials ? serverTlsOptions(tlsCredentials.pem) : undefined,
      metricsToken: config.metricsToken,
      acmeChallenges,
    });
    // An HTTPS server is a tls.Server (https.Server extends it).
    if (httpTls) httpsServer = api.server as unknown as TlsServer;
    await api.listen({ host: config.bind, port: config.httpPort });
    stops.unshift(() => api.close());
    const address = api.server.address();
    const httpPort = typeof address === "object" && address ? address.port : config.httpPort;
    // Our Via and Contact over a WebSocket name the HTTP port; WSS behind HTTPS.
    transport.setWebSocketPort(httpPort, httpTls);

    // The certificate from the ACME CA, once the HTTP server answers its
    // challenges: ordered now when none is stored, renewed before it ends,
    // and taken by the TLS listener and HTTPS as a SIGHUP reload would.
    let acme: AcmeCertificates | undefined;
    if (config.acme && tlsCredentials && acmeChallenges) {
      const credentials = tlsCredentials;
      acme = new AcmeCertificates({
        dataDir: config.dataDir,
        settings: {
          domains: config.acme.domains,
          email: config.acme.email,
          directoryUrl: config.acme.directoryUrl,
          directoryCa: config.acme.directoryCaFile
            ? readFileSync(config.acme.directoryCaFile, "utf8")
            : undefined,
        },
        challenges: acmeChallenges,
        clock,
        log,
        statusPollMs: opts.acmeStatusPollMs,
        install: (files, reason) => credentials.switchTo(files, reason),
      });
      acme.start();
      const running = acme;
      stops.unshift(() => running.stop());
    }

    if (opts.warmPrompts ?? true) {
      // The rest of the prompts of the languages in use are synthesised
      // ahead, in the background, so that no caller waits for them.
      const languages = await languagesInUse(store);
      if (languages.length > 0) {
        buildPromptCache({
          dataDir: opts.promptCacheDir ?? config.dataDir,
          languages,
          log,
          library: prompts,
        }).then(
          (r) => log.info(r, "prompt cache ready"),
          (err) => log.error({ err }, "prompt cache build failed"),
        );
      }
    }

    log.info(
      {
        sip: `${config.bind}:${transport.port}`,
        ...(transport.tlsPort === undefined ? {} : { sipTls: `${config.bind}:${transport.tlsPort}` }),
        http: `${config.bind}:${httpPort}`,
        ...(httpTls ? { https: true } : {}),
        sipWebSocket: `${httpTls ? "wss" : "ws"}://${config.bind}:${httpPort}/sip`,
        public: config.publicAddress,
      },
      "vpbx started",
    );
    started = true;
    if (token.token) {
      // Printed once, on the first start that succeeds: only its hash is kept.
      process.stdout.write(`vpbx: generated admin API token (shown once, keep it): ${token.token}\n`);
    }

    let stopping: Promise<void> | undefined;
    return {
      sipPort: transport.port,
      sipTlsPort: transport.tlsPort,
      httpPort,
      pbx,
      acme,
      stop: () => {
        stopping ??= (async () => {
          ready = false;
          log.info({ calls: pbx.calls.size }, "stopping: ending calls");
          if (!(await settlesWithin(pbx.shutdown(), SHUTDOWN_GRACE_MS, clock, log))) {
            log.warn({ graceMs: SHUTDOWN_GRACE_MS }, "stopping: not every BYE was answered in time");
          }
          for (const stop of stops) await stop();
          log.info("vpbx stopped");
        })();
        return stopping;
      },
    };
  } catch (err) {
    for (const stop of stops) await stop();
    throw err;
  }
}

/**
 * The certificate of SIP over TLS: VPBX_TLS_CERT and VPBX_TLS_KEY, else the
 * ACME CA's stored by an earlier start (VPBX_ACME_DOMAIN), else a
 * self-signed one made on the first start in the data directory and reused
 * (with ACME, until the CA's certificate is issued).
 */
async function openTlsCredentials(config: Config, clock: Clock, log: Logger): Promise<TlsCredentials> {
  let certFile = config.tlsCertFile;
  let keyFile = config.tlsKeyFile;
  if (config.acme && (certFile !== undefined || keyFile !== undefined)) {
    // loadConfig refuses this; a Config written in code must not pick one silently either.
    throw new Error(
      "a certificate from files (tlsCertFile, tlsKeyFile) and one from ACME (acme) are both configured: keep one",
    );
  }
  if (config.acme) {
    const stored = storedAcmeCertificate(
      config.dataDir,
      { domains: config.acme.domains, directoryUrl: config.acme.directoryUrl },
      clock.now(),
    );
    if ("certificate" in stored) {
      return TlsCredentials.load({
        certFile: stored.certificate.certFile,
        keyFile: stored.certificate.keyFile,
        clock,
        log,
      });
    }
    const made = await ensureSelfSignedCertificate(config.dataDir, selfSignedNames(config.publicAddress), {
      now: clock.now(),
      log,
    });
    log.warn(
      { domains: config.acme.domains, directory: config.acme.directoryUrl, acme: stored.problem },
      "SIP over TLS and HTTPS use a self-signed certificate until the ACME CA issues one (a minute, when the CA reaches http://<domain>/.well-known/acme-challenge/ on port 80)",
    );
    return TlsCredentials.load({ certFile: made.certFile, keyFile: made.keyFile, clock, log });
  }
  if (certFile === undefined || keyFile === undefined) {
    const made = await ensureSelfSignedCertificate(config.dataDir, selfSignedNames(config.publicAddress), {
      now: clock.now(),
      log,
    });
    certFile = made.certFile;
    keyFile = made.keyFile;
    log.warn(
      { certFile, created: made.created },
      "SIP over TLS and HTTPS use a self-signed certificate: phones and browsers that verify the server refuse it; set VPBX_TLS_CERT and VPBX_TLS_KEY to a certificate for this server's name",
    );
  }
  return TlsCredentials.load({ certFile, keyFile, clock, log });
}

async function languagesInUse(store: Store): Promise<Language[]> {
  const languages = new Set<Language>();
  for (const t of await store.tenants.list()) {
    languages.add(t.language);
    for (const e of await store.extensions.list(t.name)) if (e.language) languages.add(e.language);
  }
  return [...languages];
}

/** Prompts a call may open with: feature-code answers, refusals, and the reasons a call fails. */
const ANSWER_PROMPTS = [
  "feature.not-enabled",
  "error.code-invalid",
  "error.number-missing",
  "error.number-invalid",
  "error.destination-not-allowed",
  "error.forwarding-loop",
  "error.number-not-assigned",
  "error.try-again-later",
  "call.busy",
  "call.unreachable",
  "call.not-allowed",
  "generic.goodbye",
  "forwarding.unconditional.enabled",
  "forwarding.busy.enabled",
  "forwarding.unreachable.enabled",
  "forwarding.all.disabled",
  "forwarding.busy.disabled",
  "forwarding.unreachable.disabled",
];

async function warmAnswerPrompts(speech: PromptSpeech, languages: Language[], log: Logger): Promise<void> {
  const started = Date.now();
  for (const language of languages) {
    await speech.render([...ANSWER_PROMPTS, { digits: "0123456789*#" }], language, "");
  }
  if (languages.length > 0) log.info({ languages, ms: Date.now() - started }, "answer prompts ready");
}

/**
 * The legs of every call behind rtpengine (VPBX_RTPENGINE): its address is
 * learned, and its answering proved, by a probe call before SIP listens.
 */
async function rtpengineMedia(
  at: { host: string; port: number },
  own: MediaLegs,
  clock: Clock,
  log: Logger,
  stops: Array<() => void | Promise<void>>,
): Promise<MediaLegs> {
  const client = new RtpengineClient({ host: at.host, port: at.port, clock, log });
  stops.unshift(() => client.close());
  let address: string;
  try {
    address = await rtpengineAddress(client, { address: own.address, rtpPort: 9, rtcpPort: 10 });
  } catch (err) {
    throw new Error(
      `rtpengine at ${at.host}:${at.port} does not answer (${(err as Error).message}): start it with --listen-ng=${at.host}:${at.port}, or unset VPBX_RTPENGINE`,
    );
  }
  log.info({ rtpengine: `${at.host}:${at.port}`, address }, "media through rtpengine");
  const legs = new RtpengineMediaLegs({ client, inner: own, clock, log, address });
  // Browser legs stay ours (DTLS-SRTP terminated here, like SDES legs):
  // rtpengine's release hands any leg that is not its own back to `own`.
  return Object.assign(legs, { allocateWebRtc: (callLog?: Logger) => own.allocateWebRtc(callLog) });
}
