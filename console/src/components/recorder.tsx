// Recording from the microphone in the page (MediaRecorder), heard back
// before it is kept, then made into a WAV (lib/wav.ts) and handed to
// `onRecorded` (an upload of a greeting or an announcement).
import { useEffect, useRef, useState } from "preact/hooks";
import { useI18n } from "../i18n/index.ts";
import { recordingToWav } from "../lib/wav.ts";
import { ErrorText } from "./ui.tsx";

type State =
  | { kind: "idle" }
  | { kind: "recording"; since: number }
  | { kind: "recorded"; wav: Blob; url: string }
  | { kind: "saving"; wav: Blob; url: string };

export function Recorder({
  label,
  onRecorded,
  maxSeconds = 120,
}: {
  label: string;
  onRecorded(wav: Blob): Promise<unknown>;
  maxSeconds?: number;
}) {
  const { t } = useI18n();
  const [state, setState] = useState<State>({ kind: "idle" });
  const [error, setError] = useState<string>();
  const [seconds, setSeconds] = useState(0);
  const recorder = useRef<MediaRecorder | undefined>(undefined);
  const stream = useRef<MediaStream | undefined>(undefined);
  const supported = typeof MediaRecorder !== "undefined" && !!navigator.mediaDevices?.getUserMedia;

  const release = () => {
    for (const track of stream.current?.getTracks() ?? []) track.stop();
    stream.current = undefined;
  };
  useEffect(() => () => release(), []);
  useEffect(() => {
    if (state.kind !== "recording") return;
    const timer = window.setInterval(() => {
      const s = Math.floor((Date.now() - state.since) / 1000);
      setSeconds(s);
      if (s >= maxSeconds) recorder.current?.stop();
    }, 250);
    return () => window.clearInterval(timer);
  }, [state]);
  useEffect(
    () => () => {
      if (state.kind === "recorded" || state.kind === "saving") URL.revokeObjectURL(state.url);
    },
    [state],
  );

  if (!supported) return <p class="muted">{t("recorder.unsupported")}</p>;

  const start = async () => {
    setError(undefined);
    try {
      stream.current = await navigator.mediaDevices.getUserMedia({ audio: true });
    } catch (err) {
      setError(t("recorder.noMicrophone", { reason: err instanceof Error ? err.message : String(err) }));
      return;
    }
    const chunks: Blob[] = [];
    const r = new MediaRecorder(stream.current);
    recorder.current = r;
    r.ondataavailable = (e) => {
      if (e.data.size > 0) chunks.push(e.data);
    };
    r.onstop = async () => {
      release();
      try {
        const wav = await recordingToWav(new Blob(chunks, { type: r.mimeType }), 16000);
        setState({ kind: "recorded", wav, url: URL.createObjectURL(wav) });
      } catch (err) {
        setError(t("recorder.failed", { reason: err instanceof Error ? err.message : String(err) }));
        setState({ kind: "idle" });
      }
    };
    r.start();
    setSeconds(0);
    setState({ kind: "recording", since: Date.now() });
  };

  return (
    <fieldset class="recorder">
      <legend class="visually-hidden">{label}</legend>
      {state.kind === "idle" && (
        <button type="button" onClick={start}>
          ● {t("recorder.start")}
        </button>
      )}
      {state.kind === "recording" && (
        <>
          <button type="button" class="danger" onClick={() => recorder.current?.stop()}>
            ■ {t("recorder.stop")}
          </button>
          <span role="timer" aria-live="off" class="rec">
            {t("recorder.recording", { seconds })}
          </span>
        </>
      )}
      {(state.kind === "recorded" || state.kind === "saving") && (
        <>
          {/* biome-ignore lint/a11y/useMediaCaption: a voice recording has no captions */}
          <audio controls src={state.url} aria-label={t("recorder.preview")} />
          <button
            type="button"
            class="primary"
            disabled={state.kind === "saving"}
            onClick={async () => {
              setState({ ...state, kind: "saving" });
              setError(undefined);
              try {
                await onRecorded(state.wav);
                setState({ kind: "idle" });
              } catch (err) {
                setError(err instanceof Error ? err.message : String(err));
                setState({ ...state, kind: "recorded" });
              }
            }}
          >
            {t("recorder.keep")}
          </button>
          <button type="button" onClick={() => setState({ kind: "idle" })}>
            {t("recorder.discard")}
          </button>
        </>
      )}
      <ErrorText error={error} />
    </fieldset>
  );
}

/** A file input that uploads the chosen audio file at once. */
export function AudioUpload({
  label,
  accept,
  onFile,
}: {
  label: string;
  accept: string;
  onFile(f: File): Promise<unknown>;
}) {
  const { t } = useI18n();
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  return (
    <div class="upload">
      <label>
        {label}
        <input
          type="file"
          accept={accept}
          disabled={busy}
          onChange={async (e) => {
            const input = e.currentTarget as HTMLInputElement;
            const file = input.files?.[0];
            if (!file) return;
            setBusy(true);
            setError(undefined);
            try {
              await onFile(file);
              input.value = "";
            } catch (err) {
              setError(err instanceof Error ? err.message : String(err));
            } finally {
              setBusy(false);
            }
          }}
        />
      </label>
      {busy && (
        <span role="status" class="muted">
          {t("recorder.uploading")}
        </span>
      )}
      <ErrorText error={error} />
    </div>
  );
}
