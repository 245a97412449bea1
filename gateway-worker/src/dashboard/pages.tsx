/**
 * The dashboard's HTML. The page is a server-rendered frame; its sections are filled (and refilled
 * every few seconds) by /.weft/dashboard/app.js from /.weft/dashboard/data. No inline script or
 * style anywhere, so the content security policy can forbid both.
 */
import type { Child, FC } from "hono/jsx";
import { raw } from "hono/html";
import type { HtmlEscapedString } from "hono/utils/html";

/** A rendered page (hono/jsx's element type); `c.html()` accepts it as is. */
export type Page = HtmlEscapedString | Promise<HtmlEscapedString>;

export const DASHBOARD_BASE = "/.weft/dashboard";

// hono/jsx renders elements only, so the doctype (standards mode) is added as raw text.
const Layout: FC<{ title: string; script?: boolean; children?: Child }> = ({ title, script, children }) => (
  <>
    {raw("<!DOCTYPE html>")}
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{title}</title>
        <link rel="icon" href="data:," />
        <link rel="stylesheet" href={`${DASHBOARD_BASE}/app.css`} />
        {script ? <script src={`${DASHBOARD_BASE}/app.js`} defer></script> : null}
      </head>
      <body>{children}</body>
    </html>
  </>
);

export interface SignInPageOptions {
  /** Shown above the form, e.g. "the token was refused". */
  error?: string;
  /** The admin API is disabled here (no usable token): the form is not shown. */
  disabledReason?: string;
}

/** One password field for the admin token, posted (never put in a URL). */
export function signInPage(options: SignInPageOptions = {}): Page {
  return (
    <Layout title="weft dashboard: sign in">
      <main class="sign-in">
        <h1>weft dashboard</h1>
        {options.disabledReason !== undefined ? (
          <p class="notice error" role="alert" data-testid="sign-in-disabled">
            The dashboard is disabled: {options.disabledReason}.
          </p>
        ) : (
          <>
            {options.error !== undefined ? (
              <p class="notice error" role="alert" data-testid="sign-in-error">
                {options.error}
              </p>
            ) : null}
            <form method="post" action={`${DASHBOARD_BASE}/sign-in`} data-testid="sign-in-form">
              <label for="token">Admin token</label>
              <input id="token" name="token" type="password" autocomplete="current-password" required autofocus data-testid="sign-in-token" />
              <button type="submit" data-testid="sign-in-submit">
                Sign in
              </button>
            </form>
            <p class="hint">The token is the gateway's <code>WEFT_ADMIN_TOKEN</code>. A session lasts 8 hours; rotating the token ends it.</p>
          </>
        )}
      </main>
    </Layout>
  );
}

const Section: FC<{ id: string; title: string; note?: string; children?: Child }> = ({ id, title, note, children }) => (
  <section class={`panel ${id}`} aria-labelledby={`${id}-title`}>
    <header>
      <h2 id={`${id}-title`}>{title}</h2>
      {note !== undefined ? <span class="note">{note}</span> : null}
    </header>
    <div data-testid={id} id={id}>
      {children}
    </div>
  </section>
);

/** The dashboard's sections, in page order; app.js fills each (by id) from the data endpoint. */
const PANELS: readonly { id: string; title: string; note: string }[] = [
  { id: "service-graph", title: "Service graph", note: "last 5 minutes; edge colour by success rate" },
  { id: "service-metrics", title: "Golden metrics", note: "sampled every 3 s from the 5-minute window" },
  { id: "routes", title: "Routes", note: "per Route document and rule, last 5 minutes" },
  { id: "rollouts", title: "Rollouts", note: "progress and the last checks; weft rollout status <name>" },
  { id: "endpoints", title: "Endpoints", note: "health as this gateway isolate has seen it" },
  { id: "denials", title: "Authorization denials", note: "last 5 minutes" },
  { id: "config-history", title: "Config history", note: "newest first, with each change's diff" },
];

/** The dashboard frame; app.js fills each section from the data endpoint. */
export function dashboardPage(): Page {
  return (
    <Layout title="weft dashboard" script>
      <header class="top">
        <h1>weft</h1>
        <span class="config">
          config version <strong data-testid="config-version">…</strong>
        </span>
        <span class="status" data-testid="status" role="status">
          loading…
        </span>
        <form method="post" action={`${DASHBOARD_BASE}/sign-out`} class="sign-out">
          <button type="submit" data-testid="sign-out">
            Sign out
          </button>
        </form>
      </header>
      <noscript>
        <p class="notice error">The dashboard draws its figures with JavaScript; the JSON is at {`${DASHBOARD_BASE}/data`}.</p>
      </noscript>
      <p class="notice error" data-testid="problems" hidden></p>
      <main class="grid">
        {PANELS.map((panel) => (
          <Section {...panel}>
            <p class="empty">Waiting for data…</p>
          </Section>
        ))}
      </main>
    </Layout>
  );
}
