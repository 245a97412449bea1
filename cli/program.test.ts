import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DEFAULT_TOKEN, runCli, type CliIO } from "./program.js";

const ROOT = join(import.meta.dirname, "..");
const MESH_YAML = readFileSync(join(ROOT, "examples/mesh.yaml"), "utf8");

interface Call {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: Record<string, string>;
  body: string | undefined;
}

type Handler = (call: Call) => Response | Promise<Response>;

const json = (body: unknown, status = 200) => Response.json(body, { status });
const meshError = (status: number, code: string, message: string, issues?: unknown[]) => json({ error: { code, message, ...(issues ? { issues } : {}) } }, status);

/** The program with fake I/O: admin routes answered by `routes` ("METHOD /path" under /.weft/api/v1). */
/** A program the CLI ran (wrangler, npm), as the fake `run` saw it. */
export interface Run {
  command: string;
  args: string[];
  cwd: string;
  input?: string;
}

type Runner = (command: string, args: readonly string[]) => { code: number; stdout: string; stderr: string };

function harness(options: { routes?: Record<string, Handler>; files?: Record<string, string>; env?: Record<string, string>; interruptAfterWrites?: number; run?: Runner } = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const calls: Call[] = [];
  /** The fake file system: what the test gave, plus what the program writes. */
  const files: Record<string, string> = { ...options.files };
  const runs: Run[] = [];
  let interrupt: (() => void) | undefined;
  const io: CliIO = {
    stdout: {
      write(text: string) {
        out.push(text);
        if (options.interruptAfterWrites !== undefined && out.length >= options.interruptAfterWrites) interrupt?.();
      },
    },
    stderr: { write: (text: string) => err.push(text) },
    env: options.env ?? {},
    now: () => new Date("2026-07-02T10:00:00Z"),
    readFile: async (path) => {
      const text = files[path];
      if (text === undefined) throw Object.assign(new Error(`ENOENT: no such file or directory, open '${path}'`), { code: "ENOENT" });
      return text;
    },
    async writeFile(path, text, writeOptions = {}) {
      if (writeOptions.exclusive && files[path] !== undefined) throw Object.assign(new Error(`EEXIST: file already exists, open '${path}'`), { code: "EEXIST" });
      files[path] = text;
    },
    exists: async (path) => files[path] !== undefined || Object.keys(files).some((name) => name.startsWith(`${path}/`)),
    cwd: () => "/work",
    async run(command, args, runOptions) {
      runs.push({ command, args: [...args], cwd: runOptions.cwd, ...(runOptions.input === undefined ? {} : { input: runOptions.input }) });
      return (options.run ?? (() => ({ code: 0, stdout: "", stderr: "" })))(command, args);
    },
    onInterrupt(listener) {
      interrupt = listener;
      return () => (interrupt = undefined);
    },
    fetch: async (input, init) => {
      const url = new URL(input);
      const headers = Object.fromEntries(new Headers(init.headers).entries());
      const call: Call = {
        method: init.method ?? "GET",
        path: url.pathname.replace("/.weft/api/v1", ""),
        query: Object.fromEntries(url.searchParams),
        headers,
        body: typeof init.body === "string" ? init.body : undefined,
      };
      calls.push(call);
      if (url.origin === "http://unreachable.test") throw new TypeError("fetch failed", { cause: Object.assign(new Error("connect ECONNREFUSED 10.0.0.1:80"), { code: "ECONNREFUSED" }) });
      const handler = options.routes?.[`${call.method} ${call.path}`];
      return handler ? handler(call) : meshError(404, "not_found", `no admin route ${call.method} ${url.pathname}`);
    },
  };
  return {
    io,
    calls,
    run: (...args: string[]) => runCli(args, io),
    stdout: () => out.join(""),
    stderr: () => err.join(""),
  };
}

const SNAPSHOT = {
  version: 3,
  createdAt: "2026-07-02T09:00:00.000Z",
  documents: [
    { apiVersion: "weft/v1", kind: "Mesh", metadata: { name: "shop" }, spec: { trustDomain: "shop.weft", identity: { mode: "STRICT" } } },
    { apiVersion: "weft/v1", kind: "Service", metadata: { name: "httpbin" }, spec: { subsets: [{ name: "v1", endpoints: [{ binding: "HTTPBIN_V1" }] }] } },
    { apiVersion: "weft/v1", kind: "Service", metadata: { name: "orders" }, spec: { subsets: [{ name: "v1", endpoints: [{ binding: "ORDERS_V1" }] }] } },
  ],
};

const outcome = (over: Record<string, unknown> = {}) => ({
  dryRun: false,
  changed: true,
  version: 3,
  previousVersion: 3,
  summary: "changed Mesh/shop (1 field)",
  diff: { added: [], removed: [], changed: [{ kind: "Mesh", name: "shop", fields: ["spec.identity.mode"] }], unchanged: 10 },
  ...over,
});

describe("exit codes and usage", () => {
  it("prints help and exits 0 for --help, for the program and for each command", async () => {
    const cli = harness();
    expect(await cli.run("--help")).toBe(0);
    expect(cli.stdout()).toContain("Usage: weft");
    expect(cli.stdout()).toContain("Exit codes: 0 ok, 1 failed");
    for (const command of [["apply"], ["diff"], ["get"], ["history"], ["rollback"], ["status"], ["top"], ["explain"], ["credentials", "create"], ["token"], ["keys", "rotate"]]) {
      const each = harness();
      expect(await each.run(...command, "--help"), command.join(" ")).toBe(0);
      expect(each.stdout()).toContain(`Usage: weft ${command.join(" ")}`);
    }
  });

  it.each([
    [["frobnicate"], "weft: unknown command 'frobnicate'"],
    [["get", "services", "--bogus"], "weft: unknown option '--bogus'"],
    [["rollback"], "weft: missing required argument 'version'"],
    [["rollback", "two"], "weft: command-argument value 'two' is invalid for argument 'version'. expected a version number (1 or more)"],
    [["apply"], "weft: required option '-f, --file <file>' not specified"],
    [["get", "widgets"], "weft: command-argument value 'widgets' is invalid for argument 'kind'"],
    [["get", "services", "-o", "xml"], "weft: option '-o, --output <format>' argument 'xml' is invalid"],
    [["top", "--interval", "soon"], "weft: option '--interval <duration>' argument 'soon' is invalid"],
    [["explain", "GET", "/x", "-H", "no-colon"], `weft: option '-H, --header <name:value>' argument 'no-colon' is invalid`],
    [["token", "orders", "--ttl", "-5"], "weft: option '--ttl <seconds>' argument '-5' is invalid"],
  ])("exits 2 with one stderr line for the usage error in %j", async (args, message) => {
    const cli = harness();
    expect(await cli.run(...args)).toBe(2);
    const lines = cli.stderr().trimEnd().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(message);
    expect(cli.calls).toHaveLength(0);
  });

  it("suggests the option it thinks was meant, on the same line", async () => {
    const cli = harness();
    expect(await cli.run("apply", "-f", "x.yaml", "--dryrun")).toBe(2);
    expect(cli.stderr()).toBe("weft: unknown option '--dryrun' (Did you mean --dry-run?)\n");
  });

  it("shows the help on stderr and exits 2 when a command group is given no subcommand", async () => {
    const cli = harness();
    expect(await cli.run("keys")).toBe(2);
    expect(cli.stderr()).toContain("Usage: weft keys");
  });

  it("exits 1 with the mesh's error message when the mesh refuses", async () => {
    const cli = harness({ routes: { "POST /config/rollback": () => meshError(404, "not_found", "no config version 99") } });
    expect(await cli.run("rollback", "99")).toBe(1);
    expect(cli.stderr()).toBe("weft: no config version 99\n");
    expect(cli.stdout()).toBe("");
  });

  it("exits 1 with one line when the mesh cannot be reached", async () => {
    const cli = harness();
    expect(await cli.run("--url", "http://unreachable.test", "history")).toBe(1);
    expect(cli.stderr()).toBe("weft: cannot reach the mesh at http://unreachable.test: connect ECONNREFUSED 10.0.0.1:80\n");
  });

  it("exits 1 when --url is not an http URL", async () => {
    const cli = harness();
    expect(await cli.run("--url", "ftp://x", "history")).toBe(1);
    expect(cli.stderr()).toBe('weft: --url must be an http(s) URL, got "ftp://x"\n');
  });

  it("exits 1 and names the HTTP status when an answer is not a mesh error", async () => {
    const cli = harness({ routes: { "GET /keys": () => new Response("<html>bad gateway</html>", { status: 502 }) } });
    expect(await cli.run("keys", "list")).toBe(1);
    expect(cli.stderr()).toBe("weft: GET /.weft/api/v1/keys answered HTTP 502: <html>bad gateway</html>\n");
  });
});

describe("connection settings", () => {
  const history = { "GET /config/history": () => json({ versions: [] }) };

  it("uses the local dev mesh and its dev token by default, and labels changes as the cli", async () => {
    const cli = harness({ routes: history });
    expect(await cli.run("history")).toBe(0);
    expect(cli.calls[0]?.headers.authorization).toBe(`Bearer ${DEFAULT_TOKEN}`);
    expect(cli.calls[0]?.headers["weft-actor"]).toBe("cli");
  });

  it("reads WEFT_URL, WEFT_ADMIN_TOKEN and WEFT_ACTOR, and --url/--token (before or after the command) win", async () => {
    const seen: string[] = [];
    const cli = harness({ routes: history, env: { WEFT_URL: "http://env.test:9000", WEFT_ADMIN_TOKEN: "env-token-123", WEFT_ACTOR: "alice" } });
    cli.io.fetch = async (input, init) => {
      seen.push(`${input} ${new Headers(init.headers).get("authorization")} ${new Headers(init.headers).get("weft-actor")}`);
      return json({ versions: [] });
    };
    await cli.run("history");
    await cli.run("--token", "flag-token-456", "history", "--url", "http://flag.test/");
    expect(seen).toEqual([
      "http://env.test:9000/.weft/api/v1/config/history Bearer env-token-123 alice",
      "http://flag.test/.weft/api/v1/config/history Bearer flag-token-456 alice",
    ]);
  });

  it("never prints the token, even when a message contains it", async () => {
    const token = "super-secret-admin-token-0123456789";
    const cli = harness({ routes: { "GET /keys": () => meshError(401, "unauthenticated", `bad token ${token}`) } });
    expect(await cli.run("--token", token, "keys", "list")).toBe(1);
    expect(cli.stderr()).toBe("weft: bad token <token>\n");
    expect(cli.stdout()).not.toContain(token);
  });
});

describe("apply and diff", () => {
  const files = { "mesh.yaml": MESH_YAML.replace("mode: STRICT", "mode: PERMISSIVE") };

  it("refuses an invalid file locally, one issue per line with file:line, without calling the mesh", async () => {
    const broken = MESH_YAML.replace("mode: STRICT", "mode: STRICTEST").replace("subset: v2, weight: 10", "subset: v3, weight: 10");
    const lineOf = (text: string) => broken.split("\n").findIndex((line) => line.includes(text)) + 1;
    const cli = harness({ files: { "bad.yaml": broken } });
    expect(await cli.run("apply", "-f", "bad.yaml")).toBe(1);
    const lines = cli.stderr().trimEnd().split("\n");
    expect(lines[0]).toBe("weft: bad.yaml: 2 issues; nothing was sent to the mesh");
    expect(lines[1]).toMatch(new RegExp(`^bad\\.yaml:${lineOf("STRICTEST")}: document 1 \\(Mesh shop\\) spec\\.identity\\.mode: `));
    expect(lines[2]).toContain(`bad.yaml:${lineOf("subset: v3")}: document 6 (Route orders-canary) spec.http[1].destinations[1].subset: service "orders" has no subset "v3"`);
    expect(cli.calls).toHaveLength(0);
  });

  it("says plainly when the file cannot be read", async () => {
    const cli = harness();
    expect(await cli.run("diff", "-f", "missing.yaml")).toBe(1);
    expect(cli.stderr()).toBe("weft: cannot read missing.yaml: no such file\n");
  });

  it("refuses a file with no documents rather than wiping the mesh", async () => {
    const cli = harness({ files: { "empty.yaml": "# nothing\n" } });
    expect(await cli.run("apply", "-f", "empty.yaml")).toBe(1);
    expect(cli.stderr()).toContain("empty.yaml holds no documents");
    expect(cli.calls).toHaveLength(0);
  });

  it("shows the dry-run diff with old and new values, then applies and prints the new version", async () => {
    const cli = harness({
      files,
      routes: {
        "GET /config": () => json(SNAPSHOT),
        "POST /config": (call) => json(call.query.dryRun === "1" ? outcome({ dryRun: true }) : outcome({ version: 4 })),
      },
    });
    expect(await cli.run("apply", "-f", "mesh.yaml")).toBe(0);
    expect(cli.stdout()).toBe(
      ["mesh.yaml against version 3:", "  ~ Mesh/shop", "      spec.identity.mode: STRICT → PERMISSIVE", "  0 added, 1 changed, 0 removed, 10 unchanged", "applied version 4", ""].join("\n"),
    );
    const posts = cli.calls.filter((call) => call.method === "POST");
    expect(posts.map((call) => call.query)).toEqual([{ dryRun: "1" }, {}]);
    expect(posts[1]?.headers["content-type"]).toBe("application/yaml");
    expect(posts[1]?.body).toBe(files["mesh.yaml"]);
  });

  it("prints the gateway's warnings (a binding it lacks) under the diff, with the file and line", async () => {
    const warning = { document: 4, kind: "Service", name: "users", path: "spec.subsets[0].endpoints[0].binding", line: 31, message: "the gateway has no service binding named USERZ" };
    const cli = harness({ files, routes: { "GET /config": () => json(SNAPSHOT), "POST /config": () => json(outcome({ dryRun: true, warnings: [warning] })) } });
    expect(await cli.run("diff", "-f", "mesh.yaml")).toBe(0);
    expect(cli.stdout()).toContain("warning: mesh.yaml:31: document 4 (Service users) spec.subsets[0].endpoints[0].binding: the gateway has no service binding named USERZ\n");
  });

  it("stops after the diff with --dry-run", async () => {
    const cli = harness({ files, routes: { "GET /config": () => json(SNAPSHOT), "POST /config": () => json(outcome({ dryRun: true })) } });
    expect(await cli.run("apply", "-f", "mesh.yaml", "--dry-run")).toBe(0);
    expect(cli.stdout()).toContain("dry run: nothing applied (version 3 stays current)");
    expect(cli.calls.filter((call) => call.method === "POST")).toHaveLength(1);
  });

  it("applies nothing when the file matches the current version", async () => {
    const unchanged = outcome({ dryRun: true, changed: false, diff: { added: [], removed: [], changed: [], unchanged: 11 } });
    const cli = harness({ files, routes: { "GET /config": () => json(SNAPSHOT), "POST /config": () => json(unchanged) } });
    expect(await cli.run("apply", "-f", "mesh.yaml")).toBe(0);
    expect(cli.stdout()).toContain("  no changes (11 documents unchanged)\nno change: version 3\n");
    expect(cli.calls.filter((call) => call.method === "POST")).toHaveLength(1);
  });

  it("prints the server's issues against the file when the mesh refuses the set", async () => {
    const cli = harness({
      files,
      routes: {
        "GET /config": () => json(SNAPSHOT),
        "POST /config": () => meshError(400, "invalid_config", "the document set was refused: 1 issue", [{ document: 3, kind: "Service", name: "catalog", path: "spec", message: "nope", line: 40 }]),
      },
    });
    expect(await cli.run("diff", "-f", "mesh.yaml")).toBe(1);
    expect(cli.stderr()).toBe("weft: the document set was refused: 1 issue\nmesh.yaml:40: document 3 (Service catalog) spec: nope\n");
  });

  it("diff prints the dry run's JSON with --json", async () => {
    const cli = harness({ files, routes: { "GET /config": () => json(SNAPSHOT), "POST /config": () => json(outcome({ dryRun: true })) } });
    expect(await cli.run("diff", "-f", "mesh.yaml", "--json")).toBe(0);
    expect(JSON.parse(cli.stdout())).toMatchObject({ dryRun: true, version: 3 });
  });
});

describe("get, history, rollback", () => {
  const routes = { "GET /config": () => json(SNAPSHOT) };

  it("lists documents of a kind as a table, whatever the kind's case or number", async () => {
    for (const kind of ["service", "Services", "SVC"]) {
      const cli = harness({ routes });
      expect(await cli.run("get", kind)).toBe(0);
      expect(cli.stdout()).toBe(["KIND     NAME     SUMMARY", "Service  httpbin  subsets v1 (1 endpoint)", "Service  orders   subsets v1 (1 endpoint)", ""].join("\n"));
    }
  });

  it("prints one document as JSON or YAML", async () => {
    const cli = harness({ routes });
    expect(await cli.run("get", "service", "orders", "-o", "json")).toBe(0);
    expect(JSON.parse(cli.stdout())).toEqual(SNAPSHOT.documents[2]);
    const yaml = harness({ routes });
    expect(await yaml.run("get", "mesh", "-o", "yaml")).toBe(0);
    expect(yaml.stdout()).toBe("apiVersion: weft/v1\nkind: Mesh\nmetadata:\n  name: shop\nspec:\n  trustDomain: shop.weft\n  identity:\n    mode: STRICT\n");
  });

  it("exits 1 when the named document does not exist", async () => {
    const cli = harness({ routes });
    expect(await cli.run("get", "route", "nope")).toBe(1);
    expect(cli.stderr()).toBe('weft: no Route named "nope" in config version 3\n');
  });

  it("shows history newest first with the current version starred", async () => {
    const cli = harness({
      routes: {
        "GET /config/history": () =>
          json({
            versions: [
              { version: 2, createdAt: "2026-07-02T09:30:00.000Z", actor: "admin:cli", source: "rollback", rollbackOf: 1, summary: "rollback to version 1: no changes" },
              { version: 1, createdAt: "2026-07-02T09:00:00.000Z", actor: "admin", source: "apply", rollbackOf: null, summary: "added Mesh/shop" },
            ],
          }),
      },
    });
    expect(await cli.run("history")).toBe(0);
    expect(cli.stdout()).toBe(
      [
        "VERSION  CREATED               ACTOR      SOURCE         SUMMARY",
        "     2*  2026-07-02 09:30:00Z  admin:cli  rollback to 1  rollback to version 1: no changes",
        "      1  2026-07-02 09:00:00Z  admin      apply          added Mesh/shop",
        "",
      ].join("\n"),
    );
  });

  it("rolls back by posting the version and prints the new one", async () => {
    const cli = harness({ routes: { "POST /config/rollback": () => json(outcome({ version: 5, previousVersion: 4 })) } });
    expect(await cli.run("rollback", "2")).toBe(0);
    expect(cli.calls[0]?.body).toBe('{"version":2}');
    expect(cli.stdout()).toContain("applied version 5 (the content of version 2)\n");
  });
});

describe("status and top", () => {
  const routes: Record<string, Handler> = {
    "GET /services": () =>
      json({
        version: 3,
        healthScope: "isolate",
        services: [{ name: "orders", subsets: [{ name: "v1", endpoints: [{ id: "orders/v1/0", binding: "ORDERS_V1", weight: 1, status: "ejected", health: "ejected" }] }] }],
      }),
    "GET /telemetry": () => json({ windowMs: 60_000, services: [{ service: "orders", golden: { requests: 120, requestsPerSecond: 2, successRate: 0.5, p50Ms: 12, p95Ms: 80, p99Ms: 95 }, bySubset: [] }], edges: [] }),
  };

  it("shows golden metrics and ejected endpoints per service over the last minute", async () => {
    const cli = harness({ routes });
    expect(await cli.run("status")).toBe(0);
    expect(cli.calls.find((call) => call.path === "/telemetry")?.query).toEqual({ window: "1m" });
    expect(cli.stdout()).toBe(["SERVICE  REQUESTS/S  SUCCESS   P50   P99  EJECTED", "orders          2.0    50.0%  12ms  95ms  1/1 (orders/v1/0)", ""].join("\n"));
  });

  it("still shows the registry when the gateway serves no telemetry", async () => {
    const cli = harness({ routes: { "GET /services": routes["GET /services"] as Handler, "GET /telemetry": () => meshError(404, "not_found", "telemetry is not served by this gateway") } });
    expect(await cli.run("status")).toBe(0);
    expect(cli.stdout()).toContain("(no metrics: telemetry is not served by this gateway)");
  });

  it("top redraws in place until Ctrl-C, then exits 0", async () => {
    const cli = harness({ routes, interruptAfterWrites: 2 });
    expect(await cli.run("top", "--interval", "100ms")).toBe(0);
    const frames = cli.stdout().split("\x1b[2J\x1b[H").filter(Boolean);
    expect(frames).toHaveLength(2);
    expect(frames[0]).toContain("weft top · http://127.0.0.1:8787 · window 1m · every 100ms");
    expect(frames[0]).toContain("orders          2.0");
  });
});

describe("explain", () => {
  it("posts the request to explain and prints the trace's summary lines", async () => {
    const cli = harness({ routes: { "POST /explain": () => json({ summary: ["route orders-canary rule split", "→ orders/v1 (90%)"], steps: [] }) } });
    expect(await cli.run("explain", "get", "orders.mesh/orders/1", "--from", "frontend", "-H", "x-canary: 1", "-H", "X-Other:a:b")).toBe(0);
    expect(JSON.parse(cli.calls[0]?.body ?? "")).toEqual({ from: "frontend", method: "GET", url: "http://orders.mesh/orders/1", headers: { "x-canary": "1", "x-other": "a:b" } });
    expect(cli.stdout()).toBe("route orders-canary rule split\n→ orders/v1 (90%)\n");
  });

  it("takes a bare path as an ingress request to the gateway --url names", async () => {
    const cli = harness({ routes: { "POST /explain": () => json({ summary: ["ok"] }) } });
    expect(await cli.run("--url", "http://gw.test:8787/", "explain", "GET", "/httpbin/anything")).toBe(0);
    expect(JSON.parse(cli.calls[0]?.body ?? "")).toEqual({ method: "GET", url: "http://gw.test:8787/httpbin/anything", headers: {} });
  });

  it("says plainly when the gateway has no explain endpoint", async () => {
    const cli = harness();
    expect(await cli.run("explain", "GET", "/httpbin/anything")).toBe(1);
    expect(cli.stderr()).toBe("weft: this gateway has no explain endpoint (POST /.weft/api/v1/explain answered 404 not_found); it runs a weft version without `explain`\n");
  });
});

describe("credentials, tokens and keys", () => {
  it("creates a credential and shows it once", async () => {
    const cli = harness({ routes: { "POST /credentials": () => json({ id: "cred_1", service: "orders", credential: "weft_cred_secret" }, 201) } });
    expect(await cli.run("credentials", "create", "orders")).toBe(0);
    expect(cli.calls[0]?.body).toBe('{"service":"orders"}');
    expect(cli.stdout()).toContain("credential: weft_cred_secret\n");
  });

  it("revokes by id and lists without secrets", async () => {
    const view = { id: "cred_1", service: "orders", createdAt: "2026-07-02T09:00:00.000Z", createdBy: "admin", revokedAt: "2026-07-02T09:10:00.000Z" };
    const cli = harness({ routes: { "DELETE /credentials/cred_1": () => json(view), "GET /credentials": () => json({ credentials: [view] }) } });
    expect(await cli.run("credentials", "revoke", "cred_1")).toBe(0);
    expect(await cli.run("credentials", "list")).toBe(0);
    expect(cli.stdout()).toBe(
      ["revoked credential cred_1 (service orders)", "ID      SERVICE  CREATED               BY     STATE", "cred_1  orders   2026-07-02 09:00:00Z  admin  revoked 2026-07-02 09:10:00Z", ""].join("\n"),
    );
  });

  it("prints a minted token alone, so it can be captured", async () => {
    const cli = harness({ routes: { "POST /tokens": () => json({ token: "eyJ.x.y", expiresAt: "2026-07-02T10:05:00.000Z" }) } });
    expect(await cli.run("token", "orders", "--ttl", "300")).toBe(0);
    expect(JSON.parse(cli.calls[0]?.body ?? "")).toEqual({ service: "orders", ttlSeconds: 300 });
    expect(cli.stdout()).toBe("eyJ.x.y\n");
  });

  it("lists and rotates keys", async () => {
    const keys = [
      { kid: "k2", state: "active", createdAt: "2026-07-02T10:00:00.000Z", activatedAt: "2026-07-02T10:00:00.000Z", retiredAt: null, removeAfter: null },
      { kid: "k1", state: "retired", createdAt: "2026-07-01T10:00:00.000Z", activatedAt: "2026-07-01T10:00:00.000Z", retiredAt: "2026-07-02T10:00:00.000Z", removeAfter: "2026-07-02T10:16:00.000Z" },
    ];
    const cli = harness({ routes: { "POST /keys/rotate": () => json({ keys }), "GET /keys": () => json({ keys }) } });
    expect(await cli.run("keys", "rotate")).toBe(0);
    expect(cli.stdout()).toContain("rotated: key k2 now signs");
    expect(await cli.run("keys", "list", "--json")).toBe(0);
    expect(cli.stdout()).toContain('"kid": "k1"');
  });

  it("says when a rotation waits for the next key to have been published long enough", async () => {
    const keys = [
      { kid: "k2", state: "active", createdAt: "2026-07-01T10:00:00.000Z", activatedAt: "2026-07-02T10:00:00.000Z", retiredAt: null, removeAfter: null, activateAt: null },
      { kid: "k3", state: "prepared", createdAt: "2026-07-02T10:00:00.000Z", activatedAt: null, retiredAt: null, removeAfter: null, activateAt: "2026-07-02T10:01:00.000Z" },
    ];
    const cli = harness({ routes: { "POST /keys/rotate": () => json({ keys }) } });
    expect(await cli.run("keys", "rotate")).toBe(0);
    expect(cli.stdout()).toContain("rotation scheduled: key k3 signs from 2026-07-02 10:01:00Z (published 2026-07-02 10:00:00Z");
    expect(cli.stdout()).not.toContain("rotated:");
    expect(cli.stdout()).toMatch(/^k3\s+prepared\s+2026-07-02 10:00:00Z\s+from 2026-07-02 10:01:00Z\s/m);
  });
});
