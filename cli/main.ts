/**
 * `weft` entry point: runs the program against the real process (stdout, stderr, fetch, env,
 * files, Ctrl-C) and sets the exit code. `cli/weft.mjs` (the package bin) and `npm run weft`
 * both start here; tests run `runCli` from program.ts with their own I/O instead.
 */
import { access, mkdir, readFile, writeFile } from "node:fs/promises";
import { spawn } from "node:child_process";
import { dirname } from "node:path";
import { runCli, type CliIO } from "./program.js";

const io: CliIO = {
  stdout: process.stdout,
  stderr: process.stderr,
  fetch: (input, init) => fetch(input, init),
  env: process.env,
  readFile: (path) => readFile(path, "utf8"),
  async writeFile(path, text, options = {}) {
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, text, { encoding: "utf8", flag: options.exclusive ? "wx" : "w" });
  },
  exists: (path) => access(path).then(
    () => true,
    () => false,
  ),
  cwd: () => process.cwd(),
  run: (command, args, options) =>
    new Promise((resolve, reject) => {
      const child = spawn(command, [...args], { cwd: options.cwd, stdio: [options.input === undefined ? "ignore" : "pipe", options.inherit ? "inherit" : "pipe", options.inherit ? "inherit" : "pipe"] });
      let stdout = "";
      let stderr = "";
      child.stdout?.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")));
      child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
      child.on("error", reject);
      child.on("close", (code) => resolve({ code: code ?? 1, stdout, stderr }));
      if (options.input !== undefined) child.stdin?.end(options.input);
    }),
  onInterrupt(listener) {
    process.on("SIGINT", listener);
    return () => process.removeListener("SIGINT", listener);
  },
  now: () => new Date(),
};

// A reader that closed the pipe early (`weft get all | head`) has all it wanted: stop quietly.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code === "EPIPE") process.exit(process.exitCode ?? 0);
  throw error;
});

// exitCode, not exit(): let piped stdout drain first.
process.exitCode = await runCli(process.argv.slice(2), io);
