// The DTLS server of one WebRTC leg (RFC 5763: we answer a=setup:passive,
// the browser connects), run by werift-dtls over the datagrams the
// transport hands us, and checked by us before any SRTP key is released:
// the browser's certificate against the a=fingerprint of its SDP (RFC 5763
// §5), its CertificateVerify signature and its Finished (dtls-verify.ts),
// and a use_srtp profile we implement (RFC 5764 §4.1.2).
//
// What werift does on its own clock: retransmitting our flight (real
// timers, up to ~30 s) and short waits for a flight's messages. The
// handshake's deadline is the transport's, on the injected clock.
import type { Logger } from "../../util/log.ts";
import type { SdesAgreement, SrtpProfile } from "../srtp/index.ts";
import { type DtlsCertificate, type DtlsFingerprint, matchesFingerprint } from "./dtls-certificate.ts";
import {
  DTLS_SRTP_EXPORTER_LABEL,
  DTLS_SRTP_PROFILE_IDS,
  dtlsSrtpProfileId,
  keyingMaterialLength,
  splitDtlsSrtpKeys,
} from "./dtls-srtp-keys.ts";
import { checkCertificateVerify, checkClientFinished, type TranscriptMessage } from "./dtls-verify.ts";
import {
  DtlsServer,
  HashAlgorithm,
  SignatureAlgorithm,
  type WeriftSrtpProfile,
  type WeriftTransport,
} from "./werift-dtls.ts";

/** Why a handshake failed (the transport's `failed` event carries it). */
export type DtlsFailureReason =
  | "fingerprint"
  | "certificate-verify"
  | "finished"
  | "no-srtp-profile"
  | "alert"
  | "handshake"
  | "timeout";

export class DtlsFailure extends Error {
  constructor(
    readonly reason: DtlsFailureReason,
    message: string,
  ) {
    super(message);
    this.name = "DtlsFailure";
  }
}

export interface DtlsSrtpResult {
  profile: SrtpProfile;
  /** `local` protects what we send, `remote` unprotects what the browser sends (RFC 5764 §4.2). */
  keys: SdesAgreement;
  /** The browser's certificate (DER), matched against its a=fingerprint. */
  remoteCertificate: Buffer;
}

export interface DtlsServerEndpointOptions {
  certificate: DtlsCertificate;
  /**
   * The a=fingerprint values of the browser's SDP. May come later (we
   * offered, and the browser's DTLS can arrive before its answer): a
   * handshake that completes first waits for them (setRemoteFingerprints).
   */
  remoteFingerprints?: readonly DtlsFingerprint[];
  /**
   * SRTP profiles we accept, in our order of preference (default
   * AES_CM_128_HMAC_SHA1_80 then AEAD_AES_128_GCM: the first is the one
   * every browser offers and the cheaper for us, see SDES_PREFERENCE).
   * werift-dtls negotiates only these two.
   */
  profiles?: readonly SrtpProfile[];
  /** Sends a DTLS datagram to the browser. */
  send: (datagram: Buffer) => void;
  log?: Logger;
}

export const DEFAULT_DTLS_PROFILES: readonly SrtpProfile[] = ["AES_CM_128_HMAC_SHA1_80", "AEAD_AES_128_GCM"];

/** RFC 5246 §6.2.1 record header: type, version, epoch, sequence number, length. */
const RECORD_HEADER = 13;
const CONTENT_CHANGE_CIPHER_SPEC = 20;
const CONTENT_ALERT = 21;
const CONTENT_HANDSHAKE = 22;
const CLIENT_HELLO = 1;

type State = "connecting" | "verifying" | "connected" | "failed" | "closed";

export class DtlsServerEndpoint {
  /** Told once, when the handshake completed and every check passed. */
  onConnected: ((result: DtlsSrtpResult) => void) | null = null;
  /** Told once, when the handshake failed (never after onConnected). */
  onFailed: ((failure: DtlsFailure) => void) | null = null;
  /** Told once, when the browser closed the association after it was up (an alert). */
  onClosed: (() => void) | null = null;

  private readonly server: DtlsServer;
  private readonly transport: WeriftTransport;
  private readonly opts: DtlsServerEndpointOptions;
  private stateValue: State = "connecting";
  private result: DtlsSrtpResult | undefined;
  private fingerprints: readonly DtlsFingerprint[] | undefined;
  /** werift finished the handshake; our checks wait for the fingerprints. */
  private handshakeDone = false;
  /** The client's flight passed our checks (before our Finished went out, when we could). */
  private peerChecked = false;

  constructor(opts: DtlsServerEndpointOptions) {
    this.opts = opts;
    this.fingerprints = opts.remoteFingerprints;
    const profiles = (opts.profiles ?? DEFAULT_DTLS_PROFILES).map((p) => {
      const id = dtlsSrtpProfileId(p);
      if (id !== 1 && id !== 7) throw new RangeError(`werift-dtls cannot negotiate ${p}`);
      return id as WeriftSrtpProfile;
    });
    // The transport werift writes to and reads from: our port, through the leg.
    const transport: WeriftTransport = {
      type: "udp",
      address: { address: "0.0.0.0", family: "IPv4", port: 0 },
      closed: false,
      onData: () => {},
      send: async (data: Buffer) => {
        if (this.stateValue === "failed" || this.stateValue === "closed") return;
        // Our ChangeCipherSpec opens our last flight (Finished): werift sends it
        // once the client's flight is complete, so that flight is checked here
        // first, and a client that fails gets no Finished and never completes.
        if (!this.peerChecked && this.fingerprints && hasChangeCipherSpec(data)) {
          const failure = this.checkPeer();
          if (failure) {
            this.fail(failure);
            return;
          }
          this.peerChecked = true;
        }
        this.opts.send(data);
      },
      close: async () => {},
    };
    this.transport = transport;
    this.server = new DtlsServer({
      transport,
      cert: opts.certificate.certPem,
      key: opts.certificate.keyPem,
      signatureHash: { hash: HashAlgorithm.sha256_4, signature: SignatureAlgorithm.ecdsa_3 },
      srtpProfiles: profiles,
      // RFC 5763 §5: the server must ask for the client's certificate, the one bound to its fingerprint.
      certificateRequest: true,
      // RFC 7627: binds the master secret to the whole handshake; browsers offer it.
      extendedMasterSecret: true,
    });
    this.server.onConnect.subscribe(() => {
      this.handshakeDone = true;
      this.verify();
    });
    this.server.onError.subscribe((err: Error) =>
      this.fail(new DtlsFailure(classify(err), `DTLS handshake failed: ${describe(err)}`)),
    );
    this.server.onClose.subscribe(() => this.peerAlert());
  }

  get state(): State {
    return this.stateValue;
  }

  /** The agreed keys, once connected. */
  get srtp(): DtlsSrtpResult | undefined {
    return this.result;
  }

  /** The browser's a=fingerprint values, when its SDP arrives after the endpoint was made. */
  setRemoteFingerprints(fingerprints: readonly DtlsFingerprint[]): void {
    this.fingerprints = fingerprints;
    if (this.handshakeDone) this.verify();
  }

  /** A DTLS datagram from the browser's validated address. */
  receive(datagram: Buffer): void {
    if (this.stateValue === "failed" || this.stateValue === "closed") return;
    if (this.stateValue === "connected" && !acceptedAfterHandshake(datagram)) {
      this.opts.log?.debug("dtls: ClientHello or clear alert after the handshake dropped");
      return;
    }
    try {
      this.transport.onData(datagram, ["0.0.0.0", 0]);
    } catch (err) {
      // werift parses the record layer outside its own try: a malformed datagram throws here.
      this.opts.log?.debug({ err }, "dtls: malformed datagram dropped");
    }
  }

  /** Gives up (the transport's deadline passed, or the leg closes). */
  fail(failure: DtlsFailure): void {
    if (this.stateValue !== "connecting" && this.stateValue !== "verifying") return;
    this.stateValue = "failed";
    this.opts.log?.info({ reason: failure.reason, err: failure.message }, "dtls handshake failed");
    this.stop();
    const handler = this.onFailed;
    this.onFailed = null;
    handler?.(failure);
  }

  /**
   * Stops the association. No close_notify is sent (werift has no API for
   * it): the browser learns the end from signalling (BYE), or from ICE
   * consent (RFC 7675) once we stop answering its checks.
   */
  close(): void {
    if (this.stateValue === "closed" || this.stateValue === "failed") return;
    this.stateValue = "closed";
    this.stop();
  }

  private stop(): void {
    this.transport.closed = true;
    this.server.onConnect.allUnsubscribe();
    this.server.onError.allUnsubscribe();
    this.server.onClose.allUnsubscribe();
  }

  /** werift says the handshake completed: our checks (unless done already), then the keys (RFC 5764 §4.2). */
  private verify(): void {
    if (this.stateValue !== "connecting" || !this.fingerprints) return;
    this.stateValue = "verifying";
    if (!this.peerChecked) {
      const failure = this.checkPeer();
      if (failure) {
        this.fail(failure);
        return;
      }
      this.peerChecked = true;
    }
    const profile = DTLS_SRTP_PROFILE_IDS[this.server.srtp.srtpProfile ?? -1];
    if (!profile) {
      this.fail(new DtlsFailure("no-srtp-profile", "no SRTP profile agreed (use_srtp, RFC 5764 §4.1.2)"));
      return;
    }
    const cert = this.server.remoteCertificate!;
    const material = this.server.exportKeyingMaterial(
      DTLS_SRTP_EXPORTER_LABEL,
      keyingMaterialLength(profile),
    );
    this.result = { profile, keys: splitDtlsSrtpKeys(material, profile, "server"), remoteCertificate: cert };
    this.stateValue = "connected";
    this.opts.log?.debug({ profile }, "dtls connected");
    this.onConnected?.(this.result);
  }

  /**
   * The checks of the client's flight: its certificate against the SDP's
   * fingerprints (RFC 5763 §5), its CertificateVerify and its Finished
   * (dtls-verify.ts). Undefined when all pass.
   */
  private checkPeer(): DtlsFailure | undefined {
    const cert = this.server.remoteCertificate;
    if (!cert) return new DtlsFailure("fingerprint", "the browser sent no certificate");
    if (!matchesFingerprint(cert, this.fingerprints ?? [])) {
      return new DtlsFailure("fingerprint", "the browser's certificate does not match its a=fingerprint");
    }
    const transcript: TranscriptMessage[] = this.server.dtls.sortedHandshakeCache.map((h) => ({
      type: h.msg_type,
      bytes: h.serialize(),
      body: h.fragment,
    }));
    const badSignature = checkCertificateVerify(transcript, cert);
    if (badSignature) return new DtlsFailure("certificate-verify", badSignature);
    const badFinished = checkClientFinished(transcript, this.server.cipher.masterSecret);
    if (badFinished) return new DtlsFailure("finished", badFinished);
    return undefined;
  }

  private peerAlert(): void {
    if (this.stateValue === "connected") {
      this.stateValue = "closed";
      this.stop();
      this.onClosed?.();
      return;
    }
    this.fail(new DtlsFailure("alert", "the browser sent a DTLS alert during the handshake"));
  }
}

/**
 * After the handshake the browser may still resend its last flight (our
 * Finished was lost: RFC 6347 §4.2.4), whose records are of epoch 0; but a
 * ClientHello (renegotiation, which werift would start by dropping its
 * keys) or an alert in clear (anyone could forge one) has no business here.
 */
function acceptedAfterHandshake(datagram: Buffer): boolean {
  let at = 0;
  while (at + RECORD_HEADER <= datagram.length) {
    const type = datagram[at];
    const epoch = datagram.readUInt16BE(at + 3);
    const length = datagram.readUInt16BE(at + 11);
    if (epoch === 0) {
      if (type === CONTENT_ALERT) return false;
      // DTLS handshake header: msg_type is the fragment's first byte.
      if (type === CONTENT_HANDSHAKE && datagram[at + RECORD_HEADER] === CLIENT_HELLO) return false;
    }
    at += RECORD_HEADER + length;
  }
  return true;
}

/** A record of content type change_cipher_spec (RFC 5246 §6.2.1: 20) among the datagram's records. */
function hasChangeCipherSpec(datagram: Buffer): boolean {
  let at = 0;
  while (at + RECORD_HEADER <= datagram.length) {
    if (datagram[at] === CONTENT_CHANGE_CIPHER_SPEC) return true;
    at += RECORD_HEADER + datagram.readUInt16BE(at + 11);
  }
  return false;
}

function classify(err: unknown): DtlsFailureReason {
  return /srtp/i.test(describe(err)) ? "no-srtp-profile" : "handshake";
}

function describe(err: unknown): string {
  if (err instanceof Error) return err.message || err.name;
  return String(err);
}
