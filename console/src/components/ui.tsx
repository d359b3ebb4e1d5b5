// The console's form controls and blocks: every control has a label tied to
// it, errors are announced (role="alert") and tied to their field
// (aria-describedby), switches are buttons with role="switch".
import type { ComponentChildren } from "preact";
import { useEffect, useErrorBoundary, useId, useState } from "preact/hooks";
import type { ApiFailure } from "../api.ts";
import { useAction } from "../hooks.ts";
import { useI18n } from "../i18n/index.ts";

export function ErrorText({ error }: { error: ApiFailure | string | undefined | null }) {
  if (!error) return null;
  const message = typeof error === "string" ? error : error.message;
  return (
    <p class="error" role="alert">
      {message}
    </p>
  );
}

export function Notice({ children }: { children: ComponentChildren }) {
  return (
    <p class="notice" role="status">
      {children}
    </p>
  );
}

export function Loading({ when }: { when: boolean }) {
  const { t } = useI18n();
  if (!when) return null;
  return (
    <p class="muted" role="status" aria-live="polite">
      {t("common.loading")}
    </p>
  );
}

export function Section(props: {
  title: string;
  children: ComponentChildren;
  actions?: ComponentChildren;
  id?: string;
}) {
  const id = useId();
  return (
    <section class="card" aria-labelledby={id} id={props.id}>
      <div class="card-head">
        <h2 id={id}>{props.title}</h2>
        {props.actions && <div class="card-actions">{props.actions}</div>}
      </div>
      {props.children}
    </section>
  );
}

export function PageTitle({ children, sub }: { children: ComponentChildren; sub?: ComponentChildren }) {
  // The window's title names the page too (WCAG 2.4.2): a tab, a screen reader, the history say where it is.
  const text = typeof children === "string" ? children : undefined;
  useEffect(() => {
    if (text) document.title = `${text} · vpbx`;
  }, [text]);
  return (
    <div class="page-title">
      <h1 tabIndex={-1} id="page-title">
        {children}
      </h1>
      {sub && <p class="muted">{sub}</p>}
    </div>
  );
}

interface FieldBase {
  label: string;
  error?: string;
  hint?: string;
  class?: string;
}

function FieldShell(props: FieldBase & { id: string; children: ComponentChildren }) {
  return (
    <div class={`field ${props.class ?? ""}`}>
      <label for={props.id}>{props.label}</label>
      {props.children}
      {props.hint && (
        <small id={`${props.id}-hint`} class="muted">
          {props.hint}
        </small>
      )}
      {props.error && (
        <small id={`${props.id}-error`} class="field-error" role="alert">
          {props.error}
        </small>
      )}
    </div>
  );
}

const describedBy = (id: string, p: FieldBase) =>
  [p.hint ? `${id}-hint` : "", p.error ? `${id}-error` : ""].filter(Boolean).join(" ") || undefined;

export function TextField(
  props: FieldBase & {
    value: string;
    onValue(v: string): void;
    type?:
      | "text"
      | "password"
      | "email"
      | "tel"
      | "number"
      | "date"
      | "datetime-local"
      | "time"
      | "search"
      | "url";
    required?: boolean;
    placeholder?: string;
    autocomplete?: string;
    inputMode?: "numeric" | "tel" | "email" | "text" | "decimal";
    name?: string;
    disabled?: boolean;
    min?: string | number;
    max?: string | number;
    step?: string | number;
    maxLength?: number;
  },
) {
  const id = useId();
  return (
    <FieldShell {...props} id={id}>
      <input
        id={id}
        name={props.name}
        // One of the text-like types: Preact's types want one literal per element.
        type={(props.type ?? "text") as "text"}
        value={props.value}
        required={props.required}
        placeholder={props.placeholder}
        autocomplete={props.autocomplete}
        inputMode={props.inputMode}
        disabled={props.disabled}
        min={props.min}
        max={props.max}
        step={props.step}
        maxLength={props.maxLength}
        aria-invalid={props.error ? true : undefined}
        aria-describedby={describedBy(id, props)}
        onInput={(e) => props.onValue((e.currentTarget as HTMLInputElement).value)}
      />
    </FieldShell>
  );
}

export function TextArea(
  props: FieldBase & { value: string; onValue(v: string): void; rows?: number; maxLength?: number },
) {
  const id = useId();
  return (
    <FieldShell {...props} id={id}>
      <textarea
        id={id}
        rows={props.rows ?? 3}
        value={props.value}
        maxLength={props.maxLength}
        aria-invalid={props.error ? true : undefined}
        aria-describedby={describedBy(id, props)}
        onInput={(e) => props.onValue((e.currentTarget as HTMLTextAreaElement).value)}
      />
    </FieldShell>
  );
}

export interface Option {
  value: string;
  label: string;
}

export function SelectField(
  props: FieldBase & {
    value: string;
    onValue(v: string): void;
    options: readonly Option[];
    disabled?: boolean;
    name?: string;
  },
) {
  const id = useId();
  return (
    <FieldShell {...props} id={id}>
      <select
        id={id}
        name={props.name}
        value={props.value}
        disabled={props.disabled}
        aria-invalid={props.error ? true : undefined}
        aria-describedby={describedBy(id, props)}
        onChange={(e) => props.onValue((e.currentTarget as HTMLSelectElement).value)}
      >
        {props.options.map((o) => (
          <option key={o.value} value={o.value}>
            {o.label}
          </option>
        ))}
      </select>
    </FieldShell>
  );
}

export function CheckboxField(props: {
  label: string;
  checked: boolean;
  onValue(v: boolean): void;
  hint?: string;
  disabled?: boolean;
}) {
  const id = useId();
  return (
    <div class="field check">
      <input
        id={id}
        type="checkbox"
        checked={props.checked}
        disabled={props.disabled}
        aria-describedby={props.hint ? `${id}-hint` : undefined}
        onChange={(e) => props.onValue((e.currentTarget as HTMLInputElement).checked)}
      />
      <label for={id}>{props.label}</label>
      {props.hint && (
        <small id={`${id}-hint`} class="muted">
          {props.hint}
        </small>
      )}
    </div>
  );
}

/** An on/off switch that acts at once (a feature of a company, call waiting). */
export function Switch(props: {
  label: string;
  checked: boolean;
  onToggle(next: boolean): Promise<unknown>;
  hint?: string;
  disabled?: boolean;
}) {
  const { t } = useI18n();
  const action = useAction();
  const id = useId();
  return (
    <div class="switch-row">
      <button
        type="button"
        role="switch"
        id={id}
        class="switch"
        aria-checked={props.checked}
        aria-describedby={props.hint ? `${id}-hint` : undefined}
        disabled={props.disabled || action.busy}
        onClick={() => action.run(() => props.onToggle(!props.checked))}
      >
        <span class="switch-track" aria-hidden="true">
          <span class="switch-thumb" />
        </span>
        <span class="switch-label">{props.label}</span>
        <span class="switch-state">{props.checked ? t("common.on") : t("common.off")}</span>
      </button>
      {props.hint && (
        <small id={`${id}-hint`} class="muted">
          {props.hint}
        </small>
      )}
      <ErrorText error={action.error} />
    </div>
  );
}

/**
 * A form whose submit runs `onSubmit` (refused while `invalid` says why);
 * the API's error is shown under it, a success note after it.
 */
export function Form(props: {
  onSubmit(): Promise<unknown>;
  submitLabel: string;
  children: ComponentChildren;
  /** Client-side checks failed: nothing is sent. */
  invalid?: boolean;
  onInvalid?(): void;
  done?: string;
  class?: string;
  extraButtons?: ComponentChildren;
  label?: string;
}) {
  const action = useAction();
  const [doneShown, setDoneShown] = useState(false);
  return (
    <form
      class={`form ${props.class ?? ""}`}
      aria-label={props.label}
      noValidate
      onSubmit={async (e) => {
        e.preventDefault();
        setDoneShown(false);
        if (props.invalid) {
          props.onInvalid?.();
          return;
        }
        if (await action.run(props.onSubmit)) setDoneShown(true);
      }}
    >
      {props.children}
      <div class="form-actions">
        <button type="submit" class="primary" disabled={action.busy} aria-busy={action.busy}>
          {props.submitLabel}
        </button>
        {props.extraButtons}
      </div>
      <ErrorText error={action.error} />
      {doneShown && props.done && <Notice>{props.done}</Notice>}
    </form>
  );
}

/** A button that runs one change; asks first when `confirm` is set; its error is shown beside it. */
export function ActionButton(props: {
  label: string;
  onClick(): Promise<unknown>;
  confirm?: string;
  class?: string;
  disabled?: boolean;
  title?: string;
  ariaLabel?: string;
}) {
  const action = useAction();
  return (
    <span class="action">
      <button
        type="button"
        class={props.class}
        title={props.title}
        aria-label={props.ariaLabel}
        disabled={props.disabled || action.busy}
        aria-busy={action.busy}
        onClick={() => {
          if (props.confirm && !window.confirm(props.confirm)) return;
          void action.run(props.onClick);
        }}
      >
        {props.label}
      </button>
      <ErrorText error={action.error} />
    </span>
  );
}

/** A table that scrolls sideways on a small screen instead of breaking the page. */
export function Table(props: {
  caption: string;
  children: ComponentChildren;
  empty?: boolean;
  emptyText?: string;
}) {
  const { t } = useI18n();
  if (props.empty) return <p class="muted">{props.emptyText ?? t("common.none")}</p>;
  return (
    // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrolling region must be reachable by keyboard
    <section class="table-wrap" tabIndex={0} aria-label={props.caption}>
      <table>
        <caption class="visually-hidden">{props.caption}</caption>
        {props.children}
      </table>
    </section>
  );
}

export function Badge({
  kind,
  wrap,
  children,
}: {
  kind?: "ok" | "warn" | "bad" | "info";
  /** A sentence rather than a word: it may break over lines. */
  wrap?: boolean;
  children: ComponentChildren;
}) {
  return <span class={`badge ${kind ?? ""}${wrap ? " wrap" : ""}`}>{children}</span>;
}

/** A page that throws shows what happened instead of a blank console; the menu still works. */
export function PageBoundary({ children }: { children: ComponentChildren }) {
  const { t } = useI18n();
  const [error, reset] = useErrorBoundary((err: unknown) => console.error("the page failed", err));
  if (error) {
    return (
      <div class="card">
        <ErrorText error={error instanceof Error ? error.message : String(error)} />
        <button type="button" onClick={reset}>
          {t("common.retry")}
        </button>
      </div>
    );
  }
  return <>{children}</>;
}
