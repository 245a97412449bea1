/**
 * Self time of a V8 CPU profile (the DevTools `Profiler.stop` result), summed by category of weft's
 * code: which source file a sample's function lives in decides its category. Pure: bench/profile.ts
 * takes the profiles from workerd's inspector and hands them here with the bundles workerd ran.
 *
 * Source files come from the bundle itself: esbuild, not minifying, writes a `// <path>` line
 * before each module's code and keeps every module's functions together, so a function's start
 * line says which file it is in (exact at file level, which is all a category needs, and without
 * source maps or a dependency to read them). Native frames (workerd's APIs such as `fetch`, Headers
 * methods, timers; url "") count for the JavaScript function that called them, except the few that
 * weft's code calls whose name says what they are for (`fetch` and `Request` forward, `Headers`
 * copies headers, `setTimeout` and `clearTimeout` time attempts).
 */

/** One node of a V8 CPU profile (Profiler.Profile in the DevTools protocol). */
export interface CpuProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number; scriptId?: string };
  children?: number[];
}

export interface CpuProfile {
  nodes: CpuProfileNode[];
  /** Microseconds. */
  startTime: number;
  endTime: number;
  /** Node id per sample. */
  samples?: number[];
  /** Microseconds between one sample and the one before it (the first from startTime). */
  timeDeltas?: number[];
}

export type CategoryId =
  | "retry"
  | "forward"
  | "headers"
  | "routing"
  | "identity"
  | "resilience"
  | "telemetry"
  | "weft-other"
  | "control-plane"
  | "bench-worker"
  | "libraries"
  | "runtime"
  | "gc"
  | "idle";

export interface Category {
  id: CategoryId;
  label: string;
  /** Source files (bundle paths, relative to the bundler's working directory) in this category. */
  files?: readonly RegExp[];
  /** Functions in this category wherever their file's category would put them: [file, function name]. */
  functions?: readonly (readonly [RegExp, RegExp])[];
  /** Native (workerd API) functions counted here whoever called them. */
  natives?: readonly string[];
  /** Counted as weft's own code (not runtime, libraries or the bench's own Workers). */
  weft: boolean;
}

/** In display order; a frame takes the first category whose `functions`, then the first whose `files`, match. */
export const CATEGORIES: readonly Category[] = [
  {
    id: "retry",
    label: "retry + attempt timers",
    files: [/gateway-worker\/src\/stages\/retry\.ts$/, /gateway-worker\/src\/resilience\/retry-(policy|budget)\.ts$/],
    // The isolate's timer (stage.ts nativeTimer), and workerd's timers wherever weft sets one: on the request path, the attempt's.
    functions: [[/gateway-worker\/src\/stage\.ts$/, /^nativeTimer$/]],
    natives: ["setTimeout", "clearTimeout"],
    weft: true,
  },
  {
    id: "forward",
    label: "forward + Request",
    files: [/gateway-worker\/src\/stages\/forward\.ts$/, /gateway-worker\/src\/request-body\.ts$/, /gateway-worker\/src\/bindings\.ts$/],
    natives: ["fetch", "Request"],
    weft: true,
  },
  {
    id: "headers",
    label: "header work (sanitize, hop identity, copies)",
    files: [/gateway-worker\/src\/stages\/(sanitize|hop-identity)\.ts$/],
    functions: [[/gateway-worker\/src\/stages\/forward\.ts$/, /^(withoutMeshHeaders|setCookieLines|setCookieTargetsMesh)$/]],
    natives: ["Headers"],
    weft: true,
  },
  {
    id: "routing",
    label: "routing (host, path, split, balance)",
    files: [/gateway-worker\/src\/routing\//, /gateway-worker\/src\/stages\/(route|normalize|split|balance)\.ts$/, /gateway-worker\/src\/host-header\.ts$/],
    weft: true,
  },
  {
    id: "identity",
    label: "identity + authorization",
    files: [/gateway-worker\/src\/(identity|policy)\//, /gateway-worker\/src\/stages\/(authenticate|authorize)\.ts$/, /sdk\/src\/identity\.ts$/],
    weft: true,
  },
  {
    id: "resilience",
    label: "resilience (breaker, limits, outliers, faults)",
    files: [/gateway-worker\/src\/resilience\//, /gateway-worker\/src\/stages\/(circuit-breaker|rate-limit|fault|mirror)\.ts$/, /wire\/src\/token-bucket\.ts$/],
    weft: true,
  },
  {
    id: "telemetry",
    label: "telemetry",
    files: [/gateway-worker\/src\/telemetry\//, /wire\/src\/(sketch|telemetry|status-label)\.ts$/],
    weft: true,
  },
  {
    id: "weft-other",
    label: "weft other (entry, pipeline, config cache, errors)",
    files: [/gateway-worker\/src\//, /sdk\/src\//, /wire\/src\//, /^\(bundle prelude\)$/],
    weft: true,
  },
  { id: "control-plane", label: "control plane (Durable Objects)", files: [/control-durable\/src\//], weft: true },
  { id: "bench-worker", label: "bench Worker's own code", files: [/(^|\/)bench\//, /(^|\/)examples\//], weft: false },
  { id: "libraries", label: "libraries (hono, jose, zod, re2js, …)", files: [/(^|\/)node_modules\//], weft: false },
  { id: "runtime", label: "runtime (workerd, no JS caller)", weft: false },
  { id: "gc", label: "garbage collector", weft: false },
  { id: "idle", label: "idle", weft: false },
];

const BY_ID = new Map(CATEGORIES.map((category) => [category.id, category]));

export function categoryLabel(id: CategoryId): string {
  return BY_ID.get(id)?.label ?? id;
}

/** Where each module starts in one bundle: `// <path>` lines, sorted by line (0-based, as in call frames). */
export interface ModuleMap {
  starts: readonly number[];
  files: readonly string[];
}

/** A module marker esbuild writes (`// gateway-worker/src/stages/retry.ts`), not a `// @__NO_SIDE_EFFECTS__` annotation. */
const MODULE_MARKER = /^\/\/ ((?:[\w@.~+-]+\/)*[\w@.~+-]+\.(?:[cm]?[jt]sx?|json))$/;

/** The module map of an unminified esbuild bundle; fails when it has too few markers to be one. */
export function moduleMapOf(bundle: string, name = "bundle"): ModuleMap {
  const starts: number[] = [0];
  const files: string[] = ["(bundle prelude)"];
  const lines = bundle.split("\n");
  for (const [line, text] of lines.entries()) {
    const match = MODULE_MARKER.exec(text);
    if (match?.[1] === undefined) continue;
    starts.push(line);
    files.push(match[1]);
  }
  if (files.length < 2) throw new Error(`${name} has no esbuild module markers (minified?): samples cannot be attributed to source files`);
  return { starts, files };
}

/** The source file a 0-based bundle line belongs to. */
export function fileAt(map: ModuleMap, line: number): string {
  let low = 0;
  let high = map.starts.length - 1;
  while (low < high) {
    const mid = (low + high + 1) >> 1;
    if ((map.starts[mid] ?? 0) <= line) low = mid;
    else high = mid - 1;
  }
  return map.files[low] ?? "(bundle prelude)";
}

/** The category of a function in a source file. */
export function categoryOfFunction(file: string, functionName: string): CategoryId {
  for (const category of CATEGORIES) {
    if (category.functions?.some(([filePattern, namePattern]) => filePattern.test(file) && namePattern.test(functionName))) return category.id;
  }
  for (const category of CATEGORIES) {
    if (category.files?.some((pattern) => pattern.test(file))) return category.id;
  }
  return "weft-other";
}

function nativeCategory(functionName: string): CategoryId | undefined {
  for (const category of CATEGORIES) if (category.natives?.includes(functionName)) return category.id;
  return undefined;
}

export interface FunctionCost {
  /** `file function` for code in a bundle, the bare name for a native or runtime frame. */
  name: string;
  category: CategoryId;
  selfMicros: number;
}

export interface ProfileSummary {
  /** Microseconds from Profiler.start to Profiler.stop. */
  wallMicros: number;
  /** The sampler's real period (back-to-back samples), µs: what one sample stands for. */
  periodMicros: number;
  /** Self time by category, idle included, in microseconds. */
  byCategory: Map<CategoryId, number>;
  /** Everything but idle. */
  busyMicros: number;
  /** The categories marked `weft`. */
  weftMicros: number;
  samples: number;
  /** Self time by leaf frame (natives on their own), largest first. */
  functions: FunctionCost[];
  /** Samples in a bundle frame whose bundle was not handed in (counted as runtime). */
  unknownScriptMicros: number;
}

/**
 * The sampler's real period: the typical gap between back-to-back samples. V8 drops a tick when
 * the isolate is not locked by its thread (workerd runs other isolates and its own I/O between
 * turns), so the gaps are multiples of the period, and the smallest common gap is the period.
 */
export function samplingPeriod(deltas: readonly number[], requestedMicros: number): number {
  // Back to back: within [0.5, 3] × the requested interval (workerd's sampler has run at ~2× it).
  const backToBack = deltas.filter((delta) => delta >= requestedMicros / 2 && delta <= 3 * requestedMicros).sort((a, b) => a - b);
  // Too few to tell (an isolate that hardly ran): the interval asked for.
  if (backToBack.length < 10) return requestedMicros;
  return backToBack[Math.floor((backToBack.length - 1) / 2)] ?? requestedMicros;
}

/**
 * Sums a profile's self time by category. `bundles` maps a script URL as workerd reports it (the
 * module name, e.g. `weft-gateway.mjs`) to that bundle's module map.
 *
 * Each sample stands for one sampling period (or less, when the next sample came sooner), not for
 * the whole time until the next sample as DevTools draws it: a long gap means the isolate was not
 * running (V8 skips ticks while another isolate or workerd's own I/O has the thread), and counting
 * it for the frame that happened to be sampled last would charge, say, `fetch` for the subrequest's
 * whole round trip.
 */
export function summarizeProfile(profile: CpuProfile, bundles: ReadonlyMap<string, ModuleMap>, requestedIntervalMicros: number): ProfileSummary {
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const parents = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parents.set(child, node.id);

  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  const periodMicros = samplingPeriod(deltas.slice(1), requestedIntervalMicros);
  const selfMicros = new Map<number, number>();
  let at = profile.startTime;
  for (let i = 0; i < samples.length; i++) {
    at += deltas[i] ?? 0;
    const next = i + 1 < samples.length ? at + (deltas[i + 1] ?? 0) : profile.endTime;
    const id = samples[i];
    if (id === undefined) continue;
    selfMicros.set(id, (selfMicros.get(id) ?? 0) + Math.min(periodMicros, Math.max(0, next - at)));
  }

  let unknownScriptMicros = 0;
  const sourceOf = (node: CpuProfileNode): { file: string } | undefined => {
    const map = bundles.get(node.callFrame.url);
    return map ? { file: fileAt(map, node.callFrame.lineNumber) } : undefined;
  };
  /** The nearest caller (this node included) that is code in a known bundle. */
  const nearestBundleFrame = (start: CpuProfileNode): { node: CpuProfileNode; file: string } | undefined => {
    for (let node: CpuProfileNode | undefined = start; node; node = nodes.get(parents.get(node.id) ?? -1)) {
      const source = sourceOf(node);
      if (source) return { node, ...source };
    }
    return undefined;
  };
  /** An anonymous function takes its name from the nearest named caller in the same file (a forEach callback is its caller's work). */
  const nameFor = (node: CpuProfileNode, file: string): string => {
    if (node.callFrame.functionName !== "") return node.callFrame.functionName;
    for (let up = nodes.get(parents.get(node.id) ?? -1); up; up = nodes.get(parents.get(up.id) ?? -1)) {
      const source = sourceOf(up);
      if (source && source.file !== file) break;
      if (source && up.callFrame.functionName !== "") return up.callFrame.functionName;
    }
    return "";
  };

  const categoryOf = (node: CpuProfileNode, micros: number): { category: CategoryId; name: string } => {
    const { functionName, url } = node.callFrame;
    if (url === "") {
      if (functionName === "(idle)") return { category: "idle", name: functionName };
      if (functionName === "(garbage collector)") return { category: "gc", name: functionName };
      if (functionName === "(program)" || functionName === "(root)") return { category: "runtime", name: functionName };
    }
    const source = sourceOf(node);
    if (source) return { category: categoryOfFunction(source.file, nameFor(node, source.file)), name: `${source.file} ${functionName || "(anonymous)"}` };
    // A native or a script we hold no bundle for: its caller's work, unless weft's code called it
    // and its name says what it is for.
    const label = url === "" ? `(native) ${functionName || "(anonymous)"}` : `${url} ${functionName || "(anonymous)"}`;
    const caller = nearestBundleFrame(node);
    if (caller) {
      const callerCategory = categoryOfFunction(caller.file, nameFor(caller.node, caller.file));
      const named = url === "" && BY_ID.get(callerCategory)?.weft ? nativeCategory(functionName) : undefined;
      return { category: named ?? callerCategory, name: label };
    }
    if (url !== "" && !url.startsWith("node:") && !url.startsWith("cloudflare:")) unknownScriptMicros += micros;
    return { category: "runtime", name: label };
  };

  const byCategory = new Map<CategoryId, number>();
  const byFunction = new Map<string, FunctionCost>();
  for (const [id, micros] of selfMicros) {
    const node = nodes.get(id);
    if (!node) continue;
    const { category, name } = categoryOf(node, micros);
    byCategory.set(category, (byCategory.get(category) ?? 0) + micros);
    const key = `${category}\u0000${name}`;
    const entry = byFunction.get(key) ?? { name, category, selfMicros: 0 };
    entry.selfMicros += micros;
    byFunction.set(key, entry);
  }
  let busyMicros = 0;
  let weftMicros = 0;
  for (const [id, micros] of byCategory) {
    if (id !== "idle") busyMicros += micros;
    if (BY_ID.get(id)?.weft) weftMicros += micros;
  }
  return {
    wallMicros: profile.endTime - profile.startTime,
    periodMicros,
    byCategory,
    busyMicros,
    weftMicros,
    samples: samples.length,
    functions: [...byFunction.values()].sort((a, b) => b.selfMicros - a.selfMicros),
    unknownScriptMicros,
  };
}

export interface IsolateBusy {
  /** Time the isolate was busy (not idle), µs. */
  busyMicros: number;
  /** Its longest busy stretch without a break, µs (wall time): what a request arriving on the isolate then waits at least. */
  longestStretchMicros: number;
}

/** When an isolate's non-idle samples were taken (µs, the profiler's clock, which every isolate of one workerd shares). */
export function busySampleTimes(profile: CpuProfile): number[] {
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const times: number[] = [];
  let at = profile.startTime;
  const deltas = profile.timeDeltas ?? [];
  for (const [i, id] of (profile.samples ?? []).entries()) {
    at += deltas[i] ?? 0;
    if (nodes.get(id)?.callFrame.functionName !== "(idle)") times.push(at);
  }
  return times;
}

/** Whether any of the sorted `times` lies strictly between `after` and `before`. */
function anyBetween(times: readonly number[], after: number, before: number): boolean {
  let low = 0;
  let high = times.length;
  while (low < high) {
    const mid = (low + high) >> 1;
    if ((times[mid] ?? Infinity) <= after) low = mid + 1;
    else high = mid;
  }
  return low < times.length && (times[low] ?? Infinity) < before;
}

/**
 * How busy an isolate was, and its longest busy stretch: a run of samples that are not idle
 * (JavaScript, garbage collection, or workerd's own work holding the isolate, `(program)`), ended
 * by an idle sample or by a gap in which the isolate did not run. V8 takes no sample while an
 * isolate is not running, and also none while the machine does not run workerd's thread at all; to
 * tell the two apart, `othersBusy` are the busy sample times of workerd's other isolates (sorted):
 * a gap in which one of them ran ends the stretch (the thread left this isolate), a gap in which
 * none ran does not (a request would have waited through it as well). Without `othersBusy`, any
 * gap longer than two sampling periods ends a stretch.
 */
export function isolateBusy(profile: CpuProfile, requestedIntervalMicros: number, othersBusy?: readonly number[]): IsolateBusy {
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  const period = samplingPeriod(deltas.slice(1), requestedIntervalMicros);
  let busyMicros = 0;
  let longestStretchMicros = 0;
  let stretch: { start: number; last: number } | undefined;
  const end = () => {
    if (stretch) longestStretchMicros = Math.max(longestStretchMicros, stretch.last - stretch.start + period);
    stretch = undefined;
  };
  let at = profile.startTime;
  for (let i = 0; i < samples.length; i++) {
    at += deltas[i] ?? 0;
    if (nodes.get(samples[i] ?? -1)?.callFrame.functionName === "(idle)") {
      end();
      continue;
    }
    busyMicros += period;
    if (stretch && at - stretch.last > 2 * period && (othersBusy === undefined || anyBetween(othersBusy, stretch.last, at))) end();
    stretch ??= { start: at, last: at };
    stretch.last = at;
  }
  end();
  return { busyMicros, longestStretchMicros };
}
