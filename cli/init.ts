/**
 * `weft init [dir]`: scaffolds a user's gateway project (package.json, a commented wrangler.jsonc
 * for the gateway Worker and a wrangler.control.jsonc for the control Worker, both pointing at
 * @weft/gateway, .dev.vars with a random local admin token, .gitignore, a starter mesh.yaml and a
 * README of next steps). The templates are pure functions of `InitOptions`, so
 * tests check their content directly; `registerInit` is the thin commander wiring around them.
 * It never overwrites a file: if any it would write exists, it writes nothing (a .gitignore is
 * appended to instead). The generated token is a secret and is never printed.
 */
import { basename, join, relative, resolve } from "node:path";
import { Command, InvalidArgumentError, Option } from "commander";
import { WORKER_NAME } from "@weft/sdk";
import { parseConfigText } from "@weft/sdk/config";
import { formatIssue } from "./format.js";
import { CliFailure, type CliIO } from "./program.js";

/** The weft version this CLI scaffolds against (a test keeps it equal to the repository's). */
export const WEFT_VERSION = "0.1.0";
/** The newest wrangler that runs on Node 20, which weft is tested with. */
export const WRANGLER_VERSION = "4.86.0";
/** The workerd behaviour weft is built and tested against (a test keeps it equal to the repository's). */
export const COMPATIBILITY_DATE = "2026-04-20";
export const DEFAULT_NAME = "weft-gateway";
/** The control Worker's config, beside the gateway's wrangler.jsonc. */
export const CONTROL_CONFIG_FILE = "wrangler.control.jsonc";

/** The control Worker's name for a gateway named `gateway`: `<gateway>-control`, within the 63 characters a Worker name may have. */
export function controlWorkerName(gateway: string): string {
  const suffix = "-control";
  return `${gateway.slice(0, 63 - suffix.length).replace(/-+$/, "")}${suffix}`;
}

/** The gateway's Durable Object bindings (to classes of the control Worker): @weft/gateway reads them under these names. */
export const GATEWAY_DURABLE_OBJECTS = [
  { name: "CONTROL", class_name: "ControlPlane", why: "The control plane: config versions, registry, signing keys, credentials, audit log." },
  { name: "RATE_LIMITER", class_name: "RateLimiter", why: "Global rate limits (`rateLimit.scope: global`): one object per limit key." },
  { name: "TELEMETRY", class_name: "TelemetryShard", why: "Telemetry rollups: one object per destination service (per-minute and per-hour aggregates)." },
] as const;

/**
 * The Durable Object migrations every control Worker carries, in order. They match weft's own
 * control-durable/wrangler.toml, so a project upgrading @weft/gateway only ever appends tags.
 */
export const CONTROL_MIGRATIONS: readonly { readonly tag: string; readonly new_sqlite_classes: readonly string[] }[] = [
  { tag: "v1", new_sqlite_classes: ["ControlPlane"] },
  { tag: "v2", new_sqlite_classes: ["RateLimiter"] },
  { tag: "v3", new_sqlite_classes: ["TelemetryShard"] },
];

/** Lines `weft init` makes sure a project's .gitignore holds: the local secret and build output. */
export const GITIGNORE_LINES = [".dev.vars", "node_modules/", ".wrangler/"] as const;

export interface InitOptions {
  /** The gateway Worker's name (a Worker name: lowercase letters, digits, '-'). */
  readonly name: string;
  readonly trustDomain: string;
  /** The local admin token written to .dev.vars. */
  readonly adminToken: string;
  /** Where the next steps go: README.md, or WEFT.md when the folder already has a README. */
  readonly readme: "README.md" | "WEFT.md";
}

export interface ProjectFile {
  /** Relative to the project folder. */
  readonly path: string;
  readonly text: string;
}


/** A Worker name from a folder name (`My Gateway` → `my-gateway`), or the default when nothing usable is left. */
export function workerNameFrom(folder: string): string {
  const name = folder
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/-{2,}/g, "-")
    .slice(0, 63)
    .replace(/^-+|-+$/g, "");
  return WORKER_NAME.test(name) ? name : DEFAULT_NAME;
}

/** 32 random bytes as base64url: 43 characters, well past the gateway's 32-character minimum. */
export function generateAdminToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return Buffer.from(bytes).toString("base64url");
}

/** Every file `weft init` creates (not the .gitignore, which it merges: see `mergeGitignore`). */
export function projectFiles(options: InitOptions): ProjectFile[] {
  return [
    { path: "package.json", text: packageJson(options) },
    { path: "wrangler.jsonc", text: wranglerJsonc(options) },
    { path: CONTROL_CONFIG_FILE, text: controlWranglerJsonc(options) },
    { path: ".dev.vars", text: devVars(options) },
    { path: "mesh.yaml", text: meshYaml(options) },
    { path: options.readme, text: nextSteps(options) },
  ];
}

/** The .gitignore with the lines init needs added, or undefined when it already has them all. */
export function mergeGitignore(existing: string | undefined): { text: string; added: string[] } | undefined {
  const present = new Set((existing ?? "").split(/\r?\n/).map((line) => line.trim()));
  // `node_modules` and `/node_modules/` ignore the same folder: don't add a second spelling.
  const missing = GITIGNORE_LINES.filter((line) => {
    const bare = line.replace(/\/$/, "");
    return ![bare, `${bare}/`, `/${bare}`, `/${bare}/`].some((spelling) => present.has(spelling));
  });
  if (missing.length === 0) return undefined;
  const base = existing === undefined || existing === "" ? "" : existing.endsWith("\n") ? existing : `${existing}\n`;
  const header = base === "" ? "" : "\n# weft gateway (weft init)\n";
  return { text: `${base}${header}${missing.join("\n")}\n`, added: [...missing] };
}

export function packageJson(options: InitOptions): string {
  const manifest = {
    name: options.name,
    private: true,
    type: "module",
    // Two Workers: the gateway's config first (it is the one that listens), the control Worker's beside it;
    // the control Worker deploys first, since the gateway binds its Durable Objects.
    scripts: {
      dev: `wrangler dev -c wrangler.jsonc -c ${CONTROL_CONFIG_FILE}`,
      deploy: `wrangler deploy -c ${CONTROL_CONFIG_FILE} && wrangler deploy -c wrangler.jsonc`,
      validate: "weft validate -f mesh.yaml",
    },
    // @weft/sdk is listed for its weft.schema.json (mesh.yaml's $schema line), not just hoisted by chance.
    dependencies: {
      "@weft/cli": `^${WEFT_VERSION}`,
      "@weft/gateway": `^${WEFT_VERSION}`,
      "@weft/sdk": `^${WEFT_VERSION}`,
    },
    devDependencies: {
      wrangler: WRANGLER_VERSION,
    },
  };
  return `${JSON.stringify(manifest, null, 2)}\n`;
}

/** A JSON value on one line with spaces, as people write short values in a config file. */
function inline(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(inline).join(", ")}]`;
  if (value !== null && typeof value === "object") {
    return `{ ${Object.entries(value)
      .map(([key, v]) => `${JSON.stringify(key)}: ${inline(v)}`)
      .join(", ")} }`;
  }
  return JSON.stringify(value);
}

export function wranglerJsonc(options: InitOptions): string {
  const control = controlWorkerName(options.name);
  const bindings = GATEWAY_DURABLE_OBJECTS.map((b, i) => `      // ${b.why}\n      ${inline({ name: b.name, class_name: b.class_name, script_name: control })}${i < GATEWAY_DURABLE_OBJECTS.length - 1 ? "," : ""}`).join("\n");
  return `// The weft gateway: the Worker every call between your functions goes through (identity, routing,
// policy, retries, telemetry). The mesh's control plane lives in Durable Objects of a second Worker,
// ${control} (${CONTROL_CONFIG_FILE}), so this one stays small and starts fast.
// Written by \`weft init\`; \`npx weft bindings -f mesh.yaml\` keeps "services" in step with mesh.yaml.
// Reference: https://developers.cloudflare.com/workers/wrangler/configuration/
{
  "$schema": "node_modules/wrangler/config-schema.json",
  // The gateway's Worker name: each function that calls peers binds to it as WEFT.
  "name": ${JSON.stringify(options.name)},
  // The gateway Worker, prebuilt (and minified) by @weft/gateway.
  "main": "node_modules/@weft/gateway/dist/index.js",
  // Every cold gateway isolate loads the whole script before it answers: keep it as small as the
  // package ships it (no name-keeping wrappers around its functions).
  "minify": true,
  "keep_names": false,
  // The workerd behaviour weft is built and tested against.
  "compatibility_date": "${COMPATIBILITY_DATE}",
  // Logs in the Cloudflare dashboard, including weft's access log when mesh.yaml turns it on.
  "observability": { "enabled": true },
  // Settings. Secrets never go here: \`npx wrangler secret put WEFT_ADMIN_TOKEN\` (at least 32
  // characters; the admin API stays off without it). Locally, .dev.vars holds a random one.
  "vars": {
    // How often each gateway isolate asks the control plane for a newer config version (ms).
    "WEFT_CONFIG_REFRESH_MS": "5000",
    // How often each isolate sends its telemetry aggregates to the TELEMETRY objects (ms).
    "WEFT_TELEMETRY_FLUSH_MS": "5000",
    // The dashboard's own host, never routed to a function. Set a name of yours that reaches this
    // Worker (e.g. weft-admin.example.com) before deploying: a deployed dashboard is unreachable
    // until you do. weft-admin.localhost works with \`wrangler dev\`.
    "WEFT_ADMIN_HOST": "weft-admin.localhost"
  },
  // The control Worker's Durable Objects (${CONTROL_CONFIG_FILE}): deploy it before this Worker.
  "durable_objects": {
    "bindings": [
${bindings}
    ]
  },
  // Serve the gateway on a custom domain of yours: gateways share config snapshots per colo
  // through the Cache API, which does nothing on *.workers.dev (every isolate would then ask the
  // control plane itself). Uncomment and use your own host:
  // "routes": [{ "pattern": "mesh.example.com", "custom_domain": true }],
  // Service bindings to your functions: a mesh.yaml endpoint \`{ binding: USERS, worker: users }\`
  // reaches the Worker "users" bound here as USERS. \`npx weft bindings -f mesh.yaml\` fills this
  // list; deploy the gateway once with it empty first (see the README's deploy order).
  "services": []
}
`;
}

/** The control Worker: the mesh's Durable Objects, and the config parsing and validation they need. */
export function controlWranglerJsonc(options: InitOptions): string {
  const migrations = CONTROL_MIGRATIONS.map((m) => `    ${inline(m)}`).join(",\n");
  return `// The weft control Worker: the mesh's control plane (config versions, registry, signing keys,
// credentials, audit log), global rate limits and telemetry rollups, as Durable Objects that the
// gateway (wrangler.jsonc) binds by script_name. It serves no traffic of its own.
// Written by \`weft init\`. Deploy it before the gateway: \`npx wrangler deploy -c ${CONTROL_CONFIG_FILE}\`.
{
  "$schema": "node_modules/wrangler/config-schema.json",
  // The gateway's durable_objects bindings name this Worker as their script_name.
  "name": ${JSON.stringify(controlWorkerName(options.name))},
  // The control Worker, prebuilt by @weft/gateway.
  "main": "node_modules/@weft/gateway/dist/control.js",
  "compatibility_date": "${COMPATIBILITY_DATE}",
  "observability": { "enabled": true },
  // No public URL: only the gateway talks to its Durable Objects.
  "workers_dev": false,
  // The Durable Object classes' storage, created in order. Never edit or remove a deployed tag;
  // a newer @weft/gateway may ask you to append one.
  "migrations": [
${migrations}
  ]
}
`;
}

export function devVars(options: InitOptions): string {
  return `# Local settings for \`wrangler dev\` (never deployed, never committed: .gitignore lists it).
# The admin token the weft CLI and the dashboard use locally; production sets its own with
# \`npx wrangler secret put WEFT_ADMIN_TOKEN\`.
WEFT_ADMIN_TOKEN=${options.adminToken}
# Marks this gateway as a development one (local conveniences; never set it in production).
WEFT_ENV=dev
`;
}

/** Documents to start from, commented out in mesh.yaml; a test checks they validate as written. */
export const EXAMPLE_DOCUMENTS = `# A function of yours: the gateway reaches it through the service binding USERS, which
# \`npx weft bindings -f mesh.yaml\` adds to wrangler.jsonc for the Worker named "users".
apiVersion: weft/v1
kind: Service
metadata: { name: users }
spec:
  subsets:
    - name: v1
      endpoints: [{ binding: USERS, worker: users }]
  trafficPolicy:
    timeout: 5s
---
# Outside traffic: requests to the gateway under /users/ go to users (mesh calls from your
# functions reach it as http://users.mesh/ without any Route).
apiVersion: weft/v1
kind: Route
metadata: { name: users-ingress }
spec:
  hosts: ["*"]
  public: true          # anonymous callers may use this route even in STRICT mode
  http:
    - match: [{ path: { prefix: /users/ } }]
      destinations: [{ service: users }]
---
# Who may call users: anyone may read; only the billing function may change anything.
apiVersion: weft/v1
kind: AuthorizationPolicy
metadata: { name: users-callers }
spec:
  target: users
  action: ALLOW
  rules:
    - from: [unauthenticated, "*"]
      to: [{ methods: [GET] }]
    - from: [billing]   # a service name, or a SPIFFE ID: spiffe://<trustDomain>/ns/default/sa/billing
`;

export function meshDocument(options: Pick<InitOptions, "name" | "trustDomain">): string {
  return `apiVersion: weft/v1
kind: Mesh
metadata: { name: ${options.name} }
spec:
  # Each function's identity is spiffe://${options.trustDomain}/ns/default/sa/<service>.
  trustDomain: ${options.trustDomain}
  # STRICT: every mesh call carries the caller's identity (a credential per calling function), and
  # a service answers only the callers an AuthorizationPolicy allows. PERMISSIVE eases adoption.
  identity: { mode: STRICT }
`;
}

export function meshYaml(options: InitOptions): string {
  const examples = EXAMPLE_DOCUMENTS.trimEnd()
    .split("\n")
    .map((line) => (line === "" ? "#" : line.startsWith("#") ? `#${line}` : `# ${line}`))
    .join("\n");
  return `# yaml-language-server: $schema=./node_modules/@weft/sdk/weft.schema.json
# The mesh's configuration, one document per --- section. \`npx weft validate -f mesh.yaml\` checks
# it offline; \`npx weft apply -f mesh.yaml\` makes it the running mesh's config (a new version).
${meshDocument(options)}
# Examples to adapt: uncomment a document (from its ---) and change the names.
# ---
${examples}
`;
}

export function nextSteps(options: InitOptions): string {
  const heading = options.readme === "README.md" ? `# ${options.name}` : `# weft gateway: ${options.name}`;
  const control = controlWorkerName(options.name);
  return `${heading}

The weft gateway for your Workers, written by \`weft init\`: \`wrangler.jsonc\` deploys the
gateway Worker from \`@weft/gateway\`, \`${CONTROL_CONFIG_FILE}\` its control Worker (\`${control}\`:
the mesh's control plane, rate limits and telemetry, in Durable Objects the gateway binds), and
\`mesh.yaml\` is the mesh's configuration (services, routes, policies).

## Next steps

1. Install: \`npm install\`.
2. Describe your functions in \`mesh.yaml\`: a \`Service\` per function, with an endpoint
   \`{ binding: USERS, worker: users }\` naming the service binding and the Worker it reaches; a
   \`Route\` for outside traffic; an \`AuthorizationPolicy\` per service saying who may call it.
   Your editor completes and checks the file through its \`$schema\` line.
3. Add the gateway's service bindings from it: \`npx weft bindings -f mesh.yaml\` (writes the
   \`services\` list of \`wrangler.jsonc\`).
4. Check it: \`npx weft validate -f mesh.yaml\`.
5. Run it locally: \`npm run dev\` (the gateway on http://127.0.0.1:8787 with its control Worker
   beside it). With your functions: \`npx weft dev -c ../users/wrangler.jsonc -f mesh.yaml\` runs
   them in the same \`wrangler dev\`, applies the mesh and gives each caller a credential.
6. Apply the config to it with the local admin token from \`.dev.vars\`:
   \`export WEFT_ADMIN_TOKEN="$(sed -n 's/^WEFT_ADMIN_TOKEN=//p' .dev.vars)"\`, then
   \`npx weft apply -f mesh.yaml\`.
7. Connect each function that calls peers: give it a service binding \`WEFT\` to this gateway
   (\`"services": [{ "binding": "WEFT", "service": "${options.name}" }]\` in its wrangler config),
   call peers with \`meshClient(env.WEFT, { credential: env.WEFT_CREDENTIAL })\` from \`@weft/sdk\`,
   and give it a credential: \`npx weft credentials create <service>\` (shown once) goes into its
   \`.dev.vars\` as \`WEFT_CREDENTIAL=...\`.

## Deploying

The gateway binds the control Worker's Durable Objects, the functions, and the functions that
call peers bind the gateway; Cloudflare refuses a binding to a Worker that does not exist yet, so
deploy in this order:

1. The control Worker: \`npx wrangler deploy -c ${CONTROL_CONFIG_FILE}\`.
2. The gateway, without function bindings: \`npx wrangler deploy\` while \`services\` is empty
   (as \`weft init\` wrote it; empty it for this one deploy if \`weft bindings\` filled it), then
   its admin token: \`npx wrangler secret put WEFT_ADMIN_TOKEN\` (at least 32 characters; a new
   one, not the one in \`.dev.vars\`).
3. Your functions, each with its \`WEFT\` binding to \`${options.name}\`.
4. The gateway again, with its bindings: \`npx weft bindings -f mesh.yaml && npx wrangler deploy\`.
5. The config: \`npx weft apply -f mesh.yaml --url https://<gateway host>\` (with
   \`WEFT_ADMIN_TOKEN\` set to the deployed token).
6. A credential per calling function: \`npx weft credentials create <service> --url https://<gateway host>\`,
   then, in that function's folder, \`npx wrangler secret put WEFT_CREDENTIAL\`.

Once the gateway exists with its admin token (step 2), \`npx weft deploy -f mesh.yaml
-c ../users/wrangler.jsonc -c ../billing/wrangler.jsonc --url https://<gateway host>\` runs the
whole sequence for you, then and on every later deploy (\`--dry-run\` checks every config first).
Deploy both Workers from the same \`@weft/gateway\` version: the gateway reads the config in the
form its control Worker ships it, and keeps its last config (refusing a newer one) until they match.

Serve the gateway on a custom domain (the commented \`routes\` entry in \`wrangler.jsonc\`): gateways
share config snapshots per colo through the Cache API, which does nothing on \`*.workers.dev\`.
Set \`WEFT_ADMIN_HOST\` to a host of yours that reaches the gateway for its dashboard.
`;
}

// ---- the command ----------------------------------------------------------------------------

function parseWorkerName(value: string): string {
  if (!WORKER_NAME.test(value)) throw new InvalidArgumentError("expected a Worker name: lowercase letters, digits and '-', at most 63 characters");
  return value;
}

/** What `weft init` is about to do in a folder: files to create, and the .gitignore merge. */
interface InitPlan {
  readonly files: ProjectFile[];
  readonly gitignore: { text: string; added: string[]; existed: boolean } | undefined;
}

/** Adds `weft init [dir]` to the program. */
export function registerInit(program: Command, io: CliIO): void {
  program
    .command("init")
    .description("write a gateway project (wrangler.jsonc, mesh.yaml, package.json, ...) into a folder; never overwrites a file")
    .argument("[dir]", "the project folder, created if missing (default: the current folder)")
    .addOption(new Option("--name <name>", `the gateway Worker's name (default: the folder's name, else ${DEFAULT_NAME})`).argParser(parseWorkerName))
    .option("--trust-domain <domain>", "the mesh's trust domain, used in SPIFFE IDs (default: <name>.weft)")
    .action(async (dir: string | undefined, options: { name?: string; trustDomain?: string }) => {
      const root = resolve(io.cwd(), dir ?? ".");
      const name = options.name ?? workerNameFrom(basename(root));
      const readme = (await io.exists(join(root, "README.md"))) ? "WEFT.md" : "README.md";
      const init: InitOptions = { name, trustDomain: options.trustDomain ?? `${name}.weft`, adminToken: generateAdminToken(), readme };

      // A bad --trust-domain shows up here, before anything is written.
      const meshCheck = parseConfigText(meshDocument(init), "yaml");
      if (!meshCheck.ok) throw new CliFailure("the starter mesh.yaml would not validate; nothing was written", meshCheck.issues.map((issue) => formatIssue("mesh.yaml", issue)));

      const plan = await planInit(io, root, init);
      for (const file of plan.files) await io.writeFile(join(root, file.path), file.text, { exclusive: true });
      if (plan.gitignore) await io.writeFile(join(root, ".gitignore"), plan.gitignore.text);

      const shown = relative(io.cwd(), root) || ".";
      const lines = [`wrote a weft gateway project "${name}" in ${shown}:`];
      for (const file of plan.files) lines.push(`  ${file.path}${file.path === ".dev.vars" ? "  (a random local admin token; keep it out of git)" : ""}`);
      if (plan.gitignore) lines.push(`  .gitignore  (${plan.gitignore.existed ? "added" : "with"} ${plan.gitignore.added.join(", ")})`);
      lines.push("", "Next:");
      if (shown !== ".") lines.push(`  cd ${/^[\w./-]+$/.test(shown) ? shown : `'${shown.replace(/'/g, `'\\''`)}'`}`);
      lines.push("  npm install", "  # describe your functions in mesh.yaml, then:", "  npx weft bindings -f mesh.yaml", "  npx weft validate -f mesh.yaml", "  npm run dev", `See ${readme} for applying the config, connecting functions and the deploy order.`);
      io.stdout.write(`${lines.join("\n")}\n`);
    });
}

async function planInit(io: CliIO, root: string, init: InitOptions): Promise<InitPlan> {
  const files = projectFiles(init);
  const taken: string[] = [];
  for (const file of files) if (await io.exists(join(root, file.path))) taken.push(file.path);
  if (taken.length > 0) {
    throw new CliFailure(`${relative(io.cwd(), root) || "."} already has ${taken.join(", ")}; nothing was written (weft init never overwrites a file)`);
  }
  const gitignorePath = join(root, ".gitignore");
  const existed = await io.exists(gitignorePath);
  const merged = mergeGitignore(existed ? await io.readFile(gitignorePath) : undefined);
  return { files, gitignore: merged && { ...merged, existed } };
}
