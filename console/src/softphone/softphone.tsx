// The phone in the browser (issue 13), on the user's "Phone" page: the
// extension registered over the server's SIP WebSocket (JsSIP), a number
// field with a dial pad, incoming calls shown and rung, answer, decline,
// hang up, hold and resume, a keypad that sends DTMF into the call (so that
// *97's menus and the company's codes work), call waiting (answering a
// second call holds the first), blind transfer, and the voicemail lamp.
// The logic is phone.ts; this file draws its snapshots.
//
// Every control has a label; the state and incoming calls are announced
// (role status / alert); the keypad takes the keyboard's digits, * and #.
import { useEffect, useId, useMemo, useRef, useState } from "preact/hooks";
import { ApiFailure, api, extensionPath } from "../api.ts";
import { isKeypadKey, KEYPAD_KEYS, KEYPAD_LETTERS, normaliseDial } from "./dial.ts";
import { type SoftphoneLang, softphoneText, type Translate } from "./i18n.ts";
import { createJsSipUa } from "./jssip-ua.ts";
import { Phone, type PhoneCall, type PhoneSnapshot, type SoftphoneCredentials } from "./phone.ts";
import { Ringer } from "./ringer.ts";
import "./softphone.css";

type Load = { kind: "loading" } | { kind: "unavailable"; reason: string } | { kind: "running"; phone: Phone };

export function Softphone(props: { tenant: string; extension: string; lang: "fr" | "de" | "it" | "en" }) {
  const t = useMemo(() => softphoneText(props.lang as SoftphoneLang), [props.lang]);
  const [load, setLoad] = useState<Load>({ kind: "loading" });
  const [snap, setSnap] = useState<PhoneSnapshot | undefined>(undefined);

  useEffect(() => {
    let phone: Phone | undefined;
    let gone = false;
    setLoad({ kind: "loading" });
    setSnap(undefined);
    api.get<SoftphoneCredentials>(`${extensionPath(props.tenant, props.extension)}/webrtc`).then(
      (credentials) => {
        if (gone) return;
        phone = new Phone(credentials, {
          createUa: createJsSipUa,
          now: () => Date.now(),
          setTimer: (fn, ms) => setTimeout(fn, ms),
          clearTimer: (timer) => clearTimeout(timer as ReturnType<typeof setTimeout>),
        });
        phone.subscribe(setSnap);
        setLoad({ kind: "running", phone });
        setSnap(phone.snapshot);
        phone.start();
      },
      (err: unknown) => {
        if (gone) return;
        setLoad({ kind: "unavailable", reason: err instanceof ApiFailure ? err.message : String(err) });
      },
    );
    return () => {
      gone = true;
      phone?.stop();
    };
  }, [props.tenant, props.extension]);

  // The ring: while a call rings, a full ring when nobody talks, a beep when one does.
  const ringer = useRef<Ringer | undefined>(undefined);
  const ringing = snap?.calls.some((c) => c.state === "ringing") ?? false;
  const talking = snap?.calls.some((c) => c.state === "active") ?? false;
  useEffect(() => {
    ringer.current ??= new Ringer();
    ringer.current.set(ringing ? (talking ? "waiting" : "ring") : undefined);
  }, [ringing, talking]);
  useEffect(() => () => ringer.current?.close(), []);

  if (load.kind === "loading") {
    return (
      <section class="softphone" aria-label={t("region")} data-registration="loading">
        <p class="muted" role="status">
          {t("status.loading")}
        </p>
      </section>
    );
  }
  if (load.kind === "unavailable") {
    return (
      <section class="softphone" aria-label={t("region")} data-registration="unavailable">
        <p class="error" role="alert">
          {t("status.unavailable", { reason: load.reason })}
        </p>
      </section>
    );
  }
  const phone = load.phone;
  const state = snap ?? phone.snapshot;
  return (
    <section class="softphone" aria-label={t("region")} data-registration={state.registration}>
      <div class="softphone-head">
        <p class={`softphone-status softphone-status-${state.registration}`} role="status" aria-live="polite">
          {statusText(t, state, props.extension)}
        </p>
        <Lamp t={t} state={state} />
      </div>
      {state.noMicrophone && (
        <p class="error" role="alert">
          {t("status.noMicrophone")}
        </p>
      )}
      <Announcements t={t} calls={state.calls} />
      {state.calls.length > 0 && (
        <ul class="softphone-calls" aria-label={t("calls.label")}>
          {state.calls.map((call) => (
            <CallCard key={call.id} t={t} phone={phone} call={call} others={state.calls.length > 1} />
          ))}
        </ul>
      )}
      <Dialer t={t} phone={phone} disabled={state.registration !== "registered"} />
      <LastCall t={t} state={state} />
    </section>
  );
}

function who(t: Translate, call: { number: string; name?: string }): string {
  if (call.name && call.number) return `${call.name} (${call.number})`;
  return call.name || call.number || t("anonymous");
}

function statusText(t: Translate, s: PhoneSnapshot, extension: string): string {
  switch (s.registration) {
    case "registered":
      return t("status.registered", { number: extension });
    case "connecting":
      return t("status.connecting");
    case "disconnected":
      return t("status.disconnected");
    case "failed":
      return t("status.failed", { reason: s.reason ?? "?" });
    default:
      return t("status.unregistered");
  }
}

/** The voicemail lamp: lit while new messages wait. */
function Lamp({ t, state }: { t: Translate; state: PhoneSnapshot }) {
  const box = state.mailbox;
  const text = !box
    ? t("voicemail.unknown")
    : box.waiting
      ? t("voicemail.new", { count: box.newMessages })
      : t("voicemail.none");
  return (
    <p
      class={`softphone-lamp ${box?.waiting ? "softphone-lamp-on" : ""}`}
      data-waiting={box ? String(box.waiting) : "unknown"}
      aria-live="polite"
    >
      <span class="softphone-lamp-dot" aria-hidden="true" />
      {text}
    </p>
  );
}

/** A call that starts ringing is announced at once (role alert), whatever has the focus. */
function Announcements({ t, calls }: { t: Translate; calls: PhoneCall[] }) {
  const ringing = calls.filter((c) => c.state === "ringing");
  const talking = calls.some((c) => c.state === "active" || c.state === "held");
  if (ringing.length === 0) return null;
  return (
    <div class="softphone-incoming" role="alert">
      {ringing.map((c) => (
        <p key={c.id}>{t(talking ? "call.waiting" : "call.incoming", { who: who(t, c) })}</p>
      ))}
    </div>
  );
}

function LastCall({ t, state }: { t: Translate; state: PhoneSnapshot }) {
  const last = state.lastEnded;
  if (!last || state.calls.length > 0) return null;
  return (
    <p class="muted softphone-last" role="status">
      {last.failed
        ? t("call.failed", { who: who(t, last), reason: last.failed })
        : t("call.ended", { who: who(t, last) })}
    </p>
  );
}

function Dialer({ t, phone, disabled }: { t: Translate; phone: Phone; disabled: boolean }) {
  const id = useId();
  const [number, setNumber] = useState("");
  const [error, setError] = useState<string | undefined>(undefined);
  const input = useRef<HTMLInputElement>(null);
  const submit = (e: Event) => {
    e.preventDefault();
    const dialled = normaliseDial(number);
    if (!dialled) {
      setError(t("dial.invalid"));
      return;
    }
    setError(undefined);
    phone.dial(dialled);
    setNumber("");
  };
  const press = (key: string) => {
    setNumber((n) => n + key);
    setError(undefined);
    input.current?.focus();
  };
  return (
    <form class="softphone-dialer" onSubmit={submit} noValidate>
      <div class="field">
        <label for={id}>{t("dial.label")}</label>
        <div class="softphone-number">
          <input
            id={id}
            ref={input}
            type="tel"
            inputMode="tel"
            autoComplete="off"
            value={number}
            aria-describedby={`${id}-hint${error ? ` ${id}-error` : ""}`}
            aria-invalid={error ? true : undefined}
            onInput={(e) => setNumber(e.currentTarget.value)}
          />
          <button
            type="button"
            class="softphone-erase"
            aria-label={t("dial.erase")}
            title={t("dial.erase")}
            disabled={number === ""}
            onClick={() => setNumber((n) => n.slice(0, -1))}
          >
            ⌫
          </button>
        </div>
        <small id={`${id}-hint`} class="muted">
          {t("dial.hint")}
        </small>
        {error && (
          <small id={`${id}-error`} class="field-error" role="alert">
            {error}
          </small>
        )}
      </div>
      <Keypad t={t} label={t("keypad.label")} onKey={press} />
      <button type="submit" class="primary softphone-call" disabled={disabled}>
        {t("dial.call")}
      </button>
    </form>
  );
}

/**
 * Twelve keys; with the focus inside, the keyboard's digits, * and # press
 * them too (the number field takes its own typing).
 */
function Keypad({ t, label, onKey }: { t: Translate; label: string; onKey: (key: string) => void }) {
  const keydown = (e: KeyboardEvent) => {
    if (e.target instanceof HTMLInputElement || e.ctrlKey || e.metaKey || e.altKey) return;
    if (isKeypadKey(e.key)) {
      e.preventDefault();
      onKey(e.key);
    }
  };
  return (
    <fieldset class="softphone-keypad" onKeyDown={keydown}>
      <legend class="softphone-sr-only">{label}</legend>
      {KEYPAD_KEYS.map((key) => (
        <button
          key={key}
          type="button"
          class="softphone-key"
          aria-label={t("keypad.key", { key })}
          onClick={() => onKey(key)}
        >
          <span class="softphone-key-digit">{key}</span>
          <span class="softphone-key-letters" aria-hidden="true">
            {KEYPAD_LETTERS[key]}
          </span>
        </button>
      ))}
    </fieldset>
  );
}

function CallCard(props: { t: Translate; phone: Phone; call: PhoneCall; others: boolean }) {
  const { t, phone, call } = props;
  const [keypad, setKeypad] = useState(false);
  const [transferring, setTransferring] = useState(false);
  const name = who(t, call);
  const text = {
    ringing: t(props.others ? "call.waiting" : "call.incoming", { who: name }),
    calling: t("call.calling", { who: name }),
    progress: t("call.ringing", { who: name }),
    active: t("call.active", { who: name }),
    held: t("call.held", { who: name }),
  }[call.state];
  const answered = call.state === "active" || call.state === "held";
  return (
    <li
      class={`softphone-call-card softphone-call-${call.state}`}
      data-state={call.state}
      data-number={call.number}
    >
      <p class="softphone-call-text">
        {text}
        {answered && call.answeredAt !== undefined && <Duration t={t} since={call.answeredAt} />}
      </p>
      {call.transfer && (
        <p class={call.transfer.state === "failed" ? "error" : "muted"} role="status">
          {t(call.transfer.state === "failed" ? "call.transferFailed" : "call.transferring", {
            target: call.transfer.target,
          })}
        </p>
      )}
      <div class="softphone-actions">
        {call.state === "ringing" && (
          <>
            <button type="button" class="primary" onClick={() => phone.answer(call.id)}>
              {props.others ? t("call.answerHold") : t("call.answer")}
            </button>
            <button type="button" class="danger" onClick={() => phone.hangUp(call.id)}>
              {t("call.decline")}
            </button>
          </>
        )}
        {call.state === "active" && (
          <button type="button" onClick={() => phone.hold(call.id)}>
            {t("call.hold")}
          </button>
        )}
        {call.state === "held" && (
          <button type="button" class="primary" onClick={() => phone.resume(call.id)}>
            {t("call.resume")}
          </button>
        )}
        {call.state === "active" && (
          <button type="button" aria-expanded={keypad} onClick={() => setKeypad((k) => !k)}>
            {t("call.keypad")}
          </button>
        )}
        {answered && (
          <button type="button" aria-expanded={transferring} onClick={() => setTransferring((x) => !x)}>
            {t("call.transfer")}
          </button>
        )}
        {call.state !== "ringing" && (
          <button type="button" class="danger" onClick={() => phone.hangUp(call.id)}>
            {t("call.hangUp")}
          </button>
        )}
      </div>
      {keypad && call.state === "active" && (
        <Keypad t={t} label={t("call.keypad")} onKey={(key) => phone.dtmf(call.id, key)} />
      )}
      {transferring && answered && (
        <TransferForm
          t={t}
          name={name}
          onCancel={() => setTransferring(false)}
          onTransfer={(to) => {
            phone.transfer(call.id, to);
            setTransferring(false);
          }}
        />
      )}
      {call.stream && <RemoteAudio stream={call.stream} />}
    </li>
  );
}

function TransferForm(props: { t: Translate; name: string; onTransfer(to: string): void; onCancel(): void }) {
  const { t } = props;
  const id = useId();
  const [target, setTarget] = useState("");
  const [error, setError] = useState<string | undefined>(undefined);
  const submit = (e: Event) => {
    e.preventDefault();
    const to = normaliseDial(target);
    if (!to) {
      setError(t("dial.invalid"));
      return;
    }
    props.onTransfer(to);
  };
  return (
    <form class="softphone-transfer" onSubmit={submit} noValidate>
      <div class="field">
        <label for={id}>{t("call.transferTo", { who: props.name })}</label>
        <input
          id={id}
          type="tel"
          inputMode="tel"
          autoComplete="off"
          value={target}
          aria-invalid={error ? true : undefined}
          aria-describedby={error ? `${id}-error` : undefined}
          onInput={(e) => setTarget(e.currentTarget.value)}
        />
        {error && (
          <small id={`${id}-error`} class="field-error" role="alert">
            {error}
          </small>
        )}
      </div>
      <button type="submit" class="primary">
        {t("call.transferDo")}
      </button>
      <button type="button" onClick={props.onCancel}>
        {t("call.transferCancel")}
      </button>
    </form>
  );
}

/** The far end's audio: one <audio autoplay> per call (a held call's is silent anyway). */
function RemoteAudio({ stream }: { stream: MediaStream }) {
  const ref = useRef<HTMLAudioElement>(null);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    el.srcObject = stream;
    el.play().catch((err: unknown) => console.debug("softphone: audio waits for a click", err));
  }, [stream]);
  // biome-ignore lint/a11y/useMediaCaption: a live phone call has no captions to give
  return <audio ref={ref} autoplay class="softphone-audio" />;
}

function Duration({ t, since }: { t: Translate; since: number }) {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, []);
  const s = Math.max(0, Math.floor((now - since) / 1000));
  const text = `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
  return (
    <span class="softphone-duration">
      {" "}
      <span class="softphone-sr-only">{t("call.duration")} </span>
      {text}
    </span>
  );
}
