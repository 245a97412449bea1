/**
 * Element builders for the dashboard's script: attributes set with setAttribute and text added as
 * text nodes, never markup (no innerHTML), so names from the config cannot inject any.
 */

const SVG_NS = "http://www.w3.org/2000/svg";

/** An attribute value: absent when null, undefined or false; an empty attribute when true. */
export type AttributeValue = string | number | boolean | null | undefined;
/** Attributes by name; `testid` is written as `data-testid`. */
export type Attributes = Readonly<Record<string, AttributeValue>>;
/** What an element may hold: nodes, text (numbers as text), nothing, or lists of those. */
export type Child = Node | string | number | null | undefined | false | readonly Child[];

function build<E extends Element>(node: E, attrs: Attributes, children: readonly Child[]): E {
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    node.setAttribute(name === "testid" ? "data-testid" : name, value === true ? "" : String(value));
  }
  const add = (child: Child): void => {
    if (child === undefined || child === null || child === false) return;
    if (Array.isArray(child)) {
      (child as readonly Child[]).forEach(add);
      return;
    }
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  };
  children.forEach(add);
  return node;
}

/** An HTML element. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attributes = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  return build(document.createElement(tag), attrs, children);
}

/** An SVG element. */
export function s<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Attributes = {}, ...children: Child[]): SVGElementTagNameMap[K] {
  return build(document.createElementNS(SVG_NS, tag), attrs, children);
}

/** An element the page's frame (pages.tsx) is known to contain. */
export function required<E extends Element = HTMLElement>(selector: string): E {
  const found = document.querySelector<E>(selector);
  if (!found) throw new Error(`the page has no ${selector}`);
  return found;
}

/** One of the page's sections, by id. */
export function section(id: string): HTMLElement {
  const found = document.getElementById(id);
  if (!found) throw new Error(`the page has no #${id}`);
  return found;
}
