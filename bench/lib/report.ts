// The bench's output: one JSON object per line on stdout, the same lines
// collected for bench/results/latest.jsonl.
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { dirname } from "node:path";

export type BenchLine = Record<string, unknown> & { bench: string };

export class Reporter {
  readonly lines: BenchLine[] = [];

  emit(line: BenchLine): void {
    this.lines.push(line);
    process.stdout.write(`${JSON.stringify(line)}\n`);
  }

  /** Progress for the human watching; stderr, so stdout stays pure JSON lines. */
  note(message: string): void {
    process.stderr.write(`bench: ${message}\n`);
  }

  write(path: string): void {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, this.lines.map((l) => `${JSON.stringify(l)}\n`).join(""));
  }
}

export function machineLine(quick: boolean): BenchLine {
  const list = cpus();
  return {
    bench: "machine",
    cpu: list[0]?.model ?? "unknown",
    cpus: list.length,
    memory_mb: Math.round(totalmem() / 2 ** 20),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    quick,
    at: new Date().toISOString(),
  };
}
