import { describe, expect, it } from "vitest";
import { MAX_REQUEST_HEADER_BYTES, sanitizeRequestHeaders, readAuthorization } from "./sanitize.js";

describe("request header hygiene", () => {
  it("drops x-weft-*, Authorization, hop-by-hop headers and the headers Connection names", () => {
    const headers = new Headers({
      "x-weft-identity": "forged",
      "X-Weft-Other": "1",
      authorization: "Bearer caller-svid",
      connection: "keep-alive, X-Secret-Hop",
      "keep-alive": "timeout=5",
      "x-secret-hop": "1",
      "proxy-authorization": "Basic x",
      "proxy-connection": "keep-alive",
      te: "trailers",
      trailer: "x-t",
      upgrade: "websocket",
      accept: "application/json",
      "x-app": "kept",
    });
    sanitizeRequestHeaders(headers);
    expect([...headers.keys()].sort()).toEqual(["accept", "x-app"]);
  });

  it("hands back the values the gateway reads, including those it drops", () => {
    const headers = new Headers([
      ["Authorization", "Bearer t"],
      ["x-weft-deadline-ms", "250"],
      ["traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"],
      ["tracestate", "a=1"],
      ["tracestate", "b=2"],
      ["x-request-id", "r-1"],
    ]);
    expect(sanitizeRequestHeaders(headers)).toEqual({
      authorization: "Bearer t",
      deadline: "250",
      traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
      tracestate: "a=1, b=2",
      requestId: "r-1",
    });
    expect([...headers.keys()].sort()).toEqual(["traceparent", "tracestate", "x-request-id"]);
    expect(sanitizeRequestHeaders(new Headers({ accept: "*/*" }))).toEqual({ authorization: null, deadline: null, traceparent: null, tracestate: null, requestId: null });
  });

  it("refuses more than 100 headers with 431", () => {
    const headers = new Headers();
    for (let i = 0; i < 101; i++) headers.set(`x-h-${i}`, "v");
    expect(() => sanitizeRequestHeaders(headers)).toThrow(expect.objectContaining({ code: "headers_too_large", status: 431 }));
    headers.delete("x-h-0");
    expect(() => sanitizeRequestHeaders(headers)).not.toThrow();
  });

  it("refuses more than 60 KiB of headers with 431", () => {
    const headers = new Headers({ "x-big": "a".repeat(MAX_REQUEST_HEADER_BYTES) });
    expect(() => sanitizeRequestHeaders(headers)).toThrow(expect.objectContaining({ code: "headers_too_large" }));
    expect(() => sanitizeRequestHeaders(new Headers({ "x-big": "a".repeat(MAX_REQUEST_HEADER_BYTES - 100) }))).not.toThrow();
  });
});

describe("reading the Authorization header", () => {
  it.each([
    ["Bearer abc.def-ghi_jk", { token: "abc.def-ghi_jk" }],
    ["bearer   abc.def  ", { token: "abc.def" }],
    ["Basic dXNlcjpwYXNz", undefined],
    ["Bearer junk junk", { malformed: true }],
    ["Bearer a.b, Bearer a.b", { malformed: true }],
    ["Basic dXNlcjpwYXNz, Bearer a.b", { malformed: true }],
    ["Bearer", { malformed: true }],
    ["Bearer ", { malformed: true }],
    ["eyJhbGciOiJFUzI1NiJ9.e30.sig", { malformed: true }],
    ["", { malformed: true }],
    ["Basic a b", { malformed: true }],
  ])("reads %j as %j", (value, expected) => {
    expect(readAuthorization(value)).toEqual(expected);
  });
});
