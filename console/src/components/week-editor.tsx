// The schedule's week as 7 columns × 24 hours, each weekly range drawn as
// a block in its mode's colour. With a pointer: drag on an empty stretch to
// draw a range (in the mode chosen to paint with), drag a block to move it
// (to another day too), drag its top or bottom edge to resize it; all snap
// to 15 minutes. With the keyboard: each block is a button (arrows move it,
// Shift+arrows change its end, Delete removes it, Enter opens it in the
// form beside the grid, which also adds a range precisely).
import { useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";
import { useI18n } from "../i18n/index.ts";
import {
  type Block,
  DAY_MINUTES,
  drawnBlock,
  formatTime,
  indexOf,
  minuteAt,
  moveBlock,
  movedBlock,
  placeBlock,
  removeBlock,
  resizeBlock,
  resizedBlock,
  SNAP_MINUTES,
} from "../lib/schedule-model.ts";
import { WEEKDAYS } from "../types.ts";

export interface ModeInfo {
  name: string;
  label: string;
  /** Index into the palette of styles.css (.mode-0 … .mode-7). */
  colour: number;
}

type Drag =
  | { kind: "draw"; day: number; anchor: number; current: number }
  | { kind: "move"; index: number; x: number; y: number; minutes: number; days: number; moved: boolean }
  | { kind: "resize"; index: number; edge: "start" | "end"; minute: number };

const HOURS = Array.from({ length: 24 }, (_, h) => h);
/** Pointer travel (px) below which a press on a block is a click (select), not a drag. */
const CLICK_SLOP = 4;

export function WeekEditor(props: {
  blocks: Block[];
  onChange(blocks: Block[]): void;
  modes: ModeInfo[];
  paintMode: string;
  selected: Block | undefined;
  onSelect(b: Block | undefined): void;
  /** Now, in the company's week: a line across its day. */
  now?: { day: number; minute: number };
}) {
  const { t } = useI18n();
  const { blocks, onChange, modes } = props;
  const columns = useRef<(HTMLDivElement | null)[]>([]);
  const grid = useRef<HTMLDivElement>(null);
  const [drag, setDrag] = useState<Drag | undefined>(undefined);
  const focusAfter = useRef<Block | undefined>(undefined);
  const dragRef = useRef<Drag | undefined>(undefined);
  dragRef.current = drag;

  const modeOf = (name: string) => modes.find((m) => m.name === name) ?? { name, label: name, colour: 7 };
  const dayName = (d: number) => t(`day.${WEEKDAYS[d]}`);

  // After a keyboard change the block may have a new index: its button keeps
  // the focus, in the same commit that moves it (a layout effect: an effect
  // runs after the paint, and the focus would sit on the page until then).
  useLayoutEffect(() => {
    const b = focusAfter.current;
    if (!b) return;
    focusAfter.current = undefined;
    const i = indexOf(blocks, b);
    const el = grid.current?.querySelector<HTMLButtonElement>(`[data-index="${i}"]`);
    el?.focus();
  }, [blocks]);

  /** The day column under a pointer's x, and the minute under its y. */
  const locate = (clientX: number, clientY: number): { day: number; minute: number } | undefined => {
    for (let d = 0; d < 7; d++) {
      const el = columns.current[d];
      if (!el) continue;
      const r = el.getBoundingClientRect();
      if (clientX >= r.left && clientX < r.right)
        return { day: d, minute: minuteAt(clientY - r.top, r.height) };
    }
    return undefined;
  };
  const columnHeight = () => columns.current[0]?.getBoundingClientRect().height ?? 1;
  const columnWidth = () => columns.current[0]?.getBoundingClientRect().width ?? 1;

  // What the week looks like while dragging (committed on release).
  let shown = blocks;
  let ghost: Block | undefined;
  if (drag?.kind === "draw") {
    ghost = drawnBlock(drag.day, drag.anchor, drag.current, props.paintMode);
    shown = placeBlock(blocks, ghost);
  } else if (drag?.kind === "move" && drag.moved) {
    ghost = movedBlock(blocks[drag.index], drag.minutes, drag.days);
    shown = moveBlock(blocks, drag.index, drag.minutes, drag.days);
  } else if (drag?.kind === "resize") {
    ghost = resizedBlock(blocks[drag.index], drag.edge, drag.minute);
    shown = resizeBlock(blocks, drag.index, drag.edge, drag.minute);
  }

  useEffect(() => {
    if (!drag) return;
    const onMove = (e: PointerEvent) => {
      const d = dragRef.current;
      if (!d) return;
      if (d.kind === "draw") {
        const at = locate(e.clientX, e.clientY);
        const r = columns.current[d.day]?.getBoundingClientRect();
        const minute = r ? minuteAt(e.clientY - r.top, r.height) : (at?.minute ?? d.current);
        setDrag({ ...d, current: minute });
      } else if (d.kind === "move") {
        const dx = e.clientX - d.x;
        const dy = e.clientY - d.y;
        const moved = d.moved || Math.abs(dx) > CLICK_SLOP || Math.abs(dy) > CLICK_SLOP;
        setDrag({
          ...d,
          moved,
          minutes: Math.round(((dy / columnHeight()) * DAY_MINUTES) / SNAP_MINUTES) * SNAP_MINUTES,
          days: Math.round(dx / columnWidth()),
        });
      } else {
        const b = blocks[d.index];
        const r = columns.current[b.day]?.getBoundingClientRect();
        if (r) setDrag({ ...d, minute: minuteAt(e.clientY - r.top, r.height) });
      }
    };
    const onUp = () => {
      const d = dragRef.current;
      setDrag(undefined);
      if (!d) return;
      if (d.kind === "draw") {
        const b = drawnBlock(d.day, d.anchor, d.current, props.paintMode);
        const next = placeBlock(blocks, b);
        onChange(next);
        props.onSelect(next[indexOf(next, b)] ?? undefined);
      } else if (d.kind === "move") {
        if (!d.moved) {
          props.onSelect(blocks[d.index]);
          return;
        }
        const b = movedBlock(blocks[d.index], d.minutes, d.days);
        const next = moveBlock(blocks, d.index, d.minutes, d.days);
        onChange(next);
        props.onSelect(
          next.find((o) => o.day === b.day && o.from <= b.from && o.to >= b.to && o.mode === b.mode),
        );
      } else {
        const b = resizedBlock(blocks[d.index], d.edge, d.minute);
        const next = resizeBlock(blocks, d.index, d.edge, d.minute);
        onChange(next);
        props.onSelect(
          next.find((o) => o.day === b.day && o.from <= b.from && o.to >= b.to && o.mode === b.mode),
        );
      }
    };
    window.addEventListener("pointermove", onMove);
    window.addEventListener("pointerup", onUp);
    window.addEventListener("pointercancel", onUp);
    return () => {
      window.removeEventListener("pointermove", onMove);
      window.removeEventListener("pointerup", onUp);
      window.removeEventListener("pointercancel", onUp);
    };
  }, [drag !== undefined, blocks, props.paintMode]);

  const onKey = (e: KeyboardEvent, index: number) => {
    const b = blocks[index];
    let next: Block[] | undefined;
    let moved: Block | undefined;
    if (e.key === "ArrowUp" || e.key === "ArrowDown") {
      const by = e.key === "ArrowUp" ? -SNAP_MINUTES : SNAP_MINUTES;
      if (e.shiftKey) {
        moved = resizedBlock(b, "end", b.to + by);
        next = resizeBlock(blocks, index, "end", b.to + by);
      } else {
        moved = movedBlock(b, by, 0);
        next = moveBlock(blocks, index, by, 0);
      }
    } else if (e.key === "ArrowLeft" || e.key === "ArrowRight") {
      const by = e.key === "ArrowLeft" ? -1 : 1;
      moved = movedBlock(b, 0, by);
      next = moveBlock(blocks, index, 0, by);
    } else if (e.key === "Delete" || e.key === "Backspace") {
      next = removeBlock(blocks, index);
      props.onSelect(undefined);
    } else if (e.key === "Escape") {
      props.onSelect(undefined);
      return;
    } else return;
    e.preventDefault();
    if (moved) {
      const landed = next.find(
        (o) => o.day === moved.day && o.from <= moved.from && o.to >= moved.to && o.mode === moved.mode,
      );
      focusAfter.current = landed;
      props.onSelect(landed);
    }
    onChange(next);
  };

  const pct = (m: number) => `${(m / DAY_MINUTES) * 100}%`;
  const sel = props.selected;

  return (
    <div class="week" ref={grid}>
      <p id="week-keys" class="muted small">
        {t("week.keys")}
      </p>
      <div class="week-scroll">
        <div class="week-grid">
          <div class="week-corner" aria-hidden="true" />
          {WEEKDAYS.map((d, i) => (
            <div key={d} class="week-day-head" aria-hidden="true">
              {dayName(i)}
            </div>
          ))}
          <div class="week-hours" aria-hidden="true">
            {HOURS.map((h) => (
              <div key={h} class="week-hour">
                {String(h).padStart(2, "0")}:00
              </div>
            ))}
          </div>
          {WEEKDAYS.map((d, day) => (
            <div
              key={d}
              class="week-col"
              ref={(el) => {
                columns.current[day] = el;
              }}
              data-day={day}
              onPointerDown={(e) => {
                if (e.button !== 0 || e.target !== e.currentTarget) return;
                e.preventDefault();
                const r = (e.currentTarget as HTMLElement).getBoundingClientRect();
                const minute = minuteAt(e.clientY - r.top, r.height);
                setDrag({ kind: "draw", day, anchor: minute, current: minute + SNAP_MINUTES });
              }}
            >
              {props.now?.day === day && (
                <div
                  class="now-line"
                  style={{ top: pct(props.now.minute) }}
                  title={`${t("week.now")} ${formatTime(props.now.minute)}`}
                  aria-hidden="true"
                />
              )}
              {shown.map((b, index) => {
                if (b.day !== day) return null;
                const m = modeOf(b.mode);
                const isGhost =
                  ghost !== undefined &&
                  b.day === ghost.day &&
                  b.from <= ghost.from &&
                  b.to >= ghost.to &&
                  b.mode === ghost.mode;
                const isSelected =
                  sel !== undefined &&
                  sel.day === b.day &&
                  sel.from === b.from &&
                  sel.to === b.to &&
                  sel.mode === b.mode;
                const label = `${dayName(b.day)} ${formatTime(b.from)}–${formatTime(b.to)}: ${m.label}`;
                // While dragging, the blocks shown are a preview: they are not buttons yet.
                const real = drag === undefined;
                return (
                  <button
                    type="button"
                    key={`${b.day}-${b.from}-${b.to}-${b.mode}`}
                    class={`block mode-${m.colour % 8}${isSelected ? " selected" : ""}${!real && isGhost ? " ghost" : ""}`}
                    style={{ top: pct(b.from), height: pct(b.to - b.from) }}
                    data-index={real ? index : undefined}
                    data-mode={b.mode}
                    data-from={formatTime(b.from)}
                    data-to={formatTime(b.to)}
                    aria-label={label}
                    aria-describedby="week-keys"
                    aria-pressed={isSelected}
                    tabIndex={real ? 0 : -1}
                    onKeyDown={(e) => real && onKey(e, index)}
                    onClick={(e) => {
                      // A click from the keyboard (Enter, Space): pointer presses are handled on release.
                      if (e.detail === 0 && real) props.onSelect(b);
                    }}
                    onPointerDown={(e) => {
                      if (!real || e.button !== 0) return;
                      e.preventDefault();
                      e.stopPropagation();
                      const edge = (e.target as HTMLElement).dataset.edge as "start" | "end" | undefined;
                      if (edge)
                        setDrag({ kind: "resize", index, edge, minute: edge === "start" ? b.from : b.to });
                      else
                        setDrag({
                          kind: "move",
                          index,
                          x: e.clientX,
                          y: e.clientY,
                          minutes: 0,
                          days: 0,
                          moved: false,
                        });
                    }}
                  >
                    <span class="edge start" data-edge="start" aria-hidden="true" />
                    <span class="block-text">
                      <strong>{m.label}</strong> {formatTime(b.from)}–{formatTime(b.to)}
                    </span>
                    <span class="edge end" data-edge="end" aria-hidden="true" />
                  </button>
                );
              })}
            </div>
          ))}
        </div>
      </div>
    </div>
  );
}
