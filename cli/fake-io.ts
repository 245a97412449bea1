/**
 * The `weft` program with fake I/O, for tests: a file system in a record (paths as the program
 * passes them, cwd `/work`), captured stdout and stderr, and a record of every fetch and every
 * program run. Nothing touches the real disk, network or processes.
 */
import { runCli, type CliIO } from "./program.js";

type RunResult = { code: number; stdout: string; stderr: string };

export interface FakeIOOptions {
  files?: Record<string, string>;
  env?: Record<string, string>;
  cwd?: string;
  /** Answers the program's HTTP calls; default: every call fails as if the gateway were down. */
  fetch?: CliIO["fetch"];
  /** Answers the programs it runs (wrangler, npm); default: each exits 0 with no output. */
  run?: (command: string, args: readonly string[]) => RunResult;
}

export interface FakeIO {
  io: CliIO;
  /** The file system: what the test gave, plus what the program wrote. */
  files: Record<string, string>;
  /** Paths the program wrote, in order. */
  written: string[];
  /** URLs the program fetched. */
  fetched: string[];
  /** Programs the program ran. */
  runs: { command: string; args: string[]; cwd: string; input?: string }[];
  stdout(): string;
  stderr(): string;
  /** Forgets the output so far. */
  reset(): void;
  /** Runs `weft <args>`; resolves with the exit code. */
  cli(...args: string[]): Promise<number>;
}

export function fakeIO(options: FakeIOOptions = {}): FakeIO {
  const out: string[] = [];
  const err: string[] = [];
  const files: Record<string, string> = { ...options.files };
  const written: string[] = [];
  const fetched: string[] = [];
  const runs: FakeIO["runs"] = [];
  const enoent = (path: string) => Object.assign(new Error(`ENOENT: no such file or directory, open '${path}'`), { code: "ENOENT" });
  const io: CliIO = {
    stdout: { write: (text: string) => out.push(text) },
    stderr: { write: (text: string) => err.push(text) },
    env: options.env ?? {},
    now: () => new Date("2026-07-02T10:00:00Z"),
    async readFile(path) {
      const text = files[path];
      if (text === undefined) throw enoent(path);
      return text;
    },
    async writeFile(path, text, writeOptions = {}) {
      if (writeOptions.exclusive && files[path] !== undefined) throw Object.assign(new Error(`EEXIST: file already exists, open '${path}'`), { code: "EEXIST" });
      written.push(path);
      files[path] = text;
    },
    exists: async (path) => files[path] !== undefined || Object.keys(files).some((name) => name.startsWith(`${path}/`)),
    cwd: () => options.cwd ?? "/work",
    onInterrupt: () => () => undefined,
    async run(command, args, runOptions) {
      runs.push({ command, args: [...args], cwd: runOptions.cwd, ...(runOptions.input === undefined ? {} : { input: runOptions.input }) });
      return (options.run ?? (() => ({ code: 0, stdout: "", stderr: "" })))(command, args);
    },
    async fetch(input, init) {
      fetched.push(String(input));
      if (options.fetch) return options.fetch(input, init);
      throw new TypeError("fetch failed");
    },
  };
  return {
    io,
    files,
    written,
    fetched,
    runs,
    stdout: () => out.join(""),
    stderr: () => err.join(""),
    reset() {
      out.length = 0;
      err.length = 0;
    },
    cli: (...args) => runCli(args, io),
  };
}
