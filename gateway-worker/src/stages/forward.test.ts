import { describe, expect, it } from "vitest";
import { answerOf, setCookieLines, setCookieTargetsMesh } from "./forward.js";

/** The answer as the caller may see it. */
const withoutMeshHeaders = (response: Response) => answerOf(response, 0).response;

function answer(headers: [string, string][]): Response {
  const h = new Headers();
  for (const [name, value] of headers) h.append(name, value);
  return new Response("body", { status: 201, headers: h });
}

describe("a destination's Set-Cookie for the mesh's own cookies", () => {
  it.each([
    "weft_session=junk; Path=/.weft/dashboard/",
    "weft_session=junk",
    "__Host-weft_session=junk; Path=/; Secure",
    "__host-WEFT_session=junk; Path=/; Secure",
    "__Secure-weft_session=junk; Secure",
    "Weft_Anything=1",
    "  weft_session =junk",
    "shop=1; Path=/.weft",
    "shop=1; Path=/.weft/",
    "shop=1; HttpOnly; path = /.weft/dashboard/data",
    "shop=1; Path=/.WEFT/dashboard",
  ])("is refused: %s", (value) => {
    expect(setCookieTargetsMesh(value)).toBe(true);
  });

  it.each(["shop=1", "shop=1; Path=/", "sessionid=abc; Path=/app; HttpOnly", "weftless=1", "shop=1; Path=/.weftish", "shop=weft_session; Path=/x/.weft"])("is passed: %s", (value) => {
    expect(setCookieTargetsMesh(value)).toBe(false);
  });
});

describe("filtering a destination's response headers", () => {
  it("hands back the very same response when there is nothing to drop", () => {
    const plain = answer([["content-type", "text/plain"]]);
    expect(withoutMeshHeaders(plain)).toBe(plain);
    const cookies = answer([["set-cookie", "a=1"], ["set-cookie", "b=2; Path=/"]]);
    expect(withoutMeshHeaders(cookies)).toBe(cookies);
  });

  it("drops the mesh's cookies and keeps the rest, in order, with status and body", async () => {
    const filtered = withoutMeshHeaders(
      answer([["set-cookie", "a=1"], ["set-cookie", "weft_session=junk; Path=/.weft/dashboard/"], ["x-shop", "1"], ["set-cookie", "b=2; Path=/"]]),
    );
    expect(setCookieLines(filtered.headers)).toEqual(["a=1", "b=2; Path=/"]);
    expect(filtered.headers.get("x-shop")).toBe("1");
    expect(filtered.status).toBe(201);
    expect(await filtered.text()).toBe("body");
  });

  it("drops x-weft-* headers and the mesh's cookies together", () => {
    const filtered = withoutMeshHeaders(answer([["x-weft-error", "spoofed"], ["set-cookie", "__Host-weft_session=x; Path=/; Secure"], ["set-cookie", "c=3"]]));
    expect(filtered.headers.get("x-weft-error")).toBeNull();
    expect(setCookieLines(filtered.headers)).toEqual(["c=3"]);
  });
});

describe("what an answer tells the retry logic", () => {
  const now = Date.parse("2026-01-01T00:00:00Z");
  it.each<[[string, string][], object]>([
    [[], { kind: "response", status: 201 }],
    [[["retry-after", "3"]], { kind: "response", status: 201, retryAfterMs: 3000 }],
    [[["retry-after", " 0 "]], { kind: "response", status: 201, retryAfterMs: 0 }],
    [[["retry-after", "Thu, 01 Jan 2026 00:00:02 GMT"]], { kind: "response", status: 201, retryAfterMs: 2000 }],
    [[["retry-after", "Wed, 31 Dec 2025 00:00:00 GMT"]], { kind: "response", status: 201, retryAfterMs: 0 }],
    [[["retry-after", "soon"]], { kind: "response", status: 201 }],
    [[["x-weft-error", "spoofed"], ["retry-after", "1"]], { kind: "response", status: 201, retryAfterMs: 1000 }],
  ])("%j gives %j", (headers, outcome) => {
    expect(answerOf(answer(headers), now).outcome).toEqual(outcome);
  });
});

describe("a destination's Content-Length", () => {
  it.each<[string, boolean]>([
    ["5", true],
    ["0", true],
    ["twelve", false],
    ["5, 5", false],
    ["-1", false],
    ["+5", false],
    [" 5x", false],
  ])("%j is %s passed on", (value, kept) => {
    const response = new Response("hello", { headers: { "content-length": value } });
    const answer = answerOf(response, 0).response;
    // A well-formed one leaves the answer untouched (the same object: the hot path copies nothing).
    expect([answer === response, answer.headers.get("content-length")]).toEqual(kept ? [true, value] : [false, null]);
  });
});
