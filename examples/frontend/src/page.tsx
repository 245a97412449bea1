/**
 * The shop's HTML, kept apart from the routes (and in .tsx) so app.ts stays plain TypeScript.
 * hono/jsx escapes every interpolated value, so product names from a peer can't inject markup.
 */
import type { Child, FC } from "hono/jsx";
import { raw } from "hono/html";
import type { HtmlEscapedString } from "hono/utils/html";

/** What a rendered page is (hono/jsx's element type); `c.html()` accepts it as is. */
export type Page = HtmlEscapedString | Promise<HtmlEscapedString>;

export interface ProductView {
  id: string;
  name: string;
  priceCents: number;
}

const price = new Intl.NumberFormat("en-US", { style: "currency", currency: "USD" });

// hono/jsx renders elements only, so the doctype (standards mode) is added as raw text.
const Layout: FC<{ title: string; children?: Child }> = ({ title, children }) => (
  <>
    {raw("<!DOCTYPE html>")}
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{title}</title>
        <style>{"body{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem}li{margin:.3rem 0}code{background:#eee;padding:0 .2rem}"}</style>
      </head>
      <body>{children}</body>
    </html>
  </>
);

/** The shop's home page: the catalog's products, each linking to its JSON through the mesh. */
export function shopPage(products: readonly ProductView[]): Page {
  return (
    <Layout title="weft shop">
      <h1>weft shop</h1>
      <p>Products come from <code>catalog</code>, orders from <code>orders</code> (v1 or v2), both through the mesh.</p>
      <ul>
        {products.map((p) => (
          <li>
            <a href={`/api/shop/products/${encodeURIComponent(p.id)}`}>{p.name}</a> — {price.format(p.priceCents / 100)}
          </li>
        ))}
      </ul>
      <p>
        JSON: <a href="/api/shop/products">all products</a>, <a href="/api/shop/orders/1001">order 1001</a> (shows which
        orders version answered)
      </p>
    </Layout>
  );
}

/** Shown instead of the shop when a peer call failed: the mesh's error code, not a stack trace. */
export function failurePage(code: string, message: string): Page {
  return (
    <Layout title="weft shop: unavailable">
      <h1>The shop is unavailable</h1>
      <p>
        A call through the mesh failed: <code>{code}</code>
      </p>
      <p>{message}</p>
    </Layout>
  );
}
